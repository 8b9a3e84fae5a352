"""Minimal observation/action spaces for the JaxMARL-style adapter (no JaxMARL needed)."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp


@dataclasses.dataclass(frozen=True)
class Discrete:
  """Integers 0..n-1."""

  n: int
  dtype: jnp.dtype = jnp.int32

  @property
  def shape(self) -> tuple[int, ...]:
    return ()

  def sample(self, key: jax.Array) -> jax.Array:
    return jax.random.randint(key, (), 0, self.n, self.dtype)

  def contains(self, x) -> jax.Array:
    x = jnp.asarray(x)
    return (x.shape == ()) & (x >= 0) & (x < self.n)


@dataclasses.dataclass(frozen=True)
class Box:
  """Arrays of `shape` and `dtype` with values in [low, high]."""

  low: float
  high: float
  shape: tuple[int, ...]
  dtype: jnp.dtype

  def sample(self, key: jax.Array) -> jax.Array:
    return jax.random.randint(key, self.shape, int(self.low), int(self.high) + 1).astype(self.dtype)

  def contains(self, x) -> jax.Array:
    x = jnp.asarray(x)
    return (x.shape == self.shape) & jnp.all((x >= self.low) & (x <= self.high))
