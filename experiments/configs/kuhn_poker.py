"""PPO self-play on 2-player Kuhn poker, evaluated by exact exploitability.

    python -m experiments.train --config=experiments/configs/kuhn_poker.py --workdir=/tmp/kuhn

Plain PPO self-play cycles around Kuhn's mixed equilibrium (bluffs and calls chase each other)
and stalls near exploitability 0.15. This config makes each update a magnetic mirror-descent
step: clipping off, a KL penalty to the previous policy as the proximal term, and a KL pull
towards the magnet (a moving average of the parameters). Unnormalized Monte-Carlo advantages
(gae_lambda 1) keep the step proportional to the payoffs. See BUILD_NOTES.md for the curves.
"""

from experiments.configs import common


def get_config():
  config = common.base()
  config.games = ("kuhn_poker",)
  config.total_env_steps = 3_000_000
  config.network.width = 32
  config.network.depth = 1
  config.network.heads = 2
  config.ppo.num_envs = 512
  config.ppo.num_steps = 8
  config.ppo.gae_lambda = 1.0
  config.ppo.normalize_advantages = False
  config.ppo.clip_eps = 10.0      # effectively no clipping: kl_coef is the proximal term
  config.ppo.clip_value = False
  config.ppo.kl_coef = 1.0
  config.ppo.magnet_coef = 0.3
  config.ppo.magnet_ema = 0.02
  config.ppo.entropy_coef = 0.01
  config.ppo.final_entropy_coef = 0.01
  config.ppo.final_lr_fraction = 0.0
  config.run.log_every = 20
  config.run.eval_every = 40
  config.run.checkpoint_every = 100
  return config
