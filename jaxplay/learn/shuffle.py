"""Random permutations for minibatches, 4-7x faster on CPU than `jax.random.permutation`."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np


def permutation(key: jax.Array, n: int) -> jax.Array:
  """int32[n]: a random permutation of 0..n-1 (n static), uniform up to ties.

  `jax.random.permutation` sorts (random uint32 key, index) pairs: a two-operand sort, which
  XLA:CPU runs far slower than a sort of one array. Here each round sorts single uint32s
  that pack random bits above ceil(log2 n) index bits, then reads the order off the low
  bits. Ties in the random bits keep their order; as `jax.random.permutation` does for its
  32-bit keys, we run enough rounds, ceil(3 ln n / (b ln 2)) for b random bits, that the
  bias this leaves is negligible (n = 4096: 20 random bits, 2 rounds).
  """
  index_bits = max(1, int(np.ceil(np.log2(max(n, 2)))))
  random_bits = 32 - index_bits
  if random_bits < 8:
    return jax.random.permutation(key, n)
  rounds = max(1, int(np.ceil(3 * np.log(max(n, 2)) / (random_bits * np.log(2)))))
  order = jnp.arange(n, dtype=jnp.int32)
  positions = jnp.arange(n, dtype=jnp.uint32)
  for round_key in jax.random.split(key, rounds):
    packed = (jax.random.bits(round_key, (n,), jnp.uint32) << index_bits) | positions
    moved = (jnp.sort(packed) & ((1 << index_bits) - 1)).astype(jnp.int32)
    order = order[moved]
  return order
