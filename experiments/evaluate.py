"""Evaluates a training run's checkpoint: prints each game's metrics, plots the learning curves,
and on request exports an OpenSpiel policy (poker) or renders self-play episodes as GIFs
(Overcooked).

    python -m experiments.evaluate --workdir=/tmp/kuhn --export_openspiel_policy=kuhn.json
    python -m experiments.evaluate --workdir=/tmp/oc --gif=/tmp/oc/episode.gif
    python -m experiments.evaluate --workdir=/tmp/psro --meta_solver=nash  # another output
    python -m experiments.evaluate --workdir=/tmp/fcp --heldout=runs/heldout/cramped_room \
        --scripted=independent_cook,static     # cross-play table with held-out partners

The run's config is read from `<workdir>/config.json`; the curves go to
`<workdir>/curves.png` unless --plot says otherwise.
"""

from __future__ import annotations

import sys

from absl import app, flags

from experiments import crossplay_lib, evaluate_lib, run_lib
from jaxplay.core.errors import JaxplayError

_WORKDIR = flags.DEFINE_string("workdir", None, "A training run's workdir.", required=True)
_STEP = flags.DEFINE_integer("step", None, "The checkpoint (update) to evaluate; default latest.")
_NUM_GAMES = flags.DEFINE_integer("num_games", None, "Games per evaluation (default: config's).")
_POLICY = flags.DEFINE_enum("policy", "params", ["params", "magnet"],
                            "Which policy to export and render: the learned parameters or their "
                            "moving average.")
_PLOT = flags.DEFINE_string("plot", None, "Where to write the learning curves (PNG); default "
                            "<workdir>/curves.png; '' to skip.")
_EXPORT = flags.DEFINE_string("export_openspiel_policy", None,
                              "Write the policy as OpenSpiel information-state strings -> "
                              "action probabilities (JSON; kuhn_poker and leduc_poker).")
_GIF = flags.DEFINE_string("gif", None, "Render a self-play Overcooked episode to this GIF.")
_GIF_STEPS = flags.DEFINE_integer("gif_steps", 400, "Steps of the rendered episode.")
_HELDOUT = flags.DEFINE_string("heldout", None, "Overcooked: cross-play with the learners of "
                               "this run (held-out partners), printed as a table.")
_META_SOLVER = flags.DEFINE_string("meta_solver", None, "PSRO runs: measure and export the "
                                   "members' meta-strategy of this solver (nash, prd, uniform, "
                                   "least_exploitable) instead of the config's output one.")
_SCRIPTED = flags.DEFINE_list("scripted", [], "Overcooked: cross-play with these scripted "
                              "partners too (jaxplay.agents.scripted names).")



def main(argv):
  del argv
  run_lib.quiet_libraries()
  try:
    evaluate_lib.evaluate(_WORKDIR.value, step=_STEP.value, num_games=_NUM_GAMES.value,
                          policy=_POLICY.value, plot=_PLOT.value,
                          export_openspiel_policy=_EXPORT.value, gif=_GIF.value,
                          gif_steps=_GIF_STEPS.value, meta_solver=_META_SOLVER.value)
    if _HELDOUT.value or _SCRIPTED.value:
      at_step = "" if _STEP.value is None else f"@{_STEP.value}"   # the checkpoint evaluated
      matrix = crossplay_lib.cross_play_runs(
          {"this run": _WORKDIR.value + at_step}, heldout=_HELDOUT.value,
          scripted=_SCRIPTED.value, num_games=_NUM_GAMES.value or 64)
      print(f"cross-play at update {matrix.updates[0]} (mean sparse return, both seats):")
      print(crossplay_lib.table(matrix))
  except JaxplayError as error:
    sys.exit(f"error: {error}")


if __name__ == "__main__":
  app.run(main, flags_parser=run_lib.parse_flags)
