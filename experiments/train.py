"""Trains one agent by PPO self-play on the games of a config: logs progress, evaluates with each
game's exact or match evaluator, writes metrics (JSON lines, TensorBoard) and checkpoints, and
resumes from the latest checkpoint of its workdir.

    python -m experiments.train --config=experiments/configs/kuhn_poker.py --workdir=/tmp/kuhn
    python -m experiments.train --config=experiments/configs/overcooked.py:counter_circuit \
        --workdir=/tmp/oc --config.total_env_steps=10_000_000

A run killed mid-way and started again with the same workdir and config continues from its
latest checkpoint and ends exactly where an uninterrupted run would have (on another number
of devices too: `--config.parallel.*` may change on resuming).

Many hosts: the same command on every host, with the coordinator's address (host 0's), the
number of processes and each one's id (or --coordinator=auto on a TPU pod or under Slurm):

    python -m experiments.train --config=experiments/configs/kuhn_poker.py --workdir=/shared/k \
        --config.parallel.data=0 --coordinator=10.0.0.1:1234 --num_processes=2 --process_id=0
"""

from __future__ import annotations

import sys

from absl import flags
from ml_collections import config_flags

from experiments import run_lib
from jaxplay.core.errors import JaxplayError
from jaxplay.parallel import hosts

_CONFIG = config_flags.DEFINE_config_file(
    "config", None, "A config file (experiments/configs/*.py[:arg]), e.g. "
    "--config=experiments/configs/kuhn_poker.py.")
_WORKDIR = flags.DEFINE_string("workdir", None, "Where checkpoints and metrics go; a run resumes "
                               "from the latest checkpoint found here.", required=True)
_COORDINATOR = flags.DEFINE_string(
    "coordinator", "", "Many hosts: host:port of process 0 (it serves there), or 'auto' to let "
    "JAX detect the cluster (TPU pods, Slurm, Open MPI); empty: one process.")
_NUM_PROCESSES = flags.DEFINE_integer("num_processes", 1, "Many hosts: how many processes.")
_PROCESS_ID = flags.DEFINE_integer("process_id", 0, "Many hosts: this process's id, 0 to "
                                   "num_processes - 1 (0 writes logs and metrics).")
_COORDINATOR_TIMEOUT = flags.DEFINE_integer(
    "coordinator_timeout", 300, "Many hosts: seconds to wait for the coordinator and the other "
    "processes.")


def main(argv):
  del argv
  run_lib.quiet_libraries()
  try:
    hosts.initialize(_COORDINATOR.value, _NUM_PROCESSES.value, _PROCESS_ID.value,
                     _COORDINATOR_TIMEOUT.value)
    run_lib.train(run_lib.load_config(_CONFIG), _WORKDIR.value)
  except JaxplayError as error:  # a user's mistake: say what and how to fix it, no traceback
    sys.exit(f"error: {error}")


if __name__ == "__main__":
  run_lib.run_binary(main)
