"""Runs a sweep: a list of config overrides, as one compiled program where the runs can share
one (seeds, learning rates, loss coefficients, schedule ends: vmapped on accelerators, a run a
core at once on a CPU), as separate processes where they do not (see
experiments/sweep_lib.py).

    python -m experiments.sweep --config=experiments/configs/kuhn_poker.py \\
        --sweep=experiments/configs/sweeps/seeds.py --workdir=/tmp/kuhn_seeds

`--sweep` names a Python file whose `sweep()` returns the overrides, e.g.
`[{"seed": s} for s in range(16)]` (without it: the config file's own `sweep()`). Each run
trains in `<workdir>/<run name>/` as `experiments.train` would; the results table goes to
`<workdir>/sweep.csv` and the curves to `<workdir>/sweep.png`. Started again, the sweep
resumes unfinished runs and skips finished ones.
"""

from __future__ import annotations

import sys

from absl import flags
from ml_collections import config_flags

from experiments import run_lib, sweep_lib
from jaxplay.core.errors import JaxplayError

_CONFIG = config_flags.DEFINE_config_file(
    "config", None, "A config file (experiments/configs/*.py[:arg]); its --config.* flags apply "
    "to every run, before the sweep's overrides.")
_WORKDIR = flags.DEFINE_string("workdir", None, "Where the runs go, each in <workdir>/<run name>/",
                               required=True)
_SWEEP = flags.DEFINE_string("sweep", "", "A Python file defining sweep(), the list of "
                             "overrides {dotted field: value}; default: the config file's.")
_JOBS = flags.DEFINE_integer("jobs", 0, "Groups run at once, each in its own process "
                             "(0: the CPU count).")
_GROUP = flags.DEFINE_integer("group", -1, "Internal: train only this group of the sweep's plan "
                              "(what each process of the pool runs).")


def main(argv):
  del argv
  run_lib.quiet_libraries()
  try:
    config = run_lib.load_config(_CONFIG)
    overrides = sweep_lib.load_overrides(flags.FLAGS["config"].config_filename, _SWEEP.value)
    if _GROUP.value >= 0:
      sweep_lib.run_one_group(config, overrides, _WORKDIR.value, _GROUP.value)
      return
    child = lambda index: [sys.executable, "-m", "experiments.sweep", *sys.argv[1:],
                           f"--group={index}"]
    sweep_lib.sweep(config, overrides, _WORKDIR.value, jobs=_JOBS.value, child_argv=child)
  except JaxplayError as error:  # a user's mistake: say what and how to fix it, no traceback
    sys.exit(f"error: {error}")


if __name__ == "__main__":
  run_lib.run_binary(main)
