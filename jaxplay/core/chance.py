"""Chance helpers shared by games: uniform draws over small finite sets of outcomes."""

from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp
import numpy as np


def uniform_index(key: jax.Array, n: int) -> jax.Array:
  """int32[]: uniform over [0, n), from one 32-bit draw (relative bias below n / 2**32)."""
  return (jax.random.bits(key, (), jnp.uint32) % jnp.uint32(n)).astype(jnp.int32)


def ordered_deals(num_cards: int, num_dealt: int) -> np.ndarray:
  """int32[D, num_dealt]: every ordered deal of `num_dealt` distinct cards from `num_cards`."""
  return np.array(list(itertools.permutations(range(num_cards), num_dealt)), np.int32)


def draw_row(key: jax.Array, table: np.ndarray) -> jax.Array:
  """One row of `table`, chosen uniformly: a whole chance outcome in one draw."""
  return jnp.asarray(table)[uniform_index(key, table.shape[0])]
