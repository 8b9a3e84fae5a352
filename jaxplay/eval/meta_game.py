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
- the payoff-only meta-solvers (`META_SOLVERS`: uniform, Nash, projected replicator
  dynamics); `jaxplay.eval.meta_strategy` names every solver, `jaxplay.eval.psro_exact` runs
  PSRO with these exact pieces.

Both the aggregate and the payoffs come from one pass down the tree per member
(`tree_walk.own_reach`, vmapped over members): the expected return of a joint policy is
sum over nodes of chance * reward into the node * prod_p (p's own reach), so the payoff tensor
is one einsum of the players' reach vectors. M below is the number of nodes of the tree, in
level order.
"""

from __future__ import annotations

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


# (tree, stack float[N, I, A]) -> (node reach float[N, M, P], infoset reach float[N, I]).
member_reaches = jax.jit(jax.vmap(member_reach, in_axes=(None, 0)))
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
    reaches = [member_reaches(device_tree, s)[1] for s in stacks]
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
    reach = member_reaches(device_tree, stack)[1]
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
    reaches = [member_reaches(device_tree, jnp.asarray(s))[0][..., p]
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
  return stacks, check_weights([len(s) for s in stacks], weights)


def check_weights(sizes: Sequence[int], weights: Sequence, normalize: bool = False
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
