"""Fictitious co-play, stage 1 (Strouse et al. 2021): K = 8 PPO self-play runs of the
Overcooked recipe from seeds seed .. seed + 7, side by side (on the CPU each run a program of
its own, a core each, on threads: `population.learner_map`), each kept at three points as
frozen partners: untrained, half way, trained (FCP's start, middle and end checkpoints): 24
partners of mixed skill and different conventions.

    python -m experiments.train --config=experiments/configs/fcp_partners_overcooked.py \
        --workdir=/tmp/fcp_partners
    python -m experiments.train --config=experiments/configs/fcp_overcooked.py \
        --config.population.partners=/tmp/fcp_partners --workdir=/tmp/fcp   # stage 2

With `--config.population.population_entropy=0.01` the eight are MEP's population (Zhao et al.
2023): each rewarded by -0.01 log pibar(a | s) of its actions, pibar the eight's mean policy;
`--config.population.population_entropy_ramp="(start, end)"` (env steps) pays it from start
on, rising linearly to 0.01 at end.

The argument is the layout, as for overcooked.py. `total_env_steps` is each run's; the
progress line's steps/s counts all eight. Recorded runs: results/zsc.md.
"""

from experiments.configs import overcooked


def get_config(layout: str = "cramped_room"):
  config = overcooked.zsc_recipe(layout)
  config.population.scheme = "self_play"
  config.population.num_learners = 8
  config.population.capacity = 24             # 8 runs x (start, middle, end)
  config.population.snapshot_initial = True   # the untrained networks: the start checkpoints
  updates = config.total_env_steps // (config.ppo.num_envs * config.ppo.num_steps)
  config.population.snapshot_every = updates // 2 // 10 * 10  # the middle ones (a multiple
  config.population.snapshot_start = config.population.snapshot_every  # of updates_per_call)
  config.eval.num_games = 32
  return config
