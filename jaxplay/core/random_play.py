"""Uniformly random legal play: the baseline policy of demos, tests and benchmarks."""

from __future__ import annotations

import jax
import jax.numpy as jnp


def random_legal_actions(key: jax.Array, legal_action_mask: jax.Array) -> jax.Array:
  """Picks, per row of `legal_action_mask` (bool[..., A]), a legal action uniformly at random.

  Uses one 32-bit draw per row (relative bias below A / 2**32). Rows without a legal action
  give 0. Returns int32[...]; for a state's bool[P, A] mask that is a joint action int32[P].
  """
  num_actions = legal_action_mask.shape[-1]
  count = legal_action_mask.sum(axis=-1, dtype=jnp.uint32)
  bits = jax.random.bits(key, legal_action_mask.shape[:-1], jnp.uint32)
  rank = (bits % jnp.maximum(count, 1)).astype(jnp.int32) + 1  # the rank-th legal action
  # One pass over the action columns: each step works on whole [...]-vectors, which XLA
  # vectorizes across rows far better than a cumsum/argmax along a short minor axis.
  seen = jnp.zeros(rank.shape, jnp.int32)
  chosen = jnp.zeros(rank.shape, jnp.int32)
  for a in range(num_actions):
    legal = legal_action_mask[..., a]
    seen = seen + legal
    chosen = jnp.where(legal & (seen == rank), a, chosen)
  return chosen
