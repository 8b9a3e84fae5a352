"""Tabular CFR+ in JAX over a game tree: the exact baseline learning curves are drawn against.

CFR+ (Tammelin 2014) as OpenSpiel's `CFRPlusSolver` runs it, so the two curves coincide:
alternating updates (player 0, then 1, ...; each sees the others' latest policy), regret
matching+ (cumulative regrets clipped at 0 after each update) and linear averaging (iteration t
adds t * own reach * policy to the average). An iteration is one jitted pass down and up the
tree per player; `solve` runs many inside one `lax.fori_loop` between evaluations.
"""

from __future__ import annotations

import dataclasses
import time

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from jaxplay.eval import exploitability as exploitability_lib
from jaxplay.eval import tree_walk
from jaxplay.eval.tree import DeviceTree, GameTree


@struct.dataclass
class CFRState:
  """regret: [I, A] cumulative regrets (>= 0); cumulative_policy: [I, A] sum of t * own reach
  * policy; iteration: int32[] iterations done."""

  regret: jax.Array
  cumulative_policy: jax.Array
  iteration: jax.Array


def init(tree: DeviceTree, dtype=jnp.float32) -> CFRState:
  """No regret, no average yet."""
  zeros = jnp.zeros(tree.infoset_legal.shape, dtype)
  return CFRState(regret=zeros, cumulative_policy=zeros, iteration=jnp.int32(0))


def regret_matching(regret: jax.Array, legal: jax.Array) -> jax.Array:
  """[I, A]: proportional to the positive regrets; uniform over legal actions when none."""
  return normalize(jnp.maximum(regret, 0.0), legal)


def normalize(weights: jax.Array, legal: jax.Array) -> jax.Array:
  """[I, A]: `weights` normalized per row; uniform over legal actions where they sum to 0."""
  weights = jnp.where(legal, weights, 0.0)
  total = weights.sum(axis=1, keepdims=True)
  uniform = legal / legal.sum(axis=1, keepdims=True)
  return jnp.where(total > 0, weights / jnp.where(total > 0, total, 1.0), uniform)


def current_policy(tree: DeviceTree, state: CFRState) -> jax.Array:
  """[I, A] the policy the next iteration plays."""
  return regret_matching(state.regret, tree.infoset_legal)


def average_policy(tree: DeviceTree, state: CFRState) -> jax.Array:
  """[I, A] the linearly weighted average policy, which converges to a Nash equilibrium in
  two-player zero-sum games."""
  return normalize(state.cumulative_policy, tree.infoset_legal)


def iteration(tree: DeviceTree, state: CFRState) -> CFRState:
  """One CFR+ iteration: an update of every player in turn (jittable)."""
  weight = (state.iteration + 1).astype(state.regret.dtype)

  def update(player, carry):  # a loop, not unrolled: one copy of the tree pass to compile
    regret, cumulative = carry
    regret_delta, policy_delta = _player_update(
        tree, regret_matching(regret, tree.infoset_legal), player)
    return jnp.maximum(regret + regret_delta, 0.0), cumulative + weight * policy_delta

  regret, cumulative = jax.lax.fori_loop(0, tree.num_players, update,
                                         (state.regret, state.cumulative_policy))
  return CFRState(regret=regret, cumulative_policy=cumulative, iteration=state.iteration + 1)


def _player_update(tree: DeviceTree, table: jax.Array, player: jax.Array):
  """[I, A] instantaneous counterfactual regrets of `player` under `table`, and the own-reach
  weighted policy it adds to the average (zero rows for the other players)."""
  probs = tree_walk.node_probs(tree, table)
  reach = tree_walk.own_reach(tree, probs)
  values, regret_rows, policy_rows = None, [], []
  for depth in reversed(range(len(tree.levels))):
    level = tree.levels[depth]
    below = tree.levels[depth + 1] if depth + 1 < len(tree.levels) else None
    q = tree_walk.child_values(level, below, values, tree.num_players)      # [N, A, P]
    values = jnp.einsum("na,nap->np", probs[depth], q)
    acts = level.player == player
    cf_reach = tree_walk.counterfactual_reach(level, reach[depth])[:, player] * acts
    gain = (q[:, :, player] - values[:, player, None]) * level.legal
    regret_rows.append(tree_walk.infoset_sum(level, cf_reach[:, None] * gain)[:-1])
    own = reach[depth][:, player] * acts
    policy_rows.append(tree_walk.infoset_sum(level, own[:, None] * probs[depth])[:-1])
  return jnp.concatenate(regret_rows[::-1]), jnp.concatenate(policy_rows[::-1])


@jax.jit
def _run(tree: DeviceTree, state: CFRState, num_iterations: jax.Array) -> CFRState:
  return jax.lax.fori_loop(0, num_iterations, lambda _, s: iteration(tree, s), state)


@jax.jit
def _average_exploitability(tree: DeviceTree, state: CFRState):
  values, br_values, _, _ = exploitability_lib.best_response_values(
      tree, average_policy(tree, state))
  return (br_values - values).sum() / tree.num_players


@dataclasses.dataclass(frozen=True)
class CFRResult:
  """average_policy / current_policy: float[I, A]; curve: (iteration, exploitability of the
  average policy) pairs; seconds: wall time of the iterations alone (evaluation and
  compilation excluded)."""

  average_policy: np.ndarray
  current_policy: np.ndarray
  curve: list[tuple[int, float]]
  seconds: float
  state: CFRState


def solve(tree: GameTree, num_iterations: int, *, eval_at: tuple[int, ...] = (),
          x64: bool = False) -> CFRResult:
  """Runs CFR+ for `num_iterations`, measuring the average policy's exploitability after
  each iteration count in `eval_at` (and at the end)."""
  checkpoints = sorted({int(t) for t in eval_at if 0 < t < num_iterations} | {num_iterations})
  dtype = jnp.float64 if x64 else jnp.float32
  with jax.enable_x64(x64):
    device_tree = tree.device(dtype)
    state = init(device_tree, dtype)
    jax.block_until_ready(_run(device_tree, state, jnp.int32(1)))  # compile outside the clock
    curve, seconds, done = [], 0.0, 0
    for checkpoint in checkpoints:
      start = time.perf_counter()
      state = jax.block_until_ready(_run(device_tree, state, jnp.int32(checkpoint - done)))
      seconds += time.perf_counter() - start
      done = checkpoint
      curve.append((done, float(_average_exploitability(device_tree, state))))
    return CFRResult(average_policy=np.asarray(average_policy(device_tree, state)),
                     current_policy=np.asarray(current_policy(device_tree, state)),
                     curve=curve, seconds=seconds, state=state)
