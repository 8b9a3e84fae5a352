"""Fictitious co-play, stage 2 (Strouse et al. 2021): one PPO agent trained against the frozen
partners of a stage-1 run (`fcp_partners_overcooked.py`), a partner drawn uniformly for every
game, the agent in a random seat; the Overcooked recipe otherwise, with a longer run.

    python -m experiments.train --config=experiments/configs/fcp_overcooked.py \
        --config.population.partners=/tmp/fcp_partners --workdir=/tmp/fcp

The argument is the layout; it must be the stage-1 run's (a run trained on another layout or
with another network is refused, as is an unfinished one). Several stage-1 runs make one
pool: `--config.population.partners=/tmp/fcp_partners,/tmp/fcp_partners_seed8`. Recorded
runs: results/zsc.md.
"""

from experiments.configs import overcooked


def get_config(layout: str = "cramped_room"):
  config = overcooked.zsc_recipe(layout)
  config.population.scheme = "fcp"
  config.population.partners = ""    # the stage-1 workdir(s): set it (--config.population.partners)
  config.total_env_steps = 10_000_000
  return config
