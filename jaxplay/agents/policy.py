"""The policy head: a categorical distribution over the legal actions only."""

from __future__ import annotations

import distrax
import jax
import jax.numpy as jnp

from jaxplay.core import chance

# Illegal actions get this logit: finite, so that entropies and KLs stay finite (exp underflows
# to exactly 0, and 0 * finite = 0).
MASKED_LOGIT = -1e9


def masked_logits(logits: jax.Array, legal: jax.Array) -> jax.Array:
  """float32[..., A]: `logits` with the illegal actions (legal bool[..., A] False) at
  MASKED_LOGIT. A row without legal actions becomes uniform over all A."""
  return jnp.where(legal, logits, MASKED_LOGIT)


def masked_policy(logits: jax.Array, legal: jax.Array) -> distrax.Categorical:
  """distrax.Categorical over the legal actions: logits float32[..., A], legal bool[..., A]."""
  return distrax.Categorical(logits=masked_logits(logits, legal))


def masked_probs(logits: jax.Array, legal: jax.Array) -> jax.Array:
  """float32[..., A]: action probabilities, exactly 0 on illegal actions."""
  return jax.nn.softmax(jnp.where(legal, logits, -jnp.inf), axis=-1)


def categorical_kl(log_p: jax.Array, log_q: jax.Array) -> jax.Array:
  """[...]: KL(p || q) of two distributions given as log-probabilities [..., A] (actions with
  p = 0 contribute 0)."""
  p = jnp.exp(log_p)
  return jnp.sum(jnp.where(p > 0, p * (log_p - log_q), 0.0), axis=-1)


def sample_actions(key: jax.Array, logits: jax.Array,
                   first_row: jax.Array | int | None = None) -> jax.Array:
  """int32[...]: one action per row of logits [..., A] (masked ones: MASKED_LOGIT never wins),
  by the Gumbel-max trick on hashed random bits (`chance.key_bits`: a few operations per draw,
  where threefry costs tens of nanoseconds each on CPU). `first_row`: logits [B, ...] are
  rows first_row .. of a taller batch, and draw what that batch's draw gives them."""
  bits = chance.key_bits(key, logits.shape, first_row)
  uniform = chance.open_unit_float(bits)
  return jnp.argmax(logits - jnp.log(-jnp.log(uniform)), axis=-1).astype(jnp.int32)


def split_keys(key: jax.Array, num: int, first: jax.Array | int | None = None) -> jax.Array:
  """num PRNG keys from `key`, by hashing (see `sample_actions`) instead of threefry;
  `first`: keys first .. first + num - 1 of a longer split."""
  return jax.random.wrap_key_data(chance.key_bits(key, (num, 2), first))
