"""Random legal play on every game: outcome statistics and throughput.

    python -m experiments.random_play --config=experiments/configs/random_play.py
    python -m experiments.random_play --config=experiments/configs/random_play.py \
        --config.games=tic_tac_toe --config.batch_size=1024
"""

import ml_collections


def get_config() -> ml_collections.ConfigDict:
  config = ml_collections.ConfigDict()
  config.games = "kuhn_poker,leduc_poker,tic_tac_toe"  # comma-separated registered names
  config.batch_size = 4096   # games played side by side (vmapped)
  config.num_steps = 256     # steps per game slot; finished games restart at once
  config.repeats = 3         # timed runs after the compiling one; the best is reported
  config.seed = 0
  return config
