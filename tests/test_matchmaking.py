"""Matchmakers: PFSP weights by hand, fictitious self-play's uniform draw, self-play maps,
seat placement, PSRO's meta-strategies, per-seat populations, live masks (dead members are
never drawn, and a changed mask does not recompile) and the errors of unknown names."""

import functools

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxplay.core.errors import ConfigError
from jaxplay.learn import matchmaking as mm

N = 5
GAMES = 3000


def matchmake_fn(**options):
  return jax.jit(functools.partial(mm.matchmake, num_games=GAMES, num_players=2, **options))


fictitious_games = matchmake_fn(scheme="fictitious")
self_play_games = matchmake_fn(scheme="self_play")

# Learner 0 scores (returns in [-1, 1]): +0.5 against 1 (p = 0.75), -0.5 against 2 (p = 0.25);
# it never met 3 (count 0: p = 0.5); 4 is dead.
PAYOFF = np.zeros((N, N), np.float32)
PAYOFF[0, 1:] = [0.5, -0.5, 0.9, -1.0]
PAYOFF[1:, 0] = -PAYOFF[0, 1:]
COUNTS = np.ones((N, N), np.float32)
COUNTS[0, 3] = COUNTS[3, 0] = 0.0
LIVE = np.array([True, True, True, True, False])


def test_pfsp_weights_by_hand():
  # hard, k = 2: (1 - p)^2 = 0.0625, 0.5625, 0.25 for members 1, 2, 3; total 0.875.
  hard = mm.pfsp(PAYOFF, COUNTS, LIVE, 0, weighting="hard", k=2)
  chex.assert_shape(hard, (N,))
  chex.assert_type(hard, jnp.float32)
  np.testing.assert_allclose(hard, [0, 1 / 14, 9 / 14, 4 / 14, 0], rtol=1e-6)
  # variance: p (1 - p) = 0.1875, 0.1875, 0.25; total 0.625.
  variance = mm.pfsp(PAYOFF, COUNTS, LIVE, 0, weighting="variance")
  np.testing.assert_allclose(variance, [0, 0.3, 0.3, 0.4, 0], rtol=1e-6)
  np.testing.assert_allclose(mm.win_probability(PAYOFF, COUNTS, 0), [0.5, 0.75, 0.25, 0.5, 0])


def test_pfsp_return_range_and_fallbacks():
  # Kuhn-like returns in [-2, 2]: +1 is p = 0.75; returns beyond the range clip.
  payoff = np.zeros((N, N), np.float32)
  payoff[0, 1:] = [1.0, 5.0, -2.0, 0.0]
  p = mm.win_probability(payoff, np.ones((N, N)), 0, return_range=(-2.0, 2.0))
  np.testing.assert_allclose(p, [0.5, 0.75, 1.0, 0.0, 0.5])
  # The learner beats every live opponent: hard weights all 0 -> uniform over them.
  always_wins = np.ones((N, N), np.float32)
  np.testing.assert_allclose(mm.pfsp(always_wins, np.ones((N, N)), LIVE, 0),
                             [0, 1 / 3, 1 / 3, 1 / 3, 0], rtol=1e-6)
  # The learner is the only live member: self-play.
  alone = np.array([False, False, True, False, False])
  for scheme in ("fictitious", "pfsp", "psro"):
    np.testing.assert_array_equal(
        mm.opponent_distribution(scheme, PAYOFF, COUNTS, alone, 2), [0, 0, 1, 0, 0])


def test_pfsp_per_seat_reads_the_learners_seat():
  # Per-seat: payoff[i, j] seat-0 member i against seat-1 member j. A seat-1 learner's return
  # against seat-0 member i is col_payoff[i, learner], by default -payoff[i, learner].
  payoff = np.zeros((N, N), np.float32)
  payoff[:, 2] = [0.5, -0.5, 0.0, 1.0, 1.0]         # seat-0 members against seat-1 member 2
  seat1 = mm.pfsp(payoff, np.ones((N, N)), LIVE, 2, learner_seat=1, k=2)
  # Candidates: seat-0 members 0, 1, 3 (4 is dead; 2 is seat 0's learner, trained in lockstep).
  weights = (1 - (1 - payoff[[0, 1, 3], 2]) / 2) ** 2   # p = (-payoff + 1) / 2
  np.testing.assert_allclose(np.asarray(seat1)[[0, 1, 3]], weights / weights.sum(), rtol=1e-6)
  assert seat1[4] == 0.0 and seat1[2] == 0.0
  swapped = mm.pfsp(payoff, np.ones((N, N)), LIVE, 2, learner_seat=1, k=2,
                    col_payoff=-payoff)
  np.testing.assert_allclose(swapped, seat1)
  # Per-seat live masks, one row per seat: seat 1's learner draws from seat 0's live members
  # but seat 0's learner.
  live = np.array([[True, False, True, True, True], [False, False, True, False, False]])
  dist = mm.fictitious(payoff, np.ones((N, N)), live, 2, learner_seat=1)
  np.testing.assert_allclose(dist, [1 / 3, 0, 0, 1 / 3, 1 / 3], rtol=1e-6)
  np.testing.assert_array_equal(mm.self_play(payoff, np.ones((N, N)), live, 2, learner_seat=1),
                                [0, 0, 1, 0, 0])


def test_self_play_puts_the_learner_in_every_seat():
  dist = mm.self_play(PAYOFF, COUNTS, LIVE, 3)
  np.testing.assert_array_equal(dist, [0, 0, 0, 1, 0])
  matches = self_play_games(jax.random.key(0), PAYOFF, COUNTS, LIVE, 3)
  chex.assert_shape(matches.members, (GAMES, 2))
  chex.assert_type(matches.members, jnp.int32)
  np.testing.assert_array_equal(matches.members, 3)


def test_fictitious_is_uniform_over_the_others_and_random_seats_are_even():
  matches = fictitious_games(jax.random.key(1), PAYOFF, COUNTS, LIVE, 0)
  np.testing.assert_allclose(matches.opponents, [0, 1 / 3, 1 / 3, 1 / 3, 0], rtol=1e-6)
  members = np.asarray(matches.members)
  learner_seat = members == 0
  np.testing.assert_array_equal(learner_seat.sum(1), 1)   # exactly one learner per game
  # Each seat about half the time: binomial(3000, 1/2), sd 27; 4 sd.
  assert abs(learner_seat[:, 0].sum() - GAMES / 2) < 4 * np.sqrt(GAMES / 4)
  # Opponents: uniform over 1, 2, 3 (chi-square, 2 dof; 99.99% quantile 18.4); never 4 (dead).
  opponents = members[~learner_seat]
  counts = np.bincount(opponents, minlength=N)
  assert counts[0] == 0 and counts[4] == 0
  expected = GAMES / 3
  assert ((counts[1:4] - expected) ** 2 / expected).sum() < 18.4


def test_dead_members_are_never_drawn():
  rng = np.random.default_rng(0)
  payoff = rng.uniform(-1, 1, (N, N)).astype(np.float32)
  live = np.array([True, False, True, False, True])
  for scheme, options in [("fictitious", {}), ("pfsp", {"weighting": "variance"}),
                          ("psro", {"meta_solver": "nash", "iterations": 200})]:
    matches = mm.matchmake(jax.random.key(2), payoff, np.ones((N, N)), live, 0, scheme=scheme,
                           num_games=500, num_players=3, **options)
    assert np.all(matches.opponents[~live] == 0.0)
    drawn = np.unique(np.asarray(matches.members))
    assert set(drawn) <= {0, 2, 4}, (scheme, drawn)


def test_seat_members_shapes_and_fixed_seats():
  opponents = jnp.array([0.0, 0.5, 0.5, 0.0, 0.0])
  members = mm.seat_members(jax.random.key(3), 0, opponents, 7, 3, learner_seat=2)
  chex.assert_shape(members, (7, 3))
  chex.assert_type(members, jnp.int32)
  np.testing.assert_array_equal(members[:, 2], 0)
  assert set(np.unique(members[:, :2])) <= {1, 2}
  chex.assert_trees_all_equal(
      members, mm.seat_members(jax.random.key(3), 0, opponents, 7, 3, learner_seat=2))
  # One distribution per seat: seat 0 draws only member 3, seat 2 only member 4.
  per_seat = np.zeros((3, N), np.float32)
  per_seat[0, 3], per_seat[1, 2], per_seat[2, 4] = 1.0, 1.0, 1.0
  members = np.asarray(mm.seat_members(jax.random.key(4), 1, per_seat, 200, 3))
  learner = members == 1
  np.testing.assert_array_equal(learner.sum(1), 1)
  np.testing.assert_array_equal(members[:, 0][~learner[:, 0]], 3)
  np.testing.assert_array_equal(members[:, 2][~learner[:, 2]], 4)
  # Three seats at random: each about a third of the games (binomial sd 6.7; 4 sd).
  assert np.all(np.abs(learner.sum(0) - 200 / 3) < 4 * np.sqrt(200 * 2 / 9))


def test_seat_population_ids():
  members = jnp.array([[0, 3], [2, 2]], jnp.int32)
  np.testing.assert_array_equal(mm.seat_population_ids(members, 4), [[0, 7], [2, 6]])
  # Per-seat matchmaking: the seat-0 learner's opponents are seat-1 slots 5..9, not its dead
  # member (9) and not its learner (6).
  matches = mm.matchmake(jax.random.key(5), PAYOFF, COUNTS, LIVE, 1, scheme="fictitious",
                         num_games=50, num_players=2, learner_seat=0)
  ids = np.asarray(mm.seat_population_ids(matches.members, N))
  np.testing.assert_array_equal(ids[:, 0], 1)
  assert set(np.unique(ids[:, 1])) == {5, 7, 8}


RPS = np.array([[0, -1, 1], [1, 0, -1], [-1, 1, 0]], np.float32)
BIASED_RPS = np.array([[0, -1, 2], [1, 0, -1], [-2, 1, 0]], np.float32)   # Nash (1/4, 1/2, 1/4)


def population(game):
  """A 5-slot population: members 0..2 play `game`, 3 is the learner (nothing played yet),
  4 is dead."""
  payoff = np.zeros((N, N), np.float32)
  payoff[:3, :3] = game
  counts = np.zeros((N, N), np.float32)
  counts[:3, :3] = 10.0
  return payoff, counts, np.array([True, True, True, True, False])


@pytest.mark.parametrize("game, expected", [(RPS, [1 / 3] * 3), (BIASED_RPS, [0.25, 0.5, 0.25])],
                         ids=["rps", "biased_rps"])
def test_psro_nash_meta_strategy(game, expected):
  payoff, counts, live = population(game)
  shared = mm.psro(payoff, counts, live, 3, meta_solver="nash")
  np.testing.assert_allclose(shared, expected + [0, 0], atol=3e-3)
  # Per-seat: seat-0 members 0..2 against seat-1 members 0..2 (zero-sum); the seat-0 learner
  # (member 3) plays against seat 1's Nash strategy (seat 1's member 3 is its learner).
  per_seat = mm.psro(payoff, counts, live, 3, meta_solver="nash", learner_seat=0)
  np.testing.assert_allclose(per_seat, expected + [0, 0], atol=1e-3)
  uniform = mm.psro(payoff, counts, live, 3, meta_solver="uniform")
  np.testing.assert_allclose(uniform, [1 / 3, 1 / 3, 1 / 3, 0, 0], rtol=1e-6)


def test_psro_prd_meta_strategy():
  payoff, counts, live = population(BIASED_RPS)
  dist = mm.psro(payoff, counts, live, 3, meta_solver="prd", iterations=20_000, dt=1e-2)
  np.testing.assert_allclose(dist, [0.25, 0.5, 0.25, 0, 0], atol=1e-2)


def test_a_changed_live_mask_or_learner_does_not_recompile():
  games = matchmake_fn(scheme="psro", meta_solver="nash", iterations=100)
  payoff, counts, live = population(BIASED_RPS)
  games(jax.random.key(0), payoff, counts, live, jnp.int32(3))
  size = games._cache_size()
  grown = live.copy()
  grown[4] = True
  games(jax.random.key(1), payoff, counts, grown, jnp.int32(4))
  games(jax.random.key(2), payoff + 0.1, counts, np.array([1, 0, 1, 1, 0], bool), jnp.int32(0))
  assert games._cache_size() == size == 1


def test_unknown_names_raise_config_errors():
  args = (PAYOFF, COUNTS, LIVE, 0)
  with pytest.raises(ConfigError, match="'self_play', 'fictitious', 'pfsp', 'psro'"):
    mm.opponent_distribution("league", *args)
  with pytest.raises(ConfigError, match="'uniform', 'nash', 'prd'"):
    mm.psro(*args, meta_solver="alpha_rank")
  with pytest.raises(ConfigError, match="'hard', 'variance'"):
    mm.pfsp(*args, weighting="easy")
  with pytest.raises(ConfigError, match="iterations, predictive"):
    mm.psro(*args, meta_solver="nash", dt=0.1)
  with pytest.raises(ConfigError, match="return_range"):
    mm.pfsp(*args, return_range=(1.0, -1.0))
  with pytest.raises(ConfigError, match="learner_seat"):
    mm.fictitious(*args, learner_seat=2)
  with pytest.raises(ConfigError, match="num_players = 2"):
    mm.matchmake(jax.random.key(0), *args, scheme="fictitious", num_games=4, num_players=3,
                 learner_seat=0)
  with pytest.raises(ConfigError, match="takes no options"):
    mm.opponent_distribution("fictitious", *args, k=2)


def test_distribution_spread_by_hand():
  """The learner's share, exp of the entropy of the rest renormalized, and a pool's share."""
  pool = jnp.array([False, True, False, False])
  spread = mm.distribution_spread(jnp.array([0.5, 0.25, 0.25, 0.0]), jnp.int32(0), pool)
  chex.assert_trees_all_close(spread, {"self_play_share": 0.5, "effective_partners": 2.0,
                                       "pool_share": 0.25}, rtol=1e-6)
  # (0.5, 0.25, 0.25) over the others: entropy 1.5 ln 2, so 2 ** 1.5 members' worth.
  leaning = mm.distribution_spread(jnp.array([0.5, 0.0, 0.25, 0.25]), jnp.int32(1))
  assert set(leaning) == {"self_play_share", "effective_partners"}   # no pool given
  np.testing.assert_allclose(leaning["effective_partners"], 2 ** 1.5, rtol=1e-6)
  assert leaning["self_play_share"] == 0.0
  alone = mm.distribution_spread(jnp.array([1.0, 0.0, 0.0]), jnp.int32(0))
  assert alone["self_play_share"] == 1.0 and alone["effective_partners"] == 0.0
