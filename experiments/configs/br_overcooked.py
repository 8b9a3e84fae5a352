"""A PPO best response to a scripted Overcooked partner: the learner plays every game with the
partner (`population.scripted`, weight 1; scheme self_play with one learner: no other
network), in a random seat; the Overcooked recipe otherwise. Its return with the partner is
the best-response bound of zero-shot-coordination evaluation with that partner.

    python -m experiments.train --config=experiments/configs/br_overcooked.py:cramped_room \
        --workdir=/tmp/br
    python -m experiments.train \
        --config=experiments/configs/br_overcooked.py:forced_coordination,onion_fetcher ...

The argument is "layout" or "layout,partner"; the partner is one of
`jaxplay.agents.scripted.PARTNERS` (default independent_cook). The training metrics
`population/scripted_return_0` are the learner's mean returns with the partner; its
evaluation, `overcooked/with_<partner>/return`, plays the learner with it in both seats.
"""

from experiments.configs import overcooked


def get_config(argument: str = "cramped_room"):
  layout, _, partner = argument.partition(",")
  config = overcooked.zsc_recipe(layout or "cramped_room")
  config.population.scheme = "self_play"
  config.population.scripted = (partner or "independent_cook",)
  config.population.scripted_weight = 1.0
  return config
