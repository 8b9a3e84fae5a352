"""PSRO with the exact oracle (best responses on the game tree), next to CFR+ on the same tree.

    python -m benchmarks.psro_exact                      # kuhn_poker, leduc_poker
    python -m benchmarks.psro_exact --games=leduc_poker --iterations=50

Prints the exploitability of PSRO's meta-strategy (as a behavioural policy) after each number
of iterations in --checkpoints, for the Nash meta-solver (PSRO proper) and the uniform one
(fictitious play), and CFR+'s average policy after as many iterations, with wall times (after
compilation). An iteration of PSRO adds one exact best response per player; one of CFR+ is one
pass of regret updates, so the columns compare curves, not costs.
"""

from __future__ import annotations

import platform

import jax
from absl import app, flags

import jaxplay
from jaxplay.eval import build_tree, cfr, meta_game

_GAMES = flags.DEFINE_list("games", ["kuhn_poker", "leduc_poker"], "Games to solve.")
_ITERATIONS = flags.DEFINE_integer("iterations", 50, "PSRO iterations (and CFR+'s).")
_CHECKPOINTS = flags.DEFINE_list("checkpoints", ["1", "2", "5", "10", "20", "30", "50"],
                                 "Iteration counts at which exploitability is printed.")


def main(argv):
  del argv
  checkpoints = [int(c) for c in _CHECKPOINTS.value if int(c) <= _ITERATIONS.value]
  print(f"# {platform.node()} | {jax.devices()[0].platform} | jax {jax.__version__} | "
        f"jaxplay {jaxplay.__version__}")
  for name in _GAMES.value:
    tree = build_tree(jaxplay.make(name))
    meta_game.psro_exact(tree, 2, "nash")  # compiles the passes once, outside the timings
    runs = {solver: meta_game.psro_exact(tree, _ITERATIONS.value, solver)
            for solver in ("nash", "uniform")}
    cfr_curve = dict(cfr.solve(tree, _ITERATIONS.value, eval_at=tuple(checkpoints)).curve)
    print(f"\n{name}: exploitability after n iterations")
    print("| n | PSRO, Nash meta-solver | PSRO, uniform (fictitious play) | CFR+ |")
    print("|---|---|---|---|")
    for n in checkpoints:
      values = [dict(runs[s].curve)[n] for s in ("nash", "uniform")] + [cfr_curve[n]]
      print(f"| {n} | " + " | ".join(f"{v:.3g}" for v in values) + " |")
    print(f"wall: PSRO-Nash {runs['nash'].seconds:.2f} s, fictitious play "
          f"{runs['uniform'].seconds:.2f} s for {_ITERATIONS.value} iterations")


if __name__ == "__main__":
  app.run(main)
