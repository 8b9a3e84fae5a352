"""A stage-1 pool judged by itself: its final networks with each other (both seats), each one's
self-play, the mean with another network of the pool, their ratio (compatibility) and the groups
that play together (conventions). No held-out partner is played: use it to read a draw before
training stage 2 on it. Writes report.txt, CSVs, summary.json and a heatmap.

    python -m experiments.pool_report --pools=/tmp/fcp_partners
    python -m experiments.pool_report --pools=/tmp/partners_a,/tmp/partners_b  # one merged pool

See experiments/pool_report_lib.py for what each number is.
"""

from __future__ import annotations

import pathlib
import sys

from absl import app, flags

from experiments import pool_report_lib, run_lib
from jaxplay.core.errors import JaxplayError

_POOLS = flags.DEFINE_list("pools", [], "Workdirs of population runs (FCP stage 1); several "
                           "are reported as one merged pool.")
_NUM_GAMES = flags.DEFINE_integer("num_games", 64, "Games a pair (half in each seat).")
_SEED = flags.DEFINE_integer("seed", 0, "The games' key.")
_SHARE = flags.DEFINE_float("share", pool_report_lib.DEFAULT_SHARE, "Two networks play "
                            "together when they keep this share of their self-play return.")
_OUT = flags.DEFINE_string("out", None, "Where the report goes (default "
                           "<first pool's workdir>/pool_report).")


def main(argv):
  del argv
  run_lib.quiet_libraries()
  try:
    report = pool_report_lib.pool_report(_POOLS.value, num_games=_NUM_GAMES.value,
                                         seed=_SEED.value, share=_SHARE.value)
    print(pool_report_lib.text(report))
    out = _OUT.value or pathlib.Path(_POOLS.value[0]) / "pool_report"
    for path in pool_report_lib.write(report, out):
      print(f"wrote {path}")
  except JaxplayError as error:
    sys.exit(f"error: {error}")


if __name__ == "__main__":
  app.run(main, flags_parser=run_lib.parse_flags)
