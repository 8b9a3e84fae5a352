"""16 seeds of any config: one compiled program.

    python -m experiments.sweep --config=experiments/configs/kuhn_poker.py \
        --sweep=experiments/configs/sweeps/seeds.py --workdir=/tmp/kuhn_seeds
"""


def sweep():
  return [{"seed": seed} for seed in range(16)]
