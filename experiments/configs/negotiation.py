"""PPO self-play on Deal or No Deal negotiation (OpenSpiel's `bargaining`), one objective per
run; evaluated by agreement rate, Pareto-optimal rate and scores in self-play.

    python -m experiments.train --config=experiments/configs/negotiation.py --workdir=/tmp/dond
    python -m experiments.train --config=experiments/configs/negotiation.py:semi_competitive ...

The argument is the objective (Liao, Tomlin & Klein 2024): cooperative (default; both
maximize the sum of scores), semi_competitive (own score) or competitive (own minus other's).
Plain PPO, no magnet: the cooperative game is common-interest, nothing cycles.

Expected (cooperative): agreement in every game and about 98% of the deals Pareto-optimal
after the 5M steps, about 14 min on a 2-core CPU; semi_competitive agrees too, on lopsided
deals. Recorded runs: results/negotiation.md.
"""

from experiments.configs import common


def get_config(objective: str = "cooperative"):
  config = common.base()
  config.games = ("negotiation",)
  config.game_options.negotiation.objective = objective
  config.reward_scale.negotiation = 0.1   # scores are 0..10 per player
  config.total_env_steps = 5_000_000
  config.network.width = 32
  config.network.depth = 2
  config.network.heads = 2
  config.ppo.num_envs = 512
  config.ppo.num_steps = 16
  config.ppo.learning_rate = 1e-3
  config.ppo.final_lr_fraction = 0.1
  config.ppo.entropy_coef = 0.01
  config.ppo.final_entropy_coef = 0.0
  config.run.log_every = 20
  config.run.eval_every = 100
  config.run.checkpoint_every = 100
  config.eval.greedy = True
  return config
