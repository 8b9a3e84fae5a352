"""Uniformly random legal play: the baseline policy of demos, tests and benchmarks."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from jaxplay.core import chance


def random_legal_actions(key: jax.Array, legal_action_mask: jax.Array) -> jax.Array:
  """Picks, per row of `legal_action_mask` (bool[..., A]), a legal action uniformly at random.

  Uses one 32-bit draw per row from `chance.key_bits` (a hash of the key, far cheaper than
  threefry on CPU; relative bias below A / 2**24). Rows without a legal action give 0.
  Returns int32[...]; for a state's bool[P, A] mask that is a joint action int32[P].
  """
  num_actions = legal_action_mask.shape[-1]
  count = legal_action_mask.sum(axis=-1, dtype=jnp.int32)
  bits = chance.key_bits(key, legal_action_mask.shape[:-1])
  rank = chance.bits_below(bits, jnp.maximum(count, 1))  # pick the rank-th legal action (0-based)
  if num_actions <= 31:
    # Pack each row into an int bitfield (column by column: a reduction along a short minor
    # axis runs element by element on XLA:CPU), then count the legal actions below every
    # action with a popcount: elementwise across the row, no running sum.
    packed = functools.reduce(jnp.bitwise_or, [legal_action_mask[..., a].astype(jnp.int32) << a
                                               for a in range(num_actions)])
    below = jax.lax.population_count(packed[..., None] & ((1 << jnp.arange(num_actions)) - 1))
    hit = legal_action_mask & (below == rank[..., None])
  else:  # one pass over the action columns, each step on whole [...]-vectors
    seen = jnp.zeros(rank.shape, jnp.int32)
    hits = []
    for a in range(num_actions):
      legal = legal_action_mask[..., a]
      hits.append(legal & (seen == rank))
      seen = seen + legal
    hit = jnp.stack(hits, axis=-1)
  # Ending in a reduction makes XLA materialize the actions instead of recomputing this
  # whole selection inside every element of whatever consumes them (e.g. observations).
  return jnp.max(jnp.where(hit, jnp.arange(num_actions), 0), axis=-1)
