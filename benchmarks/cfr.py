"""CFR+ in JAX against OpenSpiel's C++ CFR+ (`pyspiel.CFRPlusSolver`), same process.

    python -m benchmarks.cfr                                  # kuhn_poker and leduc_poker
    python -m benchmarks.cfr --games=leduc_poker --iterations=1000

Both run the same algorithm (alternating updates, regret matching+, linear averaging), so the
exploitability curves of their average policies should coincide. Wall time counts the
iterations only: each side's exploitability evaluations at the checkpoints are left out, and
jaxplay's compilation (reported apart) is done before its clock starts. jaxplay runs in
float32 (the default) and float64.
"""

from __future__ import annotations

import platform
import time

import jax
import pyspiel
from absl import app, flags

import jaxplay
from jaxplay.eval import build_tree, cfr

_GAMES = flags.DEFINE_list("games", ["kuhn_poker", "leduc_poker"], "Games to solve.")
_ITERATIONS = flags.DEFINE_integer("iterations", 1000, "CFR+ iterations.")
_CHECKPOINTS = flags.DEFINE_list("checkpoints", ["1", "10", "100"],
                                 "Iteration counts at which exploitability is printed.")


def openspiel_curve(name: str, iterations: int, checkpoints: list[int]):
  """(curve, seconds of the iterations alone) of OpenSpiel's C++ CFR+."""
  game = pyspiel.load_game(name)
  solver = pyspiel.CFRPlusSolver(game)
  curve, seconds = [], 0.0
  for iteration in range(1, iterations + 1):
    start = time.perf_counter()
    solver.evaluate_and_update_policy()
    seconds += time.perf_counter() - start
    if iteration in checkpoints:
      curve.append((iteration, pyspiel.exploitability(game, solver.average_policy())))
  return curve, seconds


def main(argv):
  del argv
  iterations = _ITERATIONS.value
  checkpoints = sorted({int(c) for c in _CHECKPOINTS.value if int(c) < iterations}
                       | {iterations})
  print(f"CFR+ {iterations} iterations; {platform.node()} {platform.processor() or ''} "
        f"{jax.devices()[0].platform} x{jax.device_count()}; {time.strftime('%Y-%m-%d')}")
  for name in _GAMES.value:
    tree = build_tree(jaxplay.make(name))
    runs = {}
    for label, x64 in (("jaxplay f32", False), ("jaxplay f64", True)):
      start = time.perf_counter()
      result = cfr.solve(tree, iterations, eval_at=tuple(checkpoints), x64=x64)
      total = time.perf_counter() - start
      runs[label] = (result.curve, result.seconds)
      print(f"  ({label}: compilation and evaluation took {total - result.seconds:.1f} s)")
    runs["OpenSpiel C++"] = openspiel_curve(name, iterations, checkpoints)
    print(f"\n{name}: {tree.num_infosets} information sets, {tree.num_nodes} nodes")
    print(f"  {'iteration':>9} " + " ".join(f"{label:>14}" for label in runs))
    for row, iteration in enumerate(checkpoints):
      print(f"  {iteration:>9} " + " ".join(f"{curve[row][1]:>14.3e}"
                                            for curve, _ in runs.values()))
    print(f"  {'seconds':>9} " + " ".join(f"{seconds:>14.3f}" for _, seconds in runs.values()))
    reference = runs["OpenSpiel C++"][1]
    print(f"  {'speed-up':>9} " + " ".join(f"{reference / seconds:>13.1f}x"
                                            for _, seconds in runs.values()))


if __name__ == "__main__":
  app.run(main)
