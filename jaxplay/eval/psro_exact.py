"""Exact PSRO (Lanctot et al. 2017): every payoff, aggregate and best response computed on
the game tree with the pieces of `jaxplay.eval.meta_game`, any meta-strategy solver of
`jaxplay.eval.meta_strategy` (or a payoff-only function). The oracle here is exact; PSRO with
PPO best responses is `jaxplay.learn.psro`. `python -m benchmarks.psro_exact` compares the
meta-solvers with CFR+.
"""

from __future__ import annotations

import dataclasses
import time

import jax
import jax.numpy as jnp
import numpy as np

from jaxplay.eval import meta_game, meta_strategy
from jaxplay.eval.exploitability import Policy, exploitability, policy_table
from jaxplay.eval.tree import GameTree

_payoff = jax.jit(meta_game.payoff_from_reach)
_aggregate = jax.jit(meta_game.aggregate_from_reach)


@dataclasses.dataclass(frozen=True)
class PSROResult:
  """What `psro_exact` returns (host arrays).

  Attributes:
    curve: (iteration, exploitability of the aggregated meta-strategy) pairs; at iteration t
      every population has t + 1 members (t best responses added to the initial policy).
    nash_conv: float[T + 1] NashConv at the same iterations.
    populations: per player p, float64[N_p, I, A] its members (the initial policy first, then
      one best response per iteration; only p's rows are p's, the others are those of the
      meta-strategy it answered).
    weights: per player p, float64[N_p] the last meta-strategy (normalized).
    payoff: float64[N_0, ..., N_{P-1}, P] the last payoff tensor.
    meta_policy: float64[I, A] the last meta-strategy as a behavioural policy.
    seconds: wall time of the whole run, compilation included.
  """

  curve: list[tuple[int, float]]
  nash_conv: np.ndarray
  populations: list[np.ndarray]
  weights: list[np.ndarray]
  payoff: np.ndarray
  meta_policy: np.ndarray
  seconds: float


def psro_exact(tree: GameTree, iterations: int, meta_solver: str | meta_game.MetaSolver, *,
               initial: Policy | None = None) -> PSROResult:
  """Exact PSRO: every payoff, aggregate and best response computed on the game tree.

  Every player's population starts as `initial` (default: uniform). Each iteration computes
  the payoff tensor of the populations, the meta-strategy of `meta_solver` (one weight vector
  per player), its behavioural policy (`meta_game.aggregate_policy`) and that policy's
  exploitability, then adds every player's exact best response to it
  (`meta_game.best_response_table`). After `iterations` such additions the final populations
  are evaluated once more.

  The populations live in arrays of fixed capacity `iterations + 1` (members not yet added
  have zero reach and zero weight), so the payoff and aggregation programs compile once; a
  member's reach pass runs once, when it is added.

  Args:
    tree: the game tree.
    iterations: the number of best responses added per player (>= 0).
    meta_solver: a name of `meta_strategy.NAMES`: "uniform" (fictitious play), "nash" (two
      players; PSRO proper), "prd" (projected replicator dynamics, any number of players),
      "least_exploitable" (two players, zero-sum: anytime double oracle,
      `jaxplay.eval.least_exploitable`); or a function (payoff float64[N_0, ..., N_{P-1}, P])
      -> per player p weights float[N_p], non-negative with a positive total. Called outside
      `jax.enable_x64`.
    initial: the first member of every population (a table or policy function).

  Raises:
    MetaGameError: an unknown solver name, or weights that do not fit the populations.
  """
  start = time.perf_counter()
  players, capacity = tree.num_players, iterations + 1
  first = policy_table(tree, tree.uniform_policy() if initial is None else initial)
  tables = np.zeros((players, capacity) + first.shape)            # [P, capacity, I, A]
  solve = meta_strategy.solver(meta_solver)
  node_reach = np.zeros((players, capacity, tree.num_nodes))      # own reach, [P, capacity, M]
  infoset_reach = np.zeros((players, capacity, tree.num_infosets))

  def add(player: int, member: int, table: np.ndarray):
    with jax.enable_x64(True):
      nodes, infosets = jax.device_get(
          meta_game.member_reaches(device_tree, jnp.asarray(table[None])))
    tables[player, member] = table
    node_reach[player, member] = nodes[0, :, player]
    infoset_reach[player, member] = infosets[0]

  with jax.enable_x64(True):
    device_tree = tree.device(jnp.float64)
  for player in range(players):
    add(player, 0, first)
  curve, nash_conv = [], []
  for iteration in range(capacity):
    live = iteration + 1
    with jax.enable_x64(True):
      full = _payoff(device_tree, list(jnp.asarray(node_reach)))
      payoff = np.asarray(full[(slice(0, live),) * players])
    weights = meta_game.check_weights([live] * players, solve(
        tree, [tables[p, :live] for p in range(players)], payoff), normalize=True)
    padded = np.zeros((players, capacity))
    padded[:, :live] = weights
    with jax.enable_x64(True):
      meta = np.asarray(_aggregate(device_tree, list(jnp.asarray(tables)),
                                   list(jnp.asarray(infoset_reach)), list(jnp.asarray(padded))))
    result = exploitability(tree, meta)
    curve.append((iteration, result.exploitability))
    nash_conv.append(result.nash_conv)
    if live < capacity:
      for player in range(players):
        add(player, live, meta_game.best_response_table(tree, meta, player, result))
  return PSROResult(curve=curve, nash_conv=np.asarray(nash_conv), populations=list(tables),
                    weights=weights, payoff=payoff, meta_policy=meta,
                    seconds=time.perf_counter() - start)
