"""Prioritized fictitious self-play (PFSP, AlphaStar's) on tic-tac-toe: one learner against a
league of its own frozen snapshots, each game's opponent drawn by f_hard = (1 - p)^2 of the
learner's win probability p against it (from the training games' payoff matrix); the
tic-tac-toe recipe otherwise (magnetic updates, entropy bonus annealed from 0.1), an MLP.
Once the league is full, each new snapshot replaces the oldest one (`population.when_full`),
so that the final league holds the later snapshots (from 4.9M env steps on), not the first,
weak ones.

    python -m experiments.train --config=experiments/configs/pfsp_tic_tac_toe.py --workdir=/tmp/pfsp
    python -m experiments.evaluate --workdir=/tmp/pfsp     # every member against perfect play, Elo

Expected and recorded runs: results/pfsp.md.
"""

from experiments.configs import tic_tac_toe


def get_config():
  config = tic_tac_toe.get_config()
  config.network.kind = "mlp"
  config.network.hidden = (128, 128)
  config.ppo.learning_rate = 3e-4
  config.population.scheme = "pfsp"
  config.total_env_steps = 15_000_000     # 1831 updates
  config.population.capacity = 8          # the learner and up to 7 snapshots
  config.population.snapshot_every = 200  # updates (1.6M env steps)
  config.population.when_full = "replace_oldest"  # snapshots 8 and 9 (updates 1600, 1800)
  #                                         replace the first two (updates 200, 400)
  return config
