"""Uniformly random legal play: the baseline policy of demos, tests and benchmarks."""

from __future__ import annotations

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
  rank = chance.bits_below(bits, jnp.maximum(count, 1)) + 1  # the rank-th legal action
  # One pass over the action columns: each step works on whole [...]-vectors, which XLA
  # vectorizes across rows far better than a cumsum along a short minor axis.
  seen = jnp.zeros(rank.shape, jnp.int32)
  hits = []
  for a in range(num_actions):
    legal = legal_action_mask[..., a]
    seen = seen + legal
    hits.append(legal & (seen == rank))
  # Ending in a reduction makes XLA materialize the actions instead of recomputing this
  # whole selection inside every element of whatever consumes them (e.g. observations).
  return jnp.max(jnp.where(jnp.stack(hits, axis=-1), jnp.arange(num_actions), 0), axis=-1)
