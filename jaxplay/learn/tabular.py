"""Frozen members played from policy tables: on a game whose tree is built (PSRO's), a frozen
member's policy is a table over the information sets, and a rollout looks up its actors' rows
instead of running the member's network.

A population's rollout otherwise runs every actor through its own member's network
(`rollout.grouped_apply`): about 2N chunks for N member slots, live or not, so that an
iteration of PSRO costs more as the population's capacity grows (Leduc, 50 updates of the two
best responses: 1.14 s with 2 slots a seat, 1.95 s with 121). With tables only the learners'
networks run; a frozen member's actor takes its action from its table's row, found by a hash
of the actor's observation (each information set has its own observation: perfect recall).
The table is the member's network evaluated on every information set, so the actions are
drawn from the same distribution.

    index = make_index(observations)             # int8[I, L, F], the tree's, padded
    tables = member_tables(probs, frozen, learners, index)   # probs float[N, I, A]
    rollout(..., params=learners' params [L, ...], members=..., tables=tables)
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxplay.core.errors import JaxplayError

# A table's zero probabilities as logits: finite, so that what a rollout records of a frozen
# member's actors (unused by any loss) never turns a weighted sum into NaN.
LOG_ZERO = float(np.log(1e-30))


class InfosetIndex(NamedTuple):
  """Observation -> information-set id, by hash.

  Attributes:
    weights: int32[L * F] the hash's weights (hash: the flattened observation's dot product
      with them, wrapping around in int32).
    hashes: int32[I] every information set's hash, sorted.
    infosets: int32[I] the information set of each sorted hash.
  """

  weights: jax.Array
  hashes: jax.Array
  infosets: jax.Array


class MemberTables(NamedTuple):
  """What a rollout needs to play frozen members from tables (N member slots, L learners).

  Attributes:
    logits: float32[N, I, A] each slot's policy on every information set, as log-probabilities
      (`LOG_ZERO` for probability 0).
    use_table: bool[N] the slots whose actors take their table's action (the frozen ones).
    network: int32[N] each slot's index in the stacked parameters the rollout runs (its
      learner's; any for a slot that uses its table).
    index: the information sets of the observations.
  """

  logits: jax.Array
  use_table: jax.Array
  network: jax.Array
  index: InfosetIndex


class TableError(JaxplayError, ValueError):
  """Observations that do not tell their information sets apart."""


def _hash(weights: jax.Array, observation: jax.Array) -> jax.Array:
  """int32[...]: the hash of observations int8[..., L, F]."""
  flat = observation.reshape(observation.shape[:-2] + (-1,)).astype(jnp.int32)
  return (flat * weights).sum(-1)  # int32 arithmetic wraps around: a hash, not a number


def make_index(observations: np.ndarray, seed: int = 0) -> InfosetIndex:
  """The index of the information sets whose observations are int8[I, L, F] (id = row).

  Raises:
    TableError: two information sets with the same observation, or no hash among ten
      seeds that tells them apart.
  """
  observations = np.asarray(observations)
  flat = observations.reshape(len(observations), -1)
  if len(np.unique(flat, axis=0)) != len(flat):
    raise TableError("two information sets share an observation: tables cannot tell them "
                      "apart")
  for attempt in range(10):
    rng = np.random.default_rng(seed + attempt)
    weights = jnp.asarray(rng.integers(-2**31, 2**31 - 1, flat.shape[1]), jnp.int32)
    hashes = np.asarray(jax.jit(_hash)(weights, jnp.asarray(observations)))
    if len(np.unique(hashes)) == len(hashes):
      order = np.argsort(hashes, kind="stable")
      return InfosetIndex(weights, jnp.asarray(hashes[order]),
                          jnp.asarray(order.astype(np.int32)))
  raise TableError("no hash of ten tried tells the information sets apart")


def lookup(index: InfosetIndex, observation: jax.Array) -> jax.Array:
  """int32[...]: the information set of each observation int8[..., L, F] (one the index was
  made from; any other gets some id)."""
  found = jnp.searchsorted(index.hashes, _hash(index.weights, observation))
  return index.infosets[jnp.clip(found, 0, index.hashes.shape[0] - 1)]


def member_tables(probs: jax.Array, use_table: jax.Array, learners: jax.Array,
                  index: InfosetIndex) -> MemberTables:
  """Tables of N slots' policies `probs` float[N, I, A], the slots `use_table` bool[N] playing
  from them and the others by their networks: slot `learners[l]` by the l-th of the stacked
  parameters the rollout gets."""
  network = jnp.zeros(probs.shape[0], jnp.int32).at[learners].set(
      jnp.arange(learners.shape[0], dtype=jnp.int32))
  logits = jnp.log(jnp.maximum(jnp.asarray(probs, jnp.float32), np.exp(LOG_ZERO)))
  return MemberTables(logits, jnp.asarray(use_table, bool), network, index)


def table_logits(tables: MemberTables, member: jax.Array, observation: jax.Array) -> jax.Array:
  """float32[..., A]: the logits of actors' members (int32[...]) at their observations
  int8[..., L, F], from the tables."""
  return tables.logits[member, lookup(tables.index, observation)]
