"""Chance helpers shared by games: uniform draws over small finite sets of outcomes."""

from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp
import numpy as np


def _fmix32(x: jax.Array) -> jax.Array:
  """MurmurHash3's 32-bit finalizer: a bijection on uint32 with full avalanche."""
  x = x ^ (x >> 16)
  x = x * jnp.uint32(0x85EBCA6B)
  x = x ^ (x >> 13)
  x = x * jnp.uint32(0xC2B2AE35)
  return x ^ (x >> 16)


def key_bits(key: jax.Array, shape: tuple[int, ...] = (),
             first_row: jax.Array | int | None = None) -> jax.Array:
  """uint32[shape]: random bits from a PRNG key (typed, or a raw uint32 key array).

  `first_row`: the bits are rows first_row .. first_row + shape[0] - 1 of those the key
  gives a taller array of the same row shape (rows beyond shape[0] exist: a device playing
  one block of a batch draws exactly what the whole batch's draw gives that block).

  A counter-based hash of the key's own words instead of threefry: on XLA:CPU a vmapped
  threefry call costs about 50 ns per game, more than a whole Kuhn step, while this costs a
  few. Keys from `jax.random.split` are themselves threefry output, so their hash is as
  uniform; distinct keys (hand-made ones such as `jax.random.key(i)` too) and distinct
  positions in `shape` give distinct, well-mixed bits.
  """
  if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
    key = jax.random.key_data(key)
  words = key.astype(jnp.uint32).reshape(-1)
  seed = jnp.uint32(0x9E3779B9)
  for i in range(words.shape[0]):
    seed = _fmix32(seed ^ words[i])
  if not shape:
    return seed
  counter = jax.lax.iota(jnp.uint32, int(np.prod(shape))).reshape(shape)
  if first_row is not None:
    counter = counter + jnp.asarray(first_row).astype(jnp.uint32) * jnp.uint32(
        int(np.prod(shape[1:])))
  return _fmix32(seed ^ _fmix32(counter * jnp.uint32(0x9E3779B9) + jnp.uint32(1)))


def unit_float(bits: jax.Array) -> jax.Array:
  """float32 in [0, 1): the top 24 bits of uniform uint32 `bits` (exact in float32)."""
  return (bits >> 8).astype(jnp.float32) * jnp.float32(1.0 / (1 << 24))


def open_unit_float(bits: jax.Array) -> jax.Array:
  """float32 in (0, 1], never 0 (safe under a log): the midpoint of the cell of `unit_float`
  that uniform uint32 `bits` fall in, (top 24 bits + 1/2) / 2**24 rounded once to float32 (the
  top cell's midpoint rounds to 1: probability 2**-24)."""
  return ((bits >> 8).astype(jnp.float32) + 0.5) * jnp.float32(1.0 / (1 << 24))


def bits_below(bits: jax.Array, n: jax.Array | int) -> jax.Array:
  """int32: maps uniform uint32 `bits` to [0, n) (n <= 2**16), scaling the top 24 bits in
  float32 (exact there) instead of an integer modulo, which XLA:CPU does not vectorize.
  Each value's probability is within n / 2**24 (relative) of 1 / n."""
  return jnp.minimum((unit_float(bits) * n).astype(jnp.int32), jnp.asarray(n, jnp.int32) - 1)


def uniform_index(key: jax.Array, n: int) -> jax.Array:
  """int32[]: uniform over [0, n) from one 32-bit draw (see `bits_below`)."""
  return bits_below(key_bits(key), n)


def ordered_deals(num_cards: int, num_dealt: int) -> np.ndarray:
  """int32[D, num_dealt]: every ordered deal of `num_dealt` distinct cards from `num_cards`."""
  return np.array(list(itertools.permutations(range(num_cards), num_dealt)), np.int32)


def draw_row(key: jax.Array, table: np.ndarray) -> jax.Array:
  """One row of `table`, chosen uniformly: a whole chance outcome in one draw."""
  return jnp.asarray(table)[uniform_index(key, table.shape[0])]


def uniform_outcomes(table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
  """`table`'s rows with equal probabilities: the `Env.chance_outcomes` of `draw_row`."""
  return np.asarray(table, np.int32), np.full(len(table), 1.0 / len(table))
