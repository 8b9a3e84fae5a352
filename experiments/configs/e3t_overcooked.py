"""E3T's partner (Yan et al. 2023) without its partner-prediction module: one PPO agent
trained with a partner that is its own current policy mixed with the random one, the random
action at a share of the steps (`population.scripted_share`, drawn per step), the agent in a
random seat and learning from its own seat only; the Overcooked recipe otherwise, with FCP
stage 2's 10M steps. No pool, no stage 1: the cost of one run.

    python -m experiments.train --config=experiments/configs/e3t_overcooked.py:counter_circuit \
        --workdir=/tmp/e3t

The argument is the layout. Recorded runs: results/zsc.md.
"""

from experiments.configs import overcooked

RANDOM_SHARE = 0.5  # E3T's epsilon: set once, not tuned on the recorded results


def get_config(layout: str = "cramped_room"):
  config = overcooked.zsc_recipe(layout)
  config.population.scheme = "self_play"
  config.population.scripted = ("random",)
  config.population.scripted_weight = 1.0
  config.population.scripted_share = RANDOM_SHARE
  config.total_env_steps = 10_000_000
  return config
