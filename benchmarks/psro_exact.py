"""PSRO with the exact oracle (best responses on the game tree), next to CFR+ on the same tree.

    python -m benchmarks.psro_exact                      # kuhn_poker, leduc_poker
    python -m benchmarks.psro_exact --games=leduc_poker --iterations=50
    python -m benchmarks.psro_exact --games="kuhn_poker(num_players=3)" --iterations=20

Prints, after each number of iterations in --checkpoints, the exploitability (two players) or
NashConv (more players) of PSRO's meta-strategy played as a behavioural policy, for each
meta-solver (two players: Nash, PSRO proper, and uniform, fictitious play; more players:
projected replicator dynamics and uniform), and of CFR+'s average policy after as many
iterations, with wall times (after compilation). An iteration of PSRO adds one exact best
response per player; one of CFR+ is one pass of regret updates, so the columns compare curves,
not costs. Games are names or OpenSpiel-style strings of jaxplay's options.

    python -m benchmarks.psro_exact --games=kuhn_poker --iterations=20 --plot=results \
        --ppo_workdirs=/tmp/psro,/tmp/psro_1,/tmp/psro_2

also draws the curves (every iteration) in `<plot>/psro_<game>.png` (the game string's
non-word characters as _), with those of PSRO runs of the train binary on the first game
(PPO best responses; their workdirs' metrics) beside them.
"""

from __future__ import annotations

import json
import pathlib
import platform
import re

import jax
from absl import app, flags

import jaxplay
from jaxplay.core.openspiel import parse_game_string
from jaxplay.eval import build_tree, cfr
from jaxplay.eval.psro_exact import psro_exact
from jaxplay.io.metrics import read_metrics
from jaxplay.io.plots import plot_curves

_GAMES = flags.DEFINE_list("games", ["kuhn_poker", "leduc_poker"],
                           "Games to solve: names, or name(option=value) strings.")
_ITERATIONS = flags.DEFINE_integer("iterations", 50, "PSRO iterations (and CFR+'s).")
_CHECKPOINTS = flags.DEFINE_list("checkpoints", ["1", "2", "5", "10", "20", "30", "50"],
                                 "Iteration counts at which exploitability is printed.")
_PLOT = flags.DEFINE_string("plot", None, "A folder for psro_<game>.png, the curves.")
_PPO_WORKDIRS = flags.DEFINE_list("ppo_workdirs", [], "Workdirs of PSRO runs of the train "
                                  "binary on the (first) game, drawn beside the curves.")


def _ppo_curve(workdir: str, game: str, scale: float) -> tuple[list[int], list[float]]:
  """(iterations, exploitability x scale) of a train-binary PSRO run's metrics."""
  rows = [r for r in read_metrics(pathlib.Path(workdir)) if f"{game}/exploitability" in r]
  return [r["iteration"] for r in rows], [scale * r[f"{game}/exploitability"] for r in rows]


def main(argv):
  del argv
  checkpoints = [int(c) for c in _CHECKPOINTS.value if int(c) <= _ITERATIONS.value]
  print(f"# {platform.node()} | {jax.devices()[0].platform} | jax {jax.__version__} | "
        f"jaxplay {jaxplay.__version__}")
  for game in _GAMES.value:
    name, options = parse_game_string(game)
    tree = build_tree(jaxplay.make(name, **options))
    players = tree.num_players
    solvers = ("nash", "least_exploitable", "uniform") if players == 2 else ("prd", "uniform")
    for solver in solvers:       # compiles the passes and solvers outside the timings
      psro_exact(tree, 2, solver)
    runs = {solver: psro_exact(tree, _ITERATIONS.value, solver) for solver in solvers}
    every = tuple(range(1, _ITERATIONS.value + 1))
    cfr_curve = dict(cfr.solve(tree, _ITERATIONS.value,
                               eval_at=every if _PLOT.value else tuple(checkpoints)).curve)
    # Curves hold exploitability (NashConv / players); more than two players report NashConv.
    scale, measure = (1, "exploitability") if players == 2 else (players, "NashConv")
    print(f"\n{game}: {measure} after n iterations")
    print(f"| n | {' | '.join(f'PSRO, {s} meta-solver' for s in solvers)} | CFR+ |")
    print("|---|" + "---|" * (len(solvers) + 1))
    for n in checkpoints:
      values = [dict(runs[s].curve)[n] for s in solvers] + [cfr_curve[n]]
      print(f"| {n} | " + " | ".join(f"{scale * v:.3g}" for v in values) + " |")
    print("wall: " + ", ".join(f"PSRO-{s} {runs[s].seconds:.2f} s" for s in solvers)
          + f" for {_ITERATIONS.value} iterations")
    if _PLOT.value:
      curves = {f"PSRO, exact best responses, {s}": tuple(zip(*runs[s].curve)) for s in solvers}
      curves = {k: (xs, [scale * y for y in ys]) for k, (xs, ys) in curves.items()}
      for workdir in _PPO_WORKDIRS.value if game == _GAMES.value[0] else []:
        seed = json.loads((pathlib.Path(workdir) / "config.json").read_text())["seed"]
        curves[f"PSRO, PPO best responses, seed {seed}"] = _ppo_curve(workdir, name, scale)
      curves["CFR+ (average policy)"] = (list(cfr_curve), [scale * v for v in cfr_curve.values()])
      file_name = "psro_" + re.sub(r"\W+", "_", game).strip("_") + ".png"
      path = plot_curves(curves, pathlib.Path(_PLOT.value) / file_name,
                         xlabel="iterations (PSRO: best responses a seat)", ylabel=measure,
                         title=game)
      print(f"curves: {path}")


if __name__ == "__main__":
  app.run(main)
