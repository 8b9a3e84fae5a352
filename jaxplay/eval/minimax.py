"""Perfect play in small perfect-information games, by backward induction over the game tree.

Every node's value is the return vector [P] when everyone plays perfectly from there: at a
decision node the mover takes an action maximizing its own reward-plus-value (in two-player
zero-sum games this is minimax). `optimal` marks every action that does so, so a perfect player
can pick among them at random. Nodes are numbered flat, level after level, so a player can
follow a game through the tree with `child[node, action]`.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from jaxplay.eval import tree_walk
from jaxplay.eval.tree import DeviceTree, GameTree, TreeError


@dataclasses.dataclass(frozen=True)
class Solution:
  """Perfect play over a tree of N nodes (flat numbering, roots first).

  Attributes:
    value: float32[N, P] returns from each node under perfect play.
    optimal: bool[N, A] the mover's actions that achieve its value (all False at terminals).
    child: int32[N, A] flat index of each child (-1 where illegal).
    root_probs: float64[C] probability of each root (chance outcome); roots are nodes 0..C-1.
    chance_outcomes: int32[C, ...] the roots' chance outcomes, for `env.init_from`.
  """

  value: np.ndarray
  optimal: np.ndarray
  child: np.ndarray
  root_probs: np.ndarray
  chance_outcomes: np.ndarray

  @property
  def game_value(self) -> np.ndarray:
    """float[P]: expected returns from the start under perfect play."""
    return (self.root_probs[:, None] * self.value[:len(self.root_probs)]).sum(axis=0)

  def node_of(self, actions: list[int], root: int = 0) -> int:
    """Flat index of the node reached from `root` by `actions`."""
    node = root
    for action in actions:
      node = int(self.child[node, action])
      if node < 0:
        raise ValueError(f"action {action} is not legal on the path {actions}")
    return node


def solve(tree: GameTree, tolerance: float = 1e-6) -> Solution:
  """Backward induction over `tree` (see the module docstring).

  Raises:
    TreeError: the game has hidden information (an information set with several nodes).
  """
  counts = np.bincount(np.concatenate([level.infoset[level.infoset >= 0]
                                       for level in tree.levels]), minlength=tree.num_infosets)
  if (counts > 1).any():
    raise TreeError(f"{tree.env.name}: minimax needs perfect information, but some "
                    "information sets hold several nodes")
  values, optimal = jax.device_get(_solve_jit(tree.device(jnp.float32), tolerance))
  offsets = np.cumsum([0] + [level.size for level in tree.levels])
  child = np.concatenate([np.where(level.child >= 0, level.child + offsets[depth + 1], -1)
                          for depth, level in enumerate(tree.levels)]).astype(np.int32)
  return Solution(value=np.concatenate(values), optimal=np.concatenate(optimal), child=child,
                  root_probs=tree.chance_probs, chance_outcomes=tree.chance_outcomes)


def backward_induction(tree: DeviceTree, tolerance: float):
  """Jittable core of `solve`: per level, values [N, P] and optimal actions bool[N, A]."""
  players = jnp.arange(tree.num_players)
  values, all_values, all_optimal = None, [], []
  for depth in reversed(range(len(tree.levels))):
    level = tree.levels[depth]
    below = tree.levels[depth + 1] if depth + 1 < len(tree.levels) else None
    q = tree_walk.child_values(level, below, values, tree.num_players)     # [N, A, P]
    own = (q * (level.player[:, None] == players)[:, None, :]).sum(-1)     # [N, A]
    own = jnp.where(level.legal, own, -jnp.inf)
    best = own.max(axis=1, keepdims=True)
    optimal = level.legal & (own >= best - tolerance)
    values = jnp.take_along_axis(q, jnp.argmax(own, axis=1)[:, None, None], axis=1)[:, 0]
    values = jnp.where(level.legal.any(axis=1)[:, None], values, 0.0)
    all_values.append(values)
    all_optimal.append(optimal)
  return all_values[::-1], all_optimal[::-1]


_solve_jit = jax.jit(backward_induction, static_argnums=1)
