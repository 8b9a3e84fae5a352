"""Trains one agent by PPO self-play on the games of a config: logs progress, evaluates with each
game's exact or match evaluator, writes metrics (JSON lines, TensorBoard) and checkpoints, and
resumes from the latest checkpoint of its workdir.

    python -m experiments.train --config=experiments/configs/kuhn_poker.py --workdir=/tmp/kuhn
    python -m experiments.train --config=experiments/configs/overcooked.py:counter_circuit \
        --workdir=/tmp/oc --config.total_env_steps=10_000_000

A run killed mid-way and started again with the same workdir and config continues from its
latest checkpoint and ends exactly where an uninterrupted run would have.
"""

from __future__ import annotations

import sys

import jax
from absl import app, flags
from ml_collections import config_flags

from experiments import run_lib
from jaxplay.core.errors import JaxplayError

_CONFIG = config_flags.DEFINE_config_file(
    "config", None, "A config file (experiments/configs/*.py[:arg]), e.g. "
    "--config=experiments/configs/kuhn_poker.py.")
_WORKDIR = flags.DEFINE_string("workdir", None, "Where checkpoints and metrics go; a run resumes "
                               "from the latest checkpoint found here.", required=True)


def main(argv):
  del argv
  run_lib.quiet_libraries()
  try:
    run_lib.train(run_lib.load_config(_CONFIG), _WORKDIR.value)
  except JaxplayError as error:  # a user's mistake: say what and how to fix it, no traceback
    sys.exit(f"error: {error}")


if __name__ == "__main__":
  flags.mark_flag_as_required("config")
  jax.config.config_with_absl()
  app.run(main, flags_parser=run_lib.parse_flags)
