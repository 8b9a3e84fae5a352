"""Exact meta-games of policy populations on a game tree: the pieces of exact PSRO.

A population member is a policy table float[I, A] over the tree's information sets (see
`jaxplay.eval.exploitability.policy_table`); player p's population is a stack float[N_p, I, A]
of which only the rows of p's own information sets matter. Everything here is exact, on the
whole tree, in float64 (`jax.enable_x64` around our own calls only):

- `aggregate_policy`: a meta-strategy (weights over each player's members) as one behavioural
  table, realization-equivalent to the mixture (what OpenSpiel's `PolicyAggregator` computes):
  at an information set I of player p, pi(a|I) = sum_k w_k r_k(I) pi_k(a|I) / sum_k w_k r_k(I),
  r_k(I) being p's own reach probability of I under member k. Where the denominator is 0 (no
  member with weight reaches I) the row is uniform over the legal actions, as OpenSpiel's
  (which adds 1e-40 to every legal action's mass before normalizing).
- `payoff_tensor`: every player's expected return for every combination of members.
- `best_response_table`: the exact best response of one player, as a one-hot table.
- `psro_exact`: PSRO (Lanctot et al. 2017) with these exact pieces and any meta-solver.

Both the aggregate and the payoffs come from one pass down the tree per member
(`tree_walk.own_reach`, vmapped over members): the expected return of a joint policy is
sum over nodes of chance * reward into the node * prod_p (p's own reach), so the payoff tensor
is one einsum of the players' reach vectors. M below is the number of nodes of the tree, in
level order.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from jaxplay.core.errors import JaxplayError
from jaxplay.eval import meta_solvers, tree_walk
from jaxplay.eval.exploitability import Exploitability, Policy, exploitability, policy_table
from jaxplay.eval.tree import DeviceTree, GameTree

Array = jax.Array
# (payoff float64[N_0, ..., N_{P-1}, P]) -> one weight vector float[N_p] per player.
MetaSolver = Callable[[np.ndarray], Sequence[np.ndarray]]


class MetaGameError(JaxplayError, ValueError):
  """Populations or weights that do not fit the game: a population per player is needed, with
  one non-negative weight per member and a positive total."""


# --- jittable cores --------------------------------------------------------------------------


def member_reach(tree: DeviceTree, table: Array) -> tuple[Array, Array]:
  """Own reach probabilities of one member (a pass down the tree; vmap it over members).

  Args:
    tree: the device tree.
    table: float[I, A] a normalized policy.

  Returns:
    node_reach: float[M, P] at every node (level order), column p the product of player p's
      own action probabilities on the path to it.
    infoset_reach: float[I] at every information set, its player's own reach (the same at each
      of its nodes, by perfect recall).
  """
  reach = tree_walk.own_reach(tree, tree_walk.node_probs(tree, table))
  players = jnp.arange(tree.num_players)
  infoset_reach = []
  for level, level_reach in zip(tree.levels, reach):
    mover = (level_reach * (level.player[:, None] == players)).sum(axis=1)           # [N]
    per_infoset = jax.ops.segment_max(mover, level.local_infoset,
                                      num_segments=level.num_infosets + 1)
    infoset_reach.append(per_infoset[:-1])
  return jnp.concatenate(reach), jnp.concatenate(infoset_reach)


def weighted_rewards(tree: DeviceTree) -> Array:
  """float[M, P]: each node's reward (of the transition into it) times its chance probability,
  so that a joint policy's expected returns are sum_m prod_p reach_p[m] * weighted_rewards[m]."""
  return jnp.concatenate([level.chance[:, None] * level.reward for level in tree.levels])


def payoff_from_reach(tree: DeviceTree, reaches: Sequence[Array]) -> Array:
  """float[N_0, ..., N_{P-1}, P]: expected returns of every combination of members.

  Args:
    tree: the device tree.
    reaches: per player p, float[N_p, M] p's own reach at every node under each member
      (column p of `member_reach`'s node reach).
  """
  members = "abcdefghijkl"[:tree.num_players]
  spec = ",".join(f"{c}m" for c in members) + f",mz->{members}z"
  return jnp.einsum(spec, *reaches, weighted_rewards(tree))


def aggregate_from_reach(tree: DeviceTree, tables: Sequence[Array],
                         infoset_reaches: Sequence[Array], weights: Sequence[Array]) -> Array:
  """float[I, A]: the meta-strategy as a behavioural policy (see the module docstring).

  Args:
    tree: the device tree.
    tables: per player p, float[N_p, I, A] its members' normalized tables.
    infoset_reaches: per player p, float[N_p, I] `member_reach`'s infoset reach of each member.
    weights: per player p, float[N_p] non-negative meta-strategy weights (any positive scale).
  """
  legal = tree.infoset_legal.astype(tables[0].dtype)
  uniform = legal / legal.sum(axis=1, keepdims=True)
  out = uniform
  for player, (table, reach, weight) in enumerate(zip(tables, infoset_reaches, weights)):
    mass = weight[:, None] * reach                                                 # [N_p, I]
    numerator = jnp.einsum("ki,kia->ia", mass, table)
    denominator = mass.sum(axis=0)[:, None]
    rows = jnp.where(denominator > 0,
                     numerator / jnp.where(denominator > 0, denominator, 1.0), uniform)
    out = jnp.where((tree.infoset_player == player)[:, None], rows, out)
  return out


_member_reach_jit = jax.jit(jax.vmap(member_reach, in_axes=(None, 0)))
_payoff_jit = jax.jit(payoff_from_reach)
_aggregate_jit = jax.jit(aggregate_from_reach)


# --- host API ------------------------------------------------------------------------------


def aggregate_policy(tree: GameTree, tables: Sequence, weights: Sequence) -> np.ndarray:
  """float64[I, A]: each player's mixture over its members as one behavioural policy.

  Args:
    tree: the game tree.
    tables: per player p, its members: float[N_p, I, A] (or a list of [I, A] tables or policy
      functions); each is normalized by `policy_table`.
    weights: per player p, float[N_p] non-negative meta-strategy weights, positive total.

  At p's information set I the row is sum_k w_k r_k(I) pi_k(.|I) / sum_k w_k r_k(I) with r_k(I)
  p's own reach of I under member k; uniform over the legal actions where no member with
  positive weight reaches I (OpenSpiel's convention). Equals OpenSpiel's `PolicyAggregator`.
  """
  stacks, weights = _check_populations(tree, tables, weights)
  with jax.enable_x64(True):
    device_tree = tree.device(jnp.float64)
    stacks = [jnp.asarray(s) for s in stacks]
    reaches = [_member_reach_jit(device_tree, s)[1] for s in stacks]
    return np.asarray(_aggregate_jit(device_tree, stacks, reaches,
                                     [jnp.asarray(w) for w in weights]))


def aggregate_shared_policy(tree: GameTree, tables: Sequence, weights: Sequence
                            ) -> np.ndarray:
  """float64[I, A]: `aggregate_policy` when every player draws from one population (`tables`
  float[N, I, A], `weights` float[N]); one pass per member serves every player."""
  stacks, weights = _check_populations(tree, [tables], [weights], num_populations=1)
  with jax.enable_x64(True):
    device_tree = tree.device(jnp.float64)
    stack = jnp.asarray(stacks[0])
    reach = _member_reach_jit(device_tree, stack)[1]
    players = tree.num_players
    return np.asarray(_aggregate_jit(device_tree, [stack] * players, [reach] * players,
                                     [jnp.asarray(weights[0])] * players))


def payoff_tensor(tree: GameTree, tables: Sequence) -> np.ndarray:
  """float64[N_0, ..., N_{P-1}, P]: entry [k_0, ..., k_{P-1}, i] is player i's expected return
  when every player p plays its member k_p (`tables` as in `aggregate_policy`). For two players
  an [N_0, N_1, 2] bimatrix."""
  stacks, _ = _check_populations(tree, tables, None)
  with jax.enable_x64(True):
    device_tree = tree.device(jnp.float64)
    reaches = [_member_reach_jit(device_tree, jnp.asarray(s))[0][..., p]
               for p, s in enumerate(stacks)]
    return np.asarray(_payoff_jit(device_tree, reaches))


def best_response_table(tree: GameTree, table: Policy, player: int,
                        result: Exploitability | None = None) -> np.ndarray:
  """float64[I, A]: `table` with player `player`'s rows replaced by its exact best response
  to the others (one-hot, `exploitability(tree, table).best_response`; pass that `result` if
  already computed). The new table's value for `player` is `result.best_response_values[player]`.
  """
  table = policy_table(tree, table)
  if not 0 <= player < tree.num_players:
    raise MetaGameError(f"player must be in [0, {tree.num_players}), got {player}")
  if result is None:
    result = exploitability(tree, table)
  one_hot = np.eye(tree.num_actions, dtype=np.float64)[result.best_response]
  return np.where((tree.infoset_player == player)[:, None], one_hot, table)


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


def uniform_meta_solver(payoff: np.ndarray) -> list[np.ndarray]:
  """Fictitious play's meta-strategy: every member of every population equally likely."""
  return [np.full(n, 1.0 / n) for n in payoff.shape[:-1]]


_two_player_nash = jax.jit(meta_solvers.nash, static_argnames=("iterations", "predictive"))


def _padded_size(sizes: Sequence[int], least: int = 1) -> int:
  """The populations' common padded size: the next power of two >= max(sizes, least), so
  that a growing meta-game compiles its solver a few times, not once a size."""
  return 1 << (max(max(sizes), least) - 1).bit_length()


def nash_meta_solver(payoff: np.ndarray) -> list[np.ndarray]:
  """A Nash meta-strategy of a two-player meta-game (payoff float[N_0, N_1, 2]) by
  `meta_solvers.nash` (predictive RM+, 1000 iterations), the populations padded with live
  masks to 64 members or the next power of two."""
  sizes = payoff.shape[:2]
  if len(sizes) != 2 or payoff.shape[-1] != 2:
    raise MetaGameError(f"the Nash meta-solver takes two-player meta-games, got payoff of "
                        f"shape {payoff.shape}")
  capacity = _padded_size(sizes, 64)
  padded = np.zeros((capacity, capacity, 2), np.float32)
  padded[:sizes[0], :sizes[1]] = payoff
  live = [np.arange(capacity) < n for n in sizes]
  profile = _two_player_nash(padded[..., 0], padded[..., 1], *live)
  return [np.asarray(profile.row)[:sizes[0]], np.asarray(profile.col)[:sizes[1]]]


_players_prd = jax.jit(meta_solvers.players_projected_replicator_dynamics,
                      static_argnames=("iterations", "dt", "gamma", "average_last"))


def prd_meta_solver(payoff: np.ndarray) -> list[np.ndarray]:
  """The meta-strategy of any number of players (payoff float[N_0, ..., N_{P-1}, P]) by
  projected replicator dynamics with OpenSpiel's defaults (100_000 steps of 1e-3, floor
  1e-6, the mean of all iterates; `meta_solvers.players_projected_replicator_dynamics`),
  the populations padded to the next power of two (`_padded_size`)."""
  sizes = payoff.shape[:-1]
  players = len(sizes)
  if payoff.shape[-1] != players:
    raise MetaGameError(f"a meta-game of {players} populations has {players} payoffs an "
                        f"entry, got payoff of shape {payoff.shape}")
  capacity = _padded_size(sizes)
  padded = np.zeros((capacity,) * players + (players,), np.float32)
  padded[tuple(slice(0, n) for n in sizes)] = payoff
  live = np.stack([np.arange(capacity) < n for n in sizes])
  strategies = np.asarray(_players_prd(padded, live).strategies)
  return [strategies[p, :n] for p, n in enumerate(sizes)]


META_SOLVERS: dict[str, MetaSolver] = {"uniform": uniform_meta_solver,
                                        "nash": nash_meta_solver,
                                        "prd": prd_meta_solver}


def psro_exact(tree: GameTree, iterations: int, meta_solver: str | MetaSolver, *,
               initial: Policy | None = None) -> PSROResult:
  """Exact PSRO: every payoff, aggregate and best response computed on the game tree.

  Every player's population starts as `initial` (default: uniform). Each iteration computes
  the payoff tensor of the populations, the meta-strategy `meta_solver(payoff)` (one weight
  vector per player), its behavioural policy (`aggregate_policy`) and that policy's
  exploitability, then adds every player's exact best response to it (`best_response_table`).
  After `iterations` such additions the final populations are evaluated once more.

  The populations live in arrays of fixed capacity `iterations + 1` (members not yet added
  have zero reach and zero weight), so the payoff and aggregation programs compile once; a
  member's reach pass runs once, when it is added.

  Args:
    tree: the game tree.
    iterations: the number of best responses added per player (>= 0).
    meta_solver: "uniform" (fictitious play), "nash" (two players; PSRO proper), "prd"
      (projected replicator dynamics, any number of players), "least_exploitable" (two
      players, zero-sum: anytime double oracle, `jaxplay.eval.least_exploitable`), or a
      function (payoff float64[N_0, ..., N_{P-1}, P]) -> per player p weights float[N_p],
      non-negative with a positive total. Called outside `jax.enable_x64`.
    initial: the first member of every population (a table or policy function).
  """
  start = time.perf_counter()
  players, capacity = tree.num_players, iterations + 1
  first = policy_table(tree, tree.uniform_policy() if initial is None else initial)
  tables = np.zeros((players, capacity) + first.shape)            # [P, capacity, I, A]
  if meta_solver == "least_exploitable":   # it reads the members, not only their payoffs
    from jaxplay.eval.least_exploitable import least_exploitable  # (it imports this module)
    meta_solver = lambda payoff: least_exploitable(
        tree, [tables[p, :n] for p, n in enumerate(payoff.shape[:-1])], payoff).weights
  elif isinstance(meta_solver, str):
    if meta_solver not in META_SOLVERS:
      raise MetaGameError(f"meta_solver must be one of "
                          f"{sorted([*META_SOLVERS, 'least_exploitable'])} or a function, "
                          f"got {meta_solver!r}")
    meta_solver = META_SOLVERS[meta_solver]
  node_reach = np.zeros((players, capacity, tree.num_nodes))      # own reach, [P, capacity, M]
  infoset_reach = np.zeros((players, capacity, tree.num_infosets))

  def add(player: int, member: int, table: np.ndarray):
    with jax.enable_x64(True):
      nodes, infosets = jax.device_get(_member_reach_jit(device_tree, jnp.asarray(table[None])))
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
      full = _payoff_jit(device_tree, list(jnp.asarray(node_reach)))
      payoff = np.asarray(full[(slice(0, live),) * players])
    weights = _check_weights([live] * players, meta_solver(payoff), normalize=True)
    padded = np.zeros((players, capacity))
    padded[:, :live] = weights
    with jax.enable_x64(True):
      meta = np.asarray(_aggregate_jit(device_tree, list(jnp.asarray(tables)),
                                       list(jnp.asarray(infoset_reach)),
                                       list(jnp.asarray(padded))))
    result = exploitability(tree, meta)
    curve.append((iteration, result.exploitability))
    nash_conv.append(result.nash_conv)
    if live < capacity:
      for player in range(players):
        add(player, live, best_response_table(tree, meta, player, result))
  return PSROResult(curve=curve, nash_conv=np.asarray(nash_conv), populations=list(tables),
                    weights=weights, payoff=payoff, meta_policy=meta,
                    seconds=time.perf_counter() - start)


def _check_populations(tree: GameTree, tables: Sequence, weights: Sequence | None, *,
                       num_populations: int | None = None):
  """(per population float64[N_p, I, A] normalized tables, per population float64[N_p]
  weights or None), or MetaGameError naming what does not fit."""
  count = tree.num_players if num_populations is None else num_populations
  if len(tables) != count:
    raise MetaGameError(f"expected {count} populations (one per player), got {len(tables)}")
  if any(len(population) == 0 for population in tables):
    raise MetaGameError("every population needs at least one member")
  stacks = [np.stack([policy_table(tree, t) for t in population]) for population in tables]
  if weights is None:
    return stacks, None
  return stacks, _check_weights([len(s) for s in stacks], weights)


def _check_weights(sizes: Sequence[int], weights: Sequence, normalize: bool = False
                   ) -> list[np.ndarray]:
  """Per population float64[N_p] weights (summing to 1 if `normalize`), or MetaGameError."""
  if len(weights) != len(sizes):
    raise MetaGameError(f"expected {len(sizes)} weight vectors (one per population), got "
                        f"{len(weights)}")
  checked = []
  for player, (size, weight) in enumerate(zip(sizes, weights)):
    weight = np.asarray(weight, np.float64)
    if weight.shape != (size,) or not np.isfinite(weight).all() or (
        weight < 0).any() or weight.sum() <= 0:
      raise MetaGameError(f"population {player}: expected {size} non-negative weights with a "
                          f"positive total, got {np.round(weight, 4).tolist()}")
    checked.append(weight / weight.sum() if normalize else weight)
  return checked
