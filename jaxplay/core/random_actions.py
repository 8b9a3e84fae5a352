"""Uniformly random legal play: the baseline policy of demos, tests and benchmarks."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from jaxplay.core import chance


def random_legal_actions(key: jax.Array, legal_action_mask: jax.Array,
                         first_row: jax.Array | int | None = None) -> jax.Array:
  """Picks, per row of `legal_action_mask` (bool[..., A]), a legal action uniformly at random.

  Uses one 32-bit draw per row from `chance.key_bits` (a hash of the key, far cheaper than
  threefry on CPU; relative bias below A / 2**24). Rows without a legal action give 0.
  `first_row`: the mask [B, ...] is rows first_row .. of a taller batch, and draws what that
  batch's draw gives them (`chance.key_bits`).
  Returns int32[...]; for a state's bool[P, A] mask that is a joint action int32[P].
  """
  num_actions = legal_action_mask.shape[-1]
  count = legal_action_mask.sum(axis=-1, dtype=jnp.int32)
  bits = chance.key_bits(key, legal_action_mask.shape[:-1], first_row)
  rank = chance.bits_below(bits, jnp.maximum(count, 1))  # pick the rank-th legal action (0-based)
  # Count the legal actions below every action with popcounts over the row packed into 32-bit
  # words: elementwise across the row, no running sum along it.
  if num_actions <= 32:  # one word, packed column by column (cheap to repeat where inlined)
    words = functools.reduce(jnp.bitwise_or, [legal_action_mask[..., a].astype(jnp.uint32) << a
                                               for a in range(num_actions)])[..., None]
  else:  # several words, packed by a reduction (materialized once, not per element)
    padded = jnp.pad(legal_action_mask, [(0, 0)] * (legal_action_mask.ndim - 1)
                     + [(0, -num_actions % 32)])
    bits = padded.reshape(padded.shape[:-1] + (-1, 32)).astype(jnp.uint32)
    words = jnp.sum(bits << jnp.arange(32, dtype=jnp.uint32), axis=-1, dtype=jnp.uint32)
  counts = jax.lax.population_count(words).astype(jnp.int32)
  before = jnp.cumsum(counts, axis=-1) - counts  # legal actions in the earlier words
  action = jnp.arange(num_actions)
  word, bit = action // 32, (action % 32).astype(jnp.uint32)
  below = (jax.lax.population_count(words[..., word] & ((jnp.uint32(1) << bit) - 1))
           .astype(jnp.int32) + before[..., word])
  hit = legal_action_mask & (below == rank[..., None])
  # Ending in a reduction makes XLA materialize the actions instead of recomputing this
  # whole selection inside every element of whatever consumes them (e.g. observations).
  return jnp.max(jnp.where(hit, jnp.arange(num_actions), 0), axis=-1)
