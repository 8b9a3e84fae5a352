"""Held-out self-play partners for zero-shot-coordination evaluation: 4 PPO self-play runs of
the Overcooked recipe side by side, from seeds 1000 .. 1003, which no training config uses
(every training config here starts at seed 0 and uses at most seeds 0 .. 7). Only their final
networks are kept. Trained once per layout into the workdir the README names, then only read
(`python -m experiments.crossplay --heldout=...`).

    python -m experiments.train --config=experiments/configs/heldout_overcooked.py:cramped_room \
        --workdir=runs/heldout/cramped_room

The argument is the layout, as for overcooked.py.
"""

from experiments.configs import overcooked

SEED = 1000


def get_config(layout: str = "cramped_room"):
  config = overcooked.zsc_recipe(layout)
  config.seed = SEED
  config.population.scheme = "self_play"
  config.population.num_learners = 4
  config.population.capacity = 4           # the four final networks, no snapshots
  config.eval.num_games = 32
  config.run.keep_checkpoints = 1         # the final one is what cross-play reads
  return config
