"""Meta-strategy solvers by name: what PSRO's `meta_solver` strings mean, in one place.

A meta-strategy solver maps populations of policy tables to one weight vector per player:

    solver(tree, members, payoff) -> per player p, float64[N_p] non-negative weights

with `members` per player p float64[N_p, I, A] the members' normalized policy tables and
`payoff` float64[N_0, ..., N_{P-1}, P] their exact meta-game (`meta_game.payoff_tensor`).
The payoff-only solvers of `meta_game` ("uniform", "nash", "prd") read the payoff alone;
"least_exploitable" (`jaxplay.eval.least_exploitable`) reads the members too, since the
opponents it guards against are outside the populations. Exact PSRO
(`jaxplay.eval.psro_exact`) and PSRO with PPO best responses (`jaxplay.learn.psro`) both
resolve their names here.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from jaxplay.eval import meta_game
from jaxplay.eval.least_exploitable import least_exploitable
from jaxplay.eval.tree import GameTree

# (tree, members per player float64[N_p, I, A], payoff float64[N_0, ..., N_{P-1}, P])
#   -> per player p float64[N_p] weights.
TreeMetaSolver = Callable[[GameTree, Sequence[np.ndarray], np.ndarray], Sequence[np.ndarray]]

LEAST_EXPLOITABLE = "least_exploitable"
NAMES = tuple(sorted((*meta_game.META_SOLVERS, LEAST_EXPLOITABLE)))


def solver(name: str | meta_game.MetaSolver, *, rounds: int = 100) -> TreeMetaSolver:
  """The solver called `name` (one of `NAMES`), or a payoff-only function as a solver;
  `rounds` bounds least_exploitable's double oracle (best responses added per player).
  Raises MetaGameError for an unknown name."""
  if callable(name):
    return lambda tree, members, payoff: name(payoff)
  if name == LEAST_EXPLOITABLE:
    return lambda tree, members, payoff: least_exploitable(tree, members, payoff,
                                                           rounds=rounds).weights
  if name not in meta_game.META_SOLVERS:
    raise meta_game.MetaGameError(f"meta_solver must be one of {list(NAMES)} or a function, "
                                  f"got {name!r}")
  payoff_only = meta_game.META_SOLVERS[name]
  return lambda tree, members, payoff: payoff_only(payoff)


def solve(name: str, tree: GameTree, members: Sequence[np.ndarray], payoff: np.ndarray, *,
          rounds: int = 100) -> tuple[np.ndarray, ...]:
  """Per player p, float64[N_p] the meta-strategy of solver `name` (see `solver`)."""
  weights = solver(name, rounds=rounds)(tree, members, payoff)
  return tuple(np.asarray(w, np.float64) for w in weights)
