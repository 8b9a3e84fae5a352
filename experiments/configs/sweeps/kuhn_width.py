"""Kuhn poker's seeds at two network widths: two compiled programs (a width changes the
program's shapes), each of 3 seeds, run as two processes side by side.

    python -m experiments.sweep --config=experiments/configs/kuhn_poker.py \
        --sweep=experiments/configs/sweeps/kuhn_width.py --workdir=/tmp/kuhn_width
"""


def sweep():
  return [{"network.width": width, "seed": seed} for width in (32, 64) for seed in range(3)]
