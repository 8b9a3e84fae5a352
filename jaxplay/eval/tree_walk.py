"""Jittable passes over a `DeviceTree`: action probabilities, reach probabilities (top-down)
and expected values (bottom-up). Shared by the best-response, CFR+ and minimax evaluators.

Shapes: N nodes in a level, A actions, P players, I_l information sets in the level.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxplay.eval.tree import DeviceLevel, DeviceTree

Array = jax.Array


def level_table(level: DeviceLevel, table: Array) -> Array:
  """[I_l + 1, A]: the rows of `table` ([I, A]) for the level's information sets and a zero
  row for its terminal nodes."""
  rows = table[level.infoset_start:level.infoset_start + level.num_infosets]
  return jnp.concatenate([rows, jnp.zeros((1, table.shape[1]), table.dtype)])


def node_probs(tree: DeviceTree, table: Array) -> list[Array]:
  """Per level, [N, A]: the probability the mover plays each action (0 at terminal nodes)."""
  return [level_table(level, table)[level.local_infoset] * level.legal
          for level in tree.levels]


def own_reach(tree: DeviceTree, probs: list[Array]) -> list[Array]:
  """Per level, [N, P]: the product of each player's own action probabilities on the path
  to the node (chance excluded)."""
  num_players = tree.num_players
  first = tree.levels[0]
  reach = [jnp.ones((first.player.shape[0], num_players), probs[0].dtype)]
  for above, level, above_probs in zip(tree.levels[:-1], tree.levels[1:], probs[:-1]):
    taken = above_probs[level.parent, level.action]                       # [N]
    mover = above.player[level.parent][:, None] == jnp.arange(num_players)
    reach.append(reach[-1][level.parent] * jnp.where(mover, taken[:, None], 1.0))
  return reach


def counterfactual_reach(level: DeviceLevel, reach: Array) -> Array:
  """[N, P]: column p is the probability that chance and every player but p reach the node."""
  himself = jnp.eye(reach.shape[1], dtype=bool)                          # [P, P]
  others = jnp.prod(jnp.where(himself, 1.0, reach[:, None, :]), axis=2)  # [N, P]
  return others * level.chance[:, None]


def child_values(level: DeviceLevel, below: DeviceLevel | None, values_below: Array | None,
                 num_players: int) -> Array:
  """[N, A, P]: reward into each child plus the child's value (zero where illegal)."""
  if below is None:
    return jnp.zeros(level.legal.shape + (num_players,), level.reward.dtype)
  q = below.reward[level.child] + values_below[level.child]
  return jnp.where(level.legal[..., None], q, 0.0)


def infoset_sum(level: DeviceLevel, values: Array) -> Array:
  """[I_l + 1, ...]: `values` ([N, ...]) summed over the nodes of each information set (the
  last row collects the terminal nodes)."""
  return jax.ops.segment_sum(values, level.local_infoset, num_segments=level.num_infosets + 1)


def root_value(tree: DeviceTree, values: Array) -> Array:
  """[P]: expectation over chance of the roots' rewards plus `values` ([N_0, P])."""
  roots = tree.levels[0]
  return (roots.chance[:, None] * (roots.reward + values)).sum(axis=0)
