"""PPO self-play on Leduc poker, evaluated by exact exploitability (the Kuhn recipe: magnetic
mirror-descent updates; see kuhn_poker.py).

    python -m experiments.train --config=experiments/configs/leduc_poker.py --workdir=/tmp/leduc
"""

from experiments.configs import kuhn_poker


def get_config():
  config = kuhn_poker.get_config()
  config.games = ("leduc_poker",)
  config.total_env_steps = 40_000_000
  config.network.width = 64
  config.network.depth = 2
  config.network.heads = 4
  config.ppo.num_envs = 1024
  config.ppo.num_steps = 8
  config.run.log_every = 20
  config.run.eval_every = 100
  config.run.checkpoint_every = 200
  return config
