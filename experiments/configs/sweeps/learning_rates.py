"""8 learning rates, 1e-4 to 1e-3 evenly in log scale (seed 0): one compiled program.

    python -m experiments.sweep --config=experiments/configs/overcooked.py \
        --sweep=experiments/configs/sweeps/learning_rates.py --workdir=/tmp/oc_lr
"""


def sweep():
  return [{"ppo.learning_rate": round(1e-4 * 10 ** (i / 7), 6)} for i in range(8)]
