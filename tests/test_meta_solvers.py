"""Meta-game solvers on games with known equilibria: rock-paper-scissors (plain and biased),
matching pennies (plain and biased), dominant strategies, a general-sum game with a pure Nash;
live masks (dead members get 0 and change nothing); NashConv against a NumPy reference; PRD
against OpenSpiel's; jit and determinism.

Most games are padded to 4 x 4 with dead members whose entries are NaN, so that the solvers
compile once for the whole file and every test also checks the masking."""

import functools

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxplay.eval import meta_solvers as ms

SIZE = 4
ITERATIONS = 1000
TOLERANCE = 1e-3

nash = jax.jit(ms.nash, static_argnames=("iterations", "predictive"))
zero_sum_nash = jax.jit(ms.zero_sum_nash, static_argnames=("iterations", "predictive"))
symmetric_nash = jax.jit(ms.symmetric_nash, static_argnames=("iterations", "predictive"))
prd = jax.jit(ms.projected_replicator_dynamics,
              static_argnames=("iterations", "dt", "gamma", "average_last"))
symmetric_prd = jax.jit(ms.symmetric_projected_replicator_dynamics,
                        static_argnames=("iterations", "dt", "gamma", "average_last"))
players_prd = jax.jit(ms.players_projected_replicator_dynamics,
                      static_argnames=("iterations", "dt", "gamma", "average_last"))

RPS = np.array([[0, -1, 1], [1, 0, -1], [-1, 1, 0]], np.float32)
# Biased RPS: rock beats scissors by 2. A symmetric zero-sum game; its Nash x makes every pure
# strategy worth 0 against x: R: -p + 2s = 0, P: r - s = 0, S: -2r + p = 0, so r = s, p = 2r
# and r + 2r + r = 1: x = (1/4, 1/2, 1/4) for both players.
BIASED_RPS = np.array([[0, -1, 2], [1, 0, -1], [-2, 1, 0]], np.float32)
BIASED_RPS_NASH = np.array([0.25, 0.5, 0.25])
PENNIES = np.array([[1, -1], [-1, 1]], np.float32)
# Biased pennies: the column player mixes y on column 0 so that both rows are worth the same,
# 2y - (1 - y) = -y + (1 - y): y = 2/5; the row player's x on row 0 likewise makes both
# columns worth the same to the column player (payoff -A): -2x + (1 - x) = x - (1 - x): x = 2/5.
BIASED_PENNIES = np.array([[2, -1], [-1, 1]], np.float32)


def pad(payoff, fill=np.nan):
  """float32[SIZE, SIZE]: `payoff` in the top-left corner, `fill` elsewhere."""
  out = np.full((SIZE, SIZE), fill, np.float32)
  out[:payoff.shape[0], :payoff.shape[1]] = payoff
  return out


def live(n):
  return np.arange(SIZE) < n


def padded(x, n):
  """float[SIZE]: x followed by zeros."""
  return np.concatenate([np.asarray(x, np.float64), np.zeros(SIZE - n)])


def reference_nash_conv(row_payoff, col_payoff, row, col):
  """NumPy NashConv of (row, col) on the (unpadded) game."""
  a, b = np.asarray(row_payoff, np.float64), np.asarray(col_payoff, np.float64)
  row, col = np.asarray(row, np.float64), np.asarray(col, np.float64)
  return (np.max(a @ col) - row @ a @ col) + (np.max(row @ b) - row @ b @ col)


def test_uniform_puts_equal_mass_on_live_members_only():
  probs = ms.uniform(np.array([True, False, True, True]))
  chex.assert_type(probs, jnp.float32)
  np.testing.assert_allclose(probs, [1 / 3, 0, 1 / 3, 1 / 3], rtol=1e-6)
  np.testing.assert_array_equal(ms.uniform(np.zeros(3, bool)), np.zeros(3))


def test_nash_conv_of_pure_rock_in_rps_is_two():
  # Each player gains 1 by switching from rock to paper.
  rock = np.array([1.0, 0, 0])
  np.testing.assert_allclose(ms.nash_conv(RPS, -RPS, rock, rock, np.ones(3, bool),
                                          np.ones(3, bool)), 2.0)
  np.testing.assert_allclose(ms.symmetric_nash_conv(RPS, rock, np.ones(3, bool)), 2.0)
  uniform = np.full(3, 1 / 3)
  assert abs(float(ms.nash_conv(RPS, -RPS, uniform, uniform, np.ones(3, bool),
                                np.ones(3, bool)))) < 1e-6


# RPS with a 4th strategy that beats everything: dominant if live, ignored if not.
RPS_DOMINATED = pad(RPS)
RPS_DOMINATED[3, :3], RPS_DOMINATED[:3, 3], RPS_DOMINATED[3, 3] = 1.0, -1.0, 0.0


def test_rps_goes_to_uniform_and_a_dead_dominant_strategy_changes_nothing():
  three = live(3)
  result = zero_sum_nash(RPS_DOMINATED, three, three, iterations=ITERATIONS)
  chex.assert_shape([result.row, result.col], (SIZE,))
  chex.assert_type([result.row, result.col, result.nash_conv], jnp.float32)
  for strategy in (result.row, result.col):
    np.testing.assert_allclose(strategy, padded(np.full(3, 1 / 3), 3), atol=TOLERANCE)
    assert strategy[3] == 0.0
  assert 0 <= result.nash_conv < TOLERANCE
  symmetric = symmetric_nash(RPS_DOMINATED, three, iterations=ITERATIONS)
  np.testing.assert_allclose(symmetric.strategy, padded(np.full(3, 1 / 3), 3), atol=TOLERANCE)
  assert symmetric.strategy[3] == 0.0 and symmetric.nash_conv < TOLERANCE


def test_a_live_dominant_strategy_takes_all_the_mass():
  everyone = live(4)
  result = zero_sum_nash(RPS_DOMINATED, everyone, everyone, iterations=ITERATIONS)
  np.testing.assert_allclose(result.row, [0, 0, 0, 1], atol=TOLERANCE)
  np.testing.assert_allclose(result.col, [0, 0, 0, 1], atol=TOLERANCE)
  assert result.nash_conv < TOLERANCE
  symmetric = symmetric_nash(RPS_DOMINATED, everyone, iterations=ITERATIONS)
  np.testing.assert_allclose(symmetric.strategy, [0, 0, 0, 1], atol=TOLERANCE)


@pytest.mark.parametrize("payoff, row, col", [
    (PENNIES, [0.5, 0.5], [0.5, 0.5]),
    (BIASED_PENNIES, [0.4, 0.6], [0.4, 0.6]),
    (BIASED_RPS, BIASED_RPS_NASH, BIASED_RPS_NASH),
], ids=["pennies", "biased_pennies", "biased_rps"])
def test_zero_sum_mixed_equilibria(payoff, row, col):
  n, m = payoff.shape
  result = zero_sum_nash(pad(payoff), live(n), live(m), iterations=ITERATIONS)
  np.testing.assert_allclose(result.row, padded(row, n), atol=TOLERANCE)
  np.testing.assert_allclose(result.col, padded(col, m), atol=TOLERANCE)
  assert result.nash_conv < TOLERANCE
  np.testing.assert_allclose(
      result.nash_conv, reference_nash_conv(payoff, -payoff, result.row[:n], result.col[:m]),
      atol=1e-6)


def test_symmetric_nash_of_biased_rps():
  result = symmetric_nash(pad(BIASED_RPS), live(3), iterations=ITERATIONS)
  np.testing.assert_allclose(result.strategy, padded(BIASED_RPS_NASH, 3), atol=TOLERANCE)
  assert 0 <= result.nash_conv < 3 * TOLERANCE     # self-play: ~2e-3 at 1000 iterations
  x = np.asarray(result.strategy[:3], np.float64)
  np.testing.assert_allclose(result.nash_conv, 2 * np.max(BIASED_RPS @ x), atol=1e-6)


def test_plain_regret_matching_plus_converges_too():
  result = nash(pad(BIASED_RPS), pad(-BIASED_RPS), live(3), live(3), iterations=ITERATIONS,
                predictive=False)
  np.testing.assert_allclose(result.row, padded(BIASED_RPS_NASH, 3), atol=2 * TOLERANCE)
  assert result.nash_conv < 5 * TOLERANCE


@pytest.mark.parametrize("row_payoff, col_payoff, row, col", [
    # Prisoner's dilemma: defecting (1) is dominant for both.
    ([[3, 0], [5, 1]], [[3, 5], [0, 1]], [0, 1], [0, 1]),
    # Row 1 dominates for the row player; against it the column player prefers column 0.
    ([[1, 0], [2, 3]], [[0, 1], [1, 0]], [0, 1], [1, 0]),
], ids=["prisoners_dilemma", "iterated_dominance"])
def test_general_sum_pure_equilibrium(row_payoff, col_payoff, row, col):
  a, b = np.array(row_payoff, np.float32), np.array(col_payoff, np.float32)
  result = nash(pad(a), pad(b), live(2), live(2), iterations=ITERATIONS)
  np.testing.assert_allclose(result.row, padded(row, 2), atol=TOLERANCE)
  np.testing.assert_allclose(result.col, padded(col, 2), atol=TOLERANCE)
  assert result.nash_conv < TOLERANCE


def test_random_zero_sum_games_with_dead_members():
  rng = np.random.default_rng(0)
  for n, m in [(4, 4), (3, 2), (1, 4)]:
    payoff = rng.normal(size=(n, m)).astype(np.float32)
    live_row, live_col = np.zeros(SIZE, bool), np.zeros(SIZE, bool)
    live_row[rng.choice(SIZE, n, replace=False)] = True
    live_col[rng.choice(SIZE, m, replace=False)] = True
    full = np.full((SIZE, SIZE), 1e3, np.float32)    # dead entries: big numbers, not NaN
    full[np.ix_(live_row, live_col)] = payoff
    result = zero_sum_nash(full, live_row, live_col, iterations=ITERATIONS)
    np.testing.assert_array_equal(result.row[~live_row], 0.0)
    np.testing.assert_array_equal(result.col[~live_col], 0.0)
    np.testing.assert_allclose([result.row.sum(), result.col.sum()], 1.0, rtol=1e-6)
    expected = reference_nash_conv(payoff, -payoff, result.row[live_row], result.col[live_col])
    np.testing.assert_allclose(result.nash_conv, expected, atol=1e-6)
    assert result.nash_conv < TOLERANCE


def test_dead_members_do_not_change_the_answer():
  # The 3 x 3 game alone and padded with a dead member: the same strategies.
  alone = jax.jit(ms.zero_sum_nash, static_argnames="iterations")(
      BIASED_RPS, np.ones(3, bool), np.ones(3, bool), iterations=ITERATIONS)
  with_dead = zero_sum_nash(pad(BIASED_RPS, fill=5.0), live(3), live(3), iterations=ITERATIONS)
  np.testing.assert_allclose(with_dead.row[:3], alone.row, atol=1e-6)
  np.testing.assert_allclose(with_dead.col[:3], alone.col, atol=1e-6)


def test_projected_replicator_dynamics_approaches_the_equilibrium():
  result = prd(pad(BIASED_RPS), pad(-BIASED_RPS), live(3), live(3), iterations=20_000, dt=1e-2)
  np.testing.assert_allclose(result.row, padded(BIASED_RPS_NASH, 3), atol=1e-2)
  assert result.row[3] == 0.0 and result.nash_conv < 2e-2
  symmetric = symmetric_prd(pad(BIASED_RPS), live(3), iterations=20_000, dt=1e-2)
  np.testing.assert_allclose(symmetric.strategy, result.row, atol=1e-5)


def test_projected_replicator_dynamics_matches_openspiel():
  openspiel_prd = pytest.importorskip(
      "open_spiel.python.algorithms.projected_replicator_dynamics")
  rng = np.random.default_rng(1)
  a, b = rng.normal(size=(2, 4, 3))
  live_col = np.array([False, True, True, True])            # column 0 dead, rows all live
  a_pad, b_pad = np.full((2, SIZE, SIZE), np.nan)
  a_pad[:, 1:], b_pad[:, 1:] = a, b
  for iterations, dt, gamma, last in [(200, 0.05, 0.01, None), (300, 0.1, 1e-3, 50)]:
    expected = openspiel_prd.projected_replicator_dynamics(
        [a, b], prd_iterations=iterations, prd_dt=dt, prd_gamma=gamma,
        average_over_last_n_strategies=last)
    result = prd(a_pad, b_pad, live(4), live_col, iterations=iterations, dt=dt, gamma=gamma,
                 average_last=last)
    np.testing.assert_allclose(result.row, expected[0], atol=1e-5)
    np.testing.assert_allclose(result.col, np.concatenate([[0], expected[1]]), atol=1e-5)


def test_players_prd_with_two_players_is_the_two_player_prd():
  rng = np.random.default_rng(2)
  a, b = rng.normal(size=(2, SIZE, SIZE)).astype(np.float32)
  a[3], b[:, 0] = np.nan, np.nan                      # row 3 and column 0 dead
  live_row, live_col = live(3), np.array([False, True, True, True])
  expected = prd(a, b, live_row, live_col, iterations=300, dt=0.05, gamma=0.01)
  result = players_prd(np.stack([a, b], -1), np.stack([live_row, live_col]), iterations=300,
                       dt=0.05, gamma=0.01)
  np.testing.assert_allclose(result.strategies, np.stack([expected.row, expected.col]),
                             atol=1e-6)
  np.testing.assert_allclose(result.nash_conv, expected.nash_conv, atol=1e-6)


def test_players_prd_matches_openspiel_with_three_players():
  openspiel_prd = pytest.importorskip(
      "open_spiel.python.algorithms.projected_replicator_dynamics")
  rng = np.random.default_rng(3)
  tensors = rng.normal(size=(3, 3, 3, 3))            # [player, i_0, i_1, i_2]
  padded_payoff = np.full((SIZE,) * 3 + (3,), np.nan)
  padded_payoff[:3, :3, :3] = np.moveaxis(tensors, 0, -1)
  for iterations, dt, gamma, last in [(200, 0.05, 0.01, None), (300, 0.1, 1e-3, 50)]:
    expected = openspiel_prd.projected_replicator_dynamics(
        list(tensors), prd_iterations=iterations, prd_dt=dt, prd_gamma=gamma,
        average_over_last_n_strategies=last)
    result = players_prd(padded_payoff, np.stack([live(3)] * 3), iterations=iterations,
                         dt=dt, gamma=gamma, average_last=last)
    np.testing.assert_allclose(result.strategies, [padded(e, 3) for e in expected], atol=1e-5)


def test_players_nash_conv_by_hand_and_a_dominant_profile():
  # Three players, two members each; every player gets 1 for member 0, 0 for member 1,
  # whatever the others do: (0, 0, 0) is the only equilibrium.
  payoff = np.zeros((2, 2, 2, 3), np.float32)
  for p in range(3):
    index = [slice(None)] * 3
    index[p] = 0
    payoff[tuple(index) + (p,)] = 1.0
  everyone = np.ones((3, 2), bool)
  uniform_profile = np.full((3, 2), 0.5)
  np.testing.assert_allclose(ms.players_nash_conv(payoff, uniform_profile, everyone), 1.5)
  result = players_prd(payoff, everyone, iterations=2000, dt=0.05, gamma=1e-6)
  np.testing.assert_array_less(result.nash_conv, 0.05)
  assert (result.strategies[:, 0] > 0.95).all()
  with pytest.raises(ValueError, match="payoff of shape"):
    ms.players_nash_conv(payoff[..., :2], uniform_profile, everyone)


def test_jit_is_deterministic_and_matches_eager():
  args = (pad(BIASED_RPS), live(3), live(3))
  first = zero_sum_nash(*args, iterations=ITERATIONS)
  second = zero_sum_nash(*args, iterations=ITERATIONS)
  chex.assert_trees_all_equal(first, second)
  eager = ms.zero_sum_nash(*args, iterations=ITERATIONS)
  chex.assert_trees_all_close(first, eager, atol=1e-6)
  # One compiled solver serves every live mask.
  zero_sum_nash(pad(BIASED_RPS), live(2), live(3), iterations=ITERATIONS)
  before = zero_sum_nash._cache_size()
  zero_sum_nash(pad(BIASED_RPS), live(1), live(2), iterations=ITERATIONS)
  assert zero_sum_nash._cache_size() == before


def test_solvers_run_under_vmap():
  payoffs = np.stack([pad(RPS), pad(BIASED_RPS)])
  solve = jax.vmap(functools.partial(ms.symmetric_nash, iterations=200), in_axes=(0, None))
  result = solve(payoffs, live(3))
  chex.assert_shape(result.strategy, (2, SIZE))
  np.testing.assert_allclose(result.strategy[0], padded(np.full(3, 1 / 3), 3), atol=1e-6)
