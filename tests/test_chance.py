"""The hashed random numbers every game and policy draws from (jaxplay.core.chance)."""

import chex
import jax
import jax.numpy as jnp
import numpy as np

from jaxplay.core import chance

# Every 24-bit cell's extremes (the low 8 bits are dropped) and a spread of random words.
EDGES = np.array([0, 255, 256, 2**31 - 1, 2**31, 2**32 - 257, 2**32 - 256, 2**32 - 1], np.uint32)
WORDS = np.concatenate([EDGES, np.random.default_rng(0).integers(0, 2**32, 4096, np.uint32)])


def test_unit_floats_are_the_top_24_bits_and_the_open_one_is_never_0():
  top = (WORDS >> 8).astype(np.float64)
  closed, opened = (np.asarray(f(jnp.asarray(WORDS)), np.float64)
                    for f in (chance.unit_float, chance.open_unit_float))
  np.testing.assert_array_equal(closed, top / 2**24)   # exact: [0, 1)
  assert closed.min() == 0.0 and closed.max() < 1.0
  # The cell's midpoint, rounded once to float32: never 0, 1 only in the top cell.
  np.testing.assert_array_equal(opened, np.float32((top + 0.5) / 2**24))
  assert opened.min() == 2.0**-25
  assert set(WORDS[opened == 1.0] >> 8) <= {2**24 - 1}


def test_bits_below_n_cover_0_to_n_evenly():
  counts = np.bincount(np.asarray(chance.bits_below(chance.key_bits(jax.random.key(3),
                                                                     (60000,)), 6)), minlength=6)
  chex.assert_shape(counts, (6,))           # nothing at 6 or above
  assert counts.min() > 0.95 * 10000 and counts.max() < 1.05 * 10000, counts


def test_key_bits_depend_on_the_key_only():
  first, again, other = (np.asarray(chance.key_bits(jax.random.key(k), (3, 5))) for k in (1, 1, 2))
  chex.assert_shape(first, (3, 5))
  np.testing.assert_array_equal(first, again)
  assert (first != other).mean() > 0.9
  assert len(np.unique(first)) == first.size


def test_a_block_of_rows_draws_what_the_whole_batch_draws_there():
  """`first_row`: a device playing rows 4..6 of a batch of 10 draws those rows of the
  batch's draw (also when traced), and so do the policy's and the random actions' draws built
  on it."""
  from jaxplay.agents import policy
  key = jax.random.key(7)
  whole = np.asarray(chance.key_bits(key, (10, 3, 2)))
  block = jax.jit(lambda first: chance.key_bits(key, (3, 3, 2), first))(jnp.int32(4))
  np.testing.assert_array_equal(np.asarray(block), whole[4:7])
  logits = jax.random.normal(jax.random.key(1), (10, 2, 5))
  np.testing.assert_array_equal(policy.sample_actions(key, logits[4:7], 4),
                                policy.sample_actions(key, logits)[4:7])
  np.testing.assert_array_equal(jax.random.key_data(policy.split_keys(key, 3, 4)),
                                jax.random.key_data(policy.split_keys(key, 10))[4:7])
  from jaxplay.core.random_actions import random_legal_actions
  legal = jax.random.bernoulli(jax.random.key(2), 0.5, (10, 2, 5))
  np.testing.assert_array_equal(random_legal_actions(key, legal[4:7], 4),
                                random_legal_actions(key, legal)[4:7])
