"""COLE (Li et al. 2023, COLE_SV) on Overcooked: one PPO learner trained in generations of
100 updates against partners from its own population, the members the population cooperates
with least drawn first (Shapley values of COLE's cooperative game on the cross-play graph),
half its games in self-play; at each generation's end its cross-play with every member is
measured and a copy joins when the population prefers its newest members (always in the
first three generations and at the third try), replacing one of the 10 oldest once the 16
slots are full. The Overcooked recipe otherwise, 10M env steps.

    python -m experiments.train --config=experiments/configs/cole_overcooked.py --workdir=/tmp/cole

The argument is the layout, as for overcooked.py. Started from fictitious co-play's stage-1
pool instead of the learner alone (an extension of ours: other seeds' conventions in the
population from the start; `population.partners`), e.g. its eight final networks beside
COLE's own 16 members:

    python -m experiments.train --config=experiments/configs/cole_overcooked.py \
        --config.population.partners=/tmp/fcp_partners \
        --config.population.partner_members="(0,1,2,3,4,5,6,7)" \
        --config.population.capacity=24 --workdir=/tmp/cole_from_pool

The pool's members are then the population's oldest, the first COLE replaces once it is
full; `--config.population.cole_keep_partners=True` keeps them, and
`--config.population.cole_uniform=0.5` draws half the partners of the games not in self-play
uniformly from the members (fictitious co-play's draw), the other half by COLE's priority.
`--config.population.cole_visits=generation` counts the UCB bonus's visits a generation, as
COLE-Platform does (the default, "run", counts the learner's games with a member since it
joined, as every recorded run did).

Recorded runs: results/zsc.md.
"""

from experiments.configs import overcooked


def get_config(layout: str = "cramped_room"):
  config = overcooked.zsc_recipe(layout)
  config.population.scheme = "cole"
  config.population.capacity = 16
  config.population.snapshot_every = 100   # updates a generation (204,800 env steps)
  config.population.cole_self_play = 0.5
  config.population.cole_games = 16
  config.total_env_steps = 10_000_000
  return config
