"""Elo ratings: recovery of known ratings from simulated games (draws included), symmetry, the
prior (an undefeated member stays finite), dead members, the anchor, the payoff-matrix view and
the errors of bad records."""

import math

import chex
import jax.numpy as jnp
import numpy as np
import pytest

from jaxplay.core.errors import ConfigError
from jaxplay.eval.elo import elo_from_payoff, elo_ratings, expected_score

TRUE = np.array([0.0, 200.0, 400.0, 800.0])


def simulated_record(ratings, games_per_pair, seed=0):
  """(wins, games) of `games_per_pair` games between every two members, each a win, draw or
  loss with expected score `expected_score(r_i, r_j)` and a draw rate of half the smaller of
  the two sides' scores; recorded from both sides as the population records it."""
  rng = np.random.default_rng(seed)
  n = len(ratings)
  wins, games = np.zeros((n, n)), np.zeros((n, n))
  for i in range(n):
    for j in range(i + 1, n):
      e = expected_score(ratings[i], ratings[j])
      draw = 0.5 * min(e, 1.0 - e)
      won, drawn, lost = rng.multinomial(games_per_pair, [e - draw / 2, draw, 1.0 - e - draw / 2])
      wins[i, j], wins[j, i] = won + drawn / 2, lost + drawn / 2
      games[i, j] = games[j, i] = games_per_pair
  return wins, games


def test_expected_score():
  np.testing.assert_allclose(expected_score(400.0, 0.0), 10 / 11)
  np.testing.assert_allclose(expected_score(0.0, 0.0), 0.5)
  np.testing.assert_allclose(expected_score([0.0, 800.0], 0.0), [0.5, 100 / 101])
  np.testing.assert_allclose(expected_score(0.0, 100.0, scale=100.0), 1 / 11)
  out = expected_score(jnp.array([0.0, 400.0]), jnp.array(0.0))
  chex.assert_trees_all_close(out, jnp.array([0.5, 10 / 11]), rtol=1e-6)
  assert math.isnan(expected_score(np.nan, 0.0))


def test_recovers_known_ratings_with_draws():
  wins, games = simulated_record(TRUE, 20_000)
  ratings = elo_ratings(wins, games, np.ones(4, bool), anchor=0.0)
  chex.assert_shape(ratings, (4,))
  np.testing.assert_allclose(ratings, TRUE - TRUE.mean(), atol=20.0)


def test_exact_record_is_fitted_exactly():
  # Expected scores themselves as the record: the fit is exact up to the (tiny) prior.
  n = len(TRUE)
  games = np.full((n, n), 1e6)
  wins = games * expected_score(TRUE[:, None], TRUE[None, :])
  ratings = elo_ratings(wins, games, np.ones(n, bool))
  np.testing.assert_allclose(ratings - ratings.mean(), TRUE - TRUE.mean(), atol=0.01)


def test_symmetric_results_give_equal_ratings():
  games = np.full((5, 5), 10.0)
  ratings = elo_ratings(games / 2, games, np.ones(5, bool))
  np.testing.assert_allclose(ratings, 1000.0, atol=1e-9)
  # Rock-paper-scissors: each beats the next; also equal.
  wins = 10.0 * np.array([[0, 1, 0], [0, 0, 1], [1, 0, 0]], float)
  ratings = elo_ratings(wins, np.full((3, 3), 10.0), np.ones(3, bool))
  np.testing.assert_allclose(ratings, 1000.0, atol=1e-9)


def test_undefeated_member_stays_finite_and_on_top():
  games = np.full((4, 4), 50.0)
  wins = games / 2                           # the others draw among themselves
  wins[0, 1:], wins[1:, 0] = 50.0, 0.0      # member 0 never loses
  ratings = elo_ratings(wins, games, np.ones(4, bool))
  assert np.isfinite(ratings).all()
  assert ratings[0] > ratings[1:].max() + 400.0
  np.testing.assert_allclose(ratings[1:], ratings[1], atol=1e-6)
  # More games: still finite, and further ahead.
  more = elo_ratings(10 * wins, 10 * games, np.ones(4, bool))
  assert np.isfinite(more).all() and more[0] - more[1] > ratings[0] - ratings[1]


def test_two_members_match_their_score():
  # With many games the fitted ratings reproduce the observed score (the ML property).
  games = np.array([[0.0, 1e5], [1e5, 0.0]])
  wins = np.array([[0.0, 7e4], [3e4, 0.0]])
  r = elo_ratings(wins, games, np.ones(2, bool))
  np.testing.assert_allclose(expected_score(r[0], r[1]), 0.7, atol=1e-4)


def test_dead_members_are_nan_and_ignored():
  wins, games = simulated_record(TRUE, 2_000)
  alone = elo_ratings(wins, games, np.ones(4, bool))
  big_w, big_g = np.full((6, 6), np.nan), np.full((6, 6), -1.0)   # garbage for the dead
  keep = [0, 2, 3, 5]
  big_w[np.ix_(keep, keep)], big_g[np.ix_(keep, keep)] = wins, games
  live = np.zeros(6, bool)
  live[keep] = True
  ratings = elo_ratings(big_w, big_g, live)
  assert np.isnan(ratings[[1, 4]]).all()
  np.testing.assert_allclose(ratings[keep], alone, atol=1e-9)
  assert np.isnan(elo_ratings(wins, games, np.zeros(4, bool))).all()


def test_anchor_is_the_mean_of_live_members():
  wins, games = simulated_record(TRUE, 500, seed=1)
  live = np.array([True, True, False, True])
  default = elo_ratings(wins, games, live)
  np.testing.assert_allclose(np.nanmean(default), 1000.0)
  shifted = elo_ratings(wins, games, live, anchor=-25.0)
  np.testing.assert_allclose(np.nanmean(shifted), -25.0)
  np.testing.assert_allclose(shifted[live] + 1025.0, default[live])
  # scale only stretches the differences
  half = elo_ratings(wins, games, live, scale=200.0)
  np.testing.assert_allclose(half[live] - 1000.0, (default[live] - 1000.0) / 2)


def test_live_member_without_games_is_finite():
  games = np.zeros((3, 3))
  games[0, 1] = games[1, 0] = 10.0
  wins = np.zeros((3, 3))
  wins[0, 1] = 10.0
  ratings = elo_ratings(wins, games, np.ones(3, bool))
  assert np.isfinite(ratings).all() and ratings[0] > ratings[2] > ratings[1]


def test_elo_from_payoff_maps_returns_to_scores():
  wins, games = simulated_record(TRUE, 1_000, seed=2)
  payoff = 2.0 * wins / np.maximum(games, 1.0) - 1.0   # +1 / 0 / -1 mean returns
  counts = games.astype(np.float32)
  live = jnp.ones(4, bool)
  expected = elo_ratings(wins, games, np.ones(4, bool))
  got = elo_from_payoff(jnp.asarray(payoff, jnp.float32), jnp.asarray(counts), live)
  np.testing.assert_allclose(got, expected, atol=1e-2)   # float32 payoff
  kuhn = elo_from_payoff(2.0 * payoff, counts, live, return_range=(-2, 2))
  np.testing.assert_allclose(kuhn, got, atol=1e-6)
  # Returns outside the range are clipped, NaN payoff of a dead member ignored.
  payoff5 = np.pad(payoff, ((0, 1), (0, 1)), constant_values=np.nan)
  counts5 = np.pad(counts, ((0, 1), (0, 1)))
  live5 = np.array([True] * 4 + [False])
  out = elo_from_payoff(payoff5 * 3.0, counts5, live5)
  assert np.isnan(out[4]) and np.isfinite(out[:4]).all()


@pytest.mark.parametrize("wins, games, live, match", [
    (np.zeros((3, 2)), np.zeros((3, 2)), np.ones(3, bool), "square"),
    (np.zeros(3), np.zeros(3), np.ones(3, bool), "square"),
    (np.zeros((3, 3)), np.zeros((4, 4)), np.ones(3, bool), "agree in N"),
    (np.zeros((3, 3)), np.zeros((3, 3)), np.ones(4, bool), "agree in N"),
    (np.zeros((3, 3)), np.zeros((3, 3)), np.ones(3), "bool"),
    (np.full((3, 3), 2.0), np.ones((3, 3)), np.ones(3, bool), r"\[0, games\]"),
    (np.zeros((3, 3)), -np.ones((3, 3)), np.ones(3, bool), ">= 0"),
    (np.full((3, 3), np.nan), np.ones((3, 3)), np.ones(3, bool), "finite"),
])
def test_bad_records_raise_one_clear_error(wins, games, live, match):
  with pytest.raises(ConfigError, match=match):
    elo_ratings(wins, games, live)


@pytest.mark.parametrize("options, match", [
    ({"scale": 0.0}, "scale"), ({"prior_games": 0}, "prior_games"),
    ({"anchor": float("inf")}, "anchor"), ({"return_range": (1, -1)}, "return_range"),
    ({"return_range": (0,)}, "return_range"),
])
def test_bad_options_raise(options, match):
  with pytest.raises(ConfigError, match=match):
    elo_from_payoff(np.zeros((2, 2)), np.ones((2, 2)), np.ones(2, bool), **options)
