"""Minibatch permutations: every index once, every position equally likely."""

import jax
import numpy as np
import pytest

from jaxplay.learn.shuffle import permutation


@pytest.mark.parametrize("n", [1, 2, 10, 4096, 5000])
def test_permutation_is_a_permutation(n):
  order = np.asarray(jax.jit(permutation, static_argnums=1)(jax.random.key(0), n))
  assert order.dtype == np.int32
  np.testing.assert_array_equal(np.sort(order), np.arange(n))


@pytest.mark.parametrize("n", [6, 4096])
def test_every_index_lands_anywhere_with_equal_probability(n):
  draws = 20_000 if n < 100 else 300
  orders = np.asarray(jax.jit(jax.vmap(lambda k: permutation(k, n)))(
      jax.random.split(jax.random.key(1), draws)))
  if n < 100:   # chi-square over all index x position cells; 99.99% quantile ~ 68 (25 dof)
    counts = np.stack([(orders == i).sum(0) for i in range(n)])
    expected = draws / n
    assert ((counts - expected) ** 2 / expected).sum() < 68
  else:         # the first index: its position is uniform over the 4096 (mean, spread)
    position = np.argmax(orders == 0, axis=1)
    assert abs(position.mean() - (n - 1) / 2) < 4 * n / np.sqrt(12 * draws)
    assert len(np.unique(orders[:, 0])) > draws * 0.9
