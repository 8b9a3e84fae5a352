"""PPO self-play on Leduc poker, evaluated by exact exploitability: the Kuhn recipe (magnetic
mirror-descent updates, common.py) with a larger batch and network.

    python -m experiments.train --config=experiments/configs/leduc_poker.py --workdir=/tmp/leduc
"""

from experiments.configs import common


def get_config():
  config = common.magnetic_mirror_descent(common.base())
  config.games = ("leduc_poker",)
  config.reward_scale.leduc_poker = 0.2   # payoffs up to 13 chips: keep the steps Kuhn-sized
  config.total_env_steps = 18_000_000
  config.network.width = 32
  config.network.depth = 2
  config.network.heads = 2
  config.ppo.num_envs = 1024
  config.ppo.num_steps = 8
  config.ppo.learning_rate = 3e-4
  config.ppo.entropy_coef = 0.01
  config.ppo.final_entropy_coef = 0.01
  config.run.log_every = 20
  config.run.eval_every = 40
  config.run.checkpoint_every = 200
  return config
