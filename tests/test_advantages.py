"""Advantage estimators on hand-computed examples: per-seat GAE (turn-based and simultaneous,
with truncation bootstraps), Monte-Carlo returns, RAE and its role baseline."""

import chex
import jax.numpy as jnp
import numpy as np
import pytest

from jaxplay.learn import advantages as adv


def reference_gae(reward, value, done, last_value, gamma, lam):
  """The textbook per-agent GAE loop (every agent acts every step): [T, B, P]."""
  advantage = np.zeros_like(reward)
  next_value, next_advantage = last_value, np.zeros_like(last_value)
  for t in reversed(range(len(reward))):
    live = 1.0 - done[t][:, None]
    delta = reward[t] + gamma * live * next_value - value[t]
    next_advantage = delta + gamma * lam * live * next_advantage
    next_value = value[t]
    advantage[t] = next_advantage
  return advantage


def test_simultaneous_seat_gae_is_textbook_gae():
  rng = np.random.default_rng(0)
  steps, games, seats = 7, 3, 2
  reward = rng.normal(size=(steps, games, seats)).astype(np.float32)
  value = rng.normal(size=(steps, games, seats)).astype(np.float32)
  done = rng.random((steps, games)) < 0.3
  last_value = rng.normal(size=(games, seats)).astype(np.float32)
  seat = np.broadcast_to(np.arange(seats), (steps, games, seats))
  advantage, target, valid = adv.seat_gae(
      reward, done, seat, np.ones((steps, games, seats), bool), value,
      np.zeros_like(reward), last_value, np.ones((games, seats), bool), 0.9, 0.8)
  expected = reference_gae(reward, value, done, last_value, 0.9, 0.8)
  np.testing.assert_allclose(advantage, expected, rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(target, expected + value, rtol=1e-5, atol=1e-5)
  assert np.all(valid)


# One game of a turn-based 2-player game, then the first move of the next: seat 0 moves at
# t = 0 and 2, seat 1 at t = 1; the game ends at t = 2 paying [+1, -1]; seat 1 opens the next
# game at t = 3 (the rollout ends before it finishes).
TURN_SEAT = np.array([0, 1, 0, 1]).reshape(4, 1, 1)
TURN_VALUE = np.array([0.1, 0.2, 0.3, 0.4], np.float32).reshape(4, 1, 1)
TURN_REWARD = np.array([[0, 0], [0, 0], [1, -1], [0, 0]], np.float32).reshape(4, 1, 2)
TURN_DONE = np.array([False, False, True, False]).reshape(4, 1)


def turn_based(lam, last_decides=(False, False), last_value=(0.0, 0.0)):
  return adv.seat_gae(TURN_REWARD, TURN_DONE, TURN_SEAT, np.ones((4, 1, 1), bool), TURN_VALUE,
                      np.zeros_like(TURN_REWARD), np.array([last_value], np.float32),
                      np.array([last_decides]), 1.0, lam)


def test_turn_based_chains_follow_each_seats_own_decisions():
  advantage, target, valid = turn_based(lam=0.0)
  # lambda 0: seat 0's first decision bootstraps from its own next decision (t = 2), not from
  # seat 1's value at t = 1.
  np.testing.assert_allclose(advantage[:3, 0, 0], [0.3 - 0.1, -1.0 - 0.2, 1.0 - 0.3], atol=1e-6)
  np.testing.assert_allclose(target[:3, 0, 0], [0.3, -1.0, 1.0], atol=1e-6)
  # t = 3: the next game is cut by the rollout and seat 1 does not act after it: no target.
  np.testing.assert_array_equal(valid[:, 0, 0], [True, True, True, False])


def test_turn_based_lambda_one_is_the_monte_carlo_return():
  advantage, target, _ = turn_based(lam=1.0)
  np.testing.assert_allclose(target[:3, 0, 0], [1.0, -1.0, 1.0], atol=1e-6)
  np.testing.assert_allclose(advantage[:3, 0, 0], [0.9, -1.2, 0.7], atol=1e-6)


def test_a_cut_chain_is_valid_when_its_seat_acts_after_the_rollout():
  _, target, valid = turn_based(lam=0.0, last_decides=(True, False), last_value=(5.0, 0.0))
  assert not valid[3, 0, 0]  # seat 1 does not act after the rollout
  _, target, valid = turn_based(lam=0.0, last_decides=(False, True), last_value=(0.0, 5.0))
  assert valid[3, 0, 0] and target[3, 0, 0] == pytest.approx(5.0)


def test_truncation_bootstraps_from_the_cut_observation():
  # One seat, two steps; the first game is cut by a time limit at t = 0 (value there 2.0).
  reward = np.array([[[1.0]], [[0.5]]], np.float32)
  done = np.array([[True], [False]])
  bootstrap = np.array([[[2.0]], [[0.0]]], np.float32)
  value = np.array([[[0.25]], [[0.5]]], np.float32)
  advantage, _, valid = adv.seat_gae(reward, done, np.zeros((2, 1, 1), np.int32),
                                     np.ones((2, 1, 1), bool), value, bootstrap,
                                     np.array([[3.0]], np.float32), np.array([[True]]), 0.5, 1.0)
  np.testing.assert_allclose(advantage[:, 0, 0], [1.0 + 0.5 * 2.0 - 0.25, 0.5 + 0.5 * 3.0 - 0.5])
  assert valid.all()


def test_monte_carlo_returns_and_rae():
  returns, complete = adv.monte_carlo_returns(TURN_REWARD, TURN_DONE, TURN_SEAT,
                                              np.ones((4, 1, 1), bool))
  np.testing.assert_allclose(returns[:3, 0, 0], [1.0, -1.0, 1.0])
  np.testing.assert_array_equal(complete[:, 0, 0], [True, True, True, False])
  baseline = jnp.array([0.25, -0.5])
  rae = adv.rae_advantages(returns, complete, jnp.asarray(TURN_SEAT), baseline)
  np.testing.assert_allclose(rae[:, 0, 0], [0.75, -0.5, 0.75, 0.0])


def test_role_baseline_is_an_exponential_moving_average_per_role():
  returns = jnp.array([1.0, -1.0, 3.0, 7.0]).reshape(4, 1, 1)
  complete = jnp.array([True, True, True, False]).reshape(4, 1, 1)
  seat = jnp.array([0, 1, 0, 1]).reshape(4, 1, 1)
  baseline = adv.update_role_baseline(jnp.array([0.5, 0.5, 9.0]), returns, complete, seat, 0.95)
  # Role 0: mean of 1 and 3; role 1: -1 (the incomplete 7 is left out); role 2: no samples.
  chex.assert_trees_all_close(baseline, jnp.array([0.95 * 0.5 + 0.05 * 2.0,
                                                   0.95 * 0.5 + 0.05 * -1.0, 9.0]))
