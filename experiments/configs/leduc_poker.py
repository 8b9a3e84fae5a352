"""PPO self-play on Leduc poker, evaluated by exact exploitability: the Kuhn recipe (magnetic
mirror-descent updates, common.py) with a weak magnet that moves slowly, and an MLP.

    python -m experiments.train --config=experiments/configs/leduc_poker.py --workdir=/tmp/leduc
    python -m experiments.evaluate --workdir=/tmp/leduc --policy=magnet

The agent is the magnet (the parameters' moving average, `<game>/magnet/exploitability`):
0.185 / 0.174 / 0.197 / 0.195 / 0.193 after the 40M steps here (seeds 0-4; 16-18 min each,
two or three runs sharing a 2-core CPU), while the last iterate swings between 0.16 and 0.30
over the last 10M. Over the last quarter of the run the magnet's step falls linearly to 0,
so that the iterate's late rise cannot pull the magnet back up; the learning rate is 1.5x
PPO's usual (with 3e-4: 0.182 / 0.198 / 0.200 / 0.202 / 0.190; with 3e-4 and a constant
step, seeds 0-2: 0.191 / 0.209 / 0.197). With the policy held within a small KL of the magnet, a
decision's log-odds move by about magnet_ema x (its Q gap) / magnet_coef an update, so a
weak magnet (0.15) is what lets the frequent first-round decisions, whose Q gaps are a
fraction of a chip, converge in minutes; the slow EMA (0.001) averages the iterate's swings.
Stronger magnets (0.5-1.0) bottom out at ~0.3; 0.2 (constant step) ends at 0.193 / 0.209 /
0.210, 0.1 is faster but ends higher (BUILD_NOTES.md has the curves and the diagnosis).

The MLP trains 7x faster than the transformer here (~50k against ~7k env steps/s on a 2-core
CPU); `--config.network.kind=transformer` trains the transformer instead. Against updates
the curve hardly depends on the batch (with magnet 0.2: 512 games an update, half the steps
and time, end at 0.1995 / 0.217 for seeds 0 / 1, 2048 games at 0.199).
"""

from experiments.configs import common


def get_config():
  config = common.magnetic_mirror_descent(common.base())
  config.games = ("leduc_poker",)
  config.reward_scale.leduc_poker = 0.2   # payoffs up to 13 chips: keep the steps Kuhn-sized
  config.total_env_steps = 40_000_000
  config.network.kind = "mlp"
  config.network.hidden = (128, 128)
  config.network.width = 32               # with --config.network.kind=transformer
  config.network.heads = 2
  config.ppo.num_envs = 1024
  config.ppo.num_steps = 8
  config.ppo.learning_rate = 4.5e-4
  config.ppo.magnet_coef = 0.15
  config.ppo.magnet_ema = 0.001
  config.ppo.magnet_ema_decay_start = 0.75  # then linearly down to
  config.ppo.final_magnet_ema_fraction = 0.0  # a magnet that stands still at the end
  config.run.log_every = 50
  config.run.eval_every = 100
  config.run.checkpoint_every = 500
  return config
