"""`random_legal_actions`: always legal, uniform over the legal actions, on both code paths."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxplay


@pytest.mark.parametrize("num_actions", [9, 121])  # bit-packed path and column-loop path
def test_random_legal_actions_are_legal_and_uniform(num_actions):
  mask = np.zeros((40000, num_actions), bool)
  legal = [0, 2, 3, num_actions - 1]
  mask[:, legal] = True
  actions = np.asarray(jaxplay.random_legal_actions(jax.random.key(0), jnp.asarray(mask)))
  counts = np.bincount(actions, minlength=num_actions)
  assert counts.sum() == counts[legal].sum()  # nothing illegal
  np.testing.assert_allclose(counts[legal] / len(actions), 0.25, atol=0.01)


def test_random_legal_actions_on_varied_masks_and_empty_rows():
  mask = jax.random.uniform(jax.random.key(1), (500, 3, 121)) > 0.7
  mask = mask.at[0, 0].set(False)
  actions = np.asarray(jaxplay.random_legal_actions(jax.random.key(2), mask))
  assert actions.shape == (500, 3)
  rows = np.asarray(mask).any(-1)
  chosen = np.take_along_axis(np.asarray(mask), actions[..., None], -1)[..., 0]
  assert chosen[rows].all()
  assert actions[0, 0] == 0  # a row without legal actions gives 0
