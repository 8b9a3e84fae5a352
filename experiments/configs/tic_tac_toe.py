"""PPO self-play on tic-tac-toe; evaluated greedily against perfect play (minimax) from both
seats and against uniform random play.

    python -m experiments.train --config=experiments/configs/tic_tac_toe.py --workdir=/tmp/ttt
"""

from experiments.configs import common


def get_config():
  config = common.base()
  config.games = ("tic_tac_toe",)
  config.total_env_steps = 6_000_000
  config.network.width = 64
  config.network.depth = 2
  config.network.heads = 4
  config.ppo.num_envs = 512
  config.ppo.num_steps = 16
  config.ppo.learning_rate = 5e-4
  config.ppo.final_lr_fraction = 0.1
  config.ppo.entropy_coef = 0.02
  config.ppo.final_entropy_coef = 0.0
  config.run.log_every = 20
  config.run.eval_every = 100
  config.run.checkpoint_every = 100
  config.eval.greedy = True
  return config
