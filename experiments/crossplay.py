"""Cross-play of trained agents with partners they never trained with (zero-shot coordination):
prints the matrix of mean sparse returns (and, given best responses, each return as a fraction
of the partner's bound) and each agent's means with their standard errors over the games,
writes it as a table, CSVs and heatmaps, and logs each agent's row to its run's metrics and
TensorBoard.

    python -m experiments.crossplay --agents=sp=/tmp/sp,fcp=/tmp/fcp,cole=/tmp/cole \
        --heldout=runs/heldout/cramped_room \
        --scripted=independent_cook,onion_fetcher,dish_fetcher,static,random \
        --bounds=static=/tmp/br_static --out=/tmp/crossplay

`--bounds_from=results/zsc/cramped_room.csv` takes the bounds recorded there instead of
best-response runs (the same layout's partners); `--agents=cole/0=W0,cole/1=W1` adds the
group `cole`'s mean, range and standard error over its runs to the table, and
`--agents=cole@1M=/tmp/cole@500,cole@2M=/tmp/cole@1000` scores the run's checkpoints at
updates 500 and 1000 (kept by `--config.run.keep_checkpoints`; each row is logged at its
update, a curve in the run's TensorBoard). Each partner also
plays a copy of itself (the table's `partner_self` row); `--bound_rule=best_known` takes a
bound as the larger of its best response's return and that. A table written earlier is
scored again with other bounds, no game played, by

    python -m experiments.crossplay --rescore=results/zsc/some_table.csv \
        --bounds_from=results/zsc/cramped_room_best_known.csv --out=/tmp/rescored

All runs must have trained the same Overcooked layout with the same network. See
experiments/crossplay_lib.py for what is played.
"""

from __future__ import annotations

import pathlib
import sys

from absl import app, flags

from experiments import crossplay_lib, run_lib
from jaxplay.core.errors import ConfigError, JaxplayError

_AGENTS = flags.DEFINE_list("agents", [], "name=workdir of each agent run (its latest "
                            "checkpoint; name=workdir@update: its checkpoint at that update).")
_RESCORE = flags.DEFINE_string("rescore", "", "A crossplay.csv written earlier: its table "
                               "again with the bounds of --bounds_from (no games played; "
                               "instead of --agents).")
_BOUND_RULE = flags.DEFINE_enum("bound_rule", "best_response", crossplay_lib.BOUND_RULES,
                                "A partner's bound: its best response's return, or the larger "
                                "of that and the partner's return with itself (best_known).")
_PARTNER_SELF = flags.DEFINE_bool("partner_self", True, "Also play each partner with a copy "
                                  "of itself (the partner_self row).")
_HELDOUT = flags.DEFINE_string("heldout", None, "A run whose learners are held-out partners.")
_SCRIPTED = flags.DEFINE_list("scripted", [], "Scripted partners by name.")
_BOUNDS = flags.DEFINE_list("bounds", [], "partner=workdir of a best response to a partner.")
_BOUNDS_FROM = flags.DEFINE_string("bounds_from", "", "A crossplay.csv written earlier with "
                                   "the same partners: its bound row gives the bounds of the "
                                   "partners --bounds does not name (no best response to "
                                   "train again).")
_NUM_GAMES = flags.DEFINE_integer("num_games", 64, "Games a pair (half in each seat).")
_SEED = flags.DEFINE_integer("seed", 0, "The games' key.")
_OUT = flags.DEFINE_string("out", None, "Where the table, CSV and heatmaps go (default "
                           "<first agent's workdir>/crossplay).")
_LOG = flags.DEFINE_bool("log_metrics", True, "Also write each agent's row to its run's "
                         "metrics and TensorBoard.")


def named(values: list[str], flag: str) -> dict[str, str]:
  """{name: value} of name=value items, or one line saying which item is not one."""
  out = {}
  for item in values:
    name, sep, value = item.partition("=")
    if not sep or not name or not value:
      raise ConfigError(f"--{flag} takes name=workdir items, got {item!r}")
    out[name] = value
  return out


def main(argv):
  del argv
  run_lib.quiet_libraries()
  try:
    recorded = crossplay_lib.read_bounds(_BOUNDS_FROM.value) if _BOUNDS_FROM.value else None
    if _RESCORE.value:
      if _AGENTS.value or _HELDOUT.value or _SCRIPTED.value or _BOUNDS.value or not _OUT.value:
        raise ConfigError("--rescore reads a written table: give it --out (and --bounds_from, "
                          "--bound_rule), not --agents, --heldout, --scripted or --bounds")
      matrix = crossplay_lib.read_matrix(_RESCORE.value)
      matrix = crossplay_lib.with_bound_rule(
          crossplay_lib.rebound(matrix, recorded) if recorded else matrix, _BOUND_RULE.value)
      out = _OUT.value
    else:
      agents = named(_AGENTS.value, "agents")
      matrix = crossplay_lib.cross_play_runs(
          agents, heldout=_HELDOUT.value, scripted=_SCRIPTED.value, num_games=_NUM_GAMES.value,
          seed=_SEED.value, bounds=named(_BOUNDS.value, "bounds"), recorded=recorded,
          partner_self=_PARTNER_SELF.value, bound_rule=_BOUND_RULE.value)
      out = _OUT.value or pathlib.Path(next(iter(agents.values()))) / "crossplay"
    print(crossplay_lib.table(matrix))
    for path in crossplay_lib.write(matrix, out):
      print(f"wrote {path}")
    if _LOG.value:
      crossplay_lib.log_to_workdirs(matrix)
  except JaxplayError as error:
    sys.exit(f"error: {error}")


if __name__ == "__main__":
  app.run(main, flags_parser=run_lib.parse_flags)
