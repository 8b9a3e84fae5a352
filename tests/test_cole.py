"""COLE's pieces (jaxplay.learn.cole) and the matchmaking scheme "cole": the characteristic
function and the exact Shapley value against a NumPy transcription of COLE's algorithm
(networkx's PageRank, every order of the members), values known by hand (a constant game, a
star, a member that coordinates with no one), the Monte-Carlo estimate against the exact
value, dead members, no recompiles, the partner priority and its uniform share, the admission
test, the join slot and the option errors."""

import functools
import itertools

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxplay.core.errors import ConfigError
from jaxplay.learn import cole
from jaxplay.learn import matchmaking as mm

exact = jax.jit(cole.exact_shapley, static_argnames=("clip_marginals",))
sampled = jax.jit(cole.graphic_shapley, static_argnums=3,
                  static_argnames=("clip_marginals",))

# A 5-slot population, slot 3 dead: random common-payoff returns in [0, 1] with a few 0s.
RANDOM = np.random.default_rng(0).uniform(0.0, 1.0, (5, 5)).astype(np.float32)
RANDOM[0, 2] = RANDOM[4, 1] = 0.0
LIVE = np.array([True, True, True, False, True])

# Member 3 coordinates with no one (all its returns 0); 0, 1 and 2 coordinate well.
LONER = np.array([[1.0, 1.0, 1.0, 0.0],
                  [1.0, 1.0, 0.5, 0.0],
                  [1.0, 0.5, 1.0, 0.0],
                  [0.0, 0.0, 0.0, 0.0]], np.float32)


# --- a NumPy transcription of COLE-Platform's algorithm -------------------------------------------


def reference_pagerank(weight, damping=0.85, max_iter=100, tol=1e-6):
  """networkx.pagerank's power iteration (uniform start and teleport, dangling: uniform)."""
  n = weight.shape[0]
  out = weight.sum(1)
  moves = np.divide(weight, out[:, None], out=np.zeros_like(weight), where=out[:, None] > 0)
  x = np.full(n, 1.0 / n)
  for _ in range(max_iter):
    last = x
    x = damping * (x @ moves + x[out == 0].sum() / n) + (1 - damping) / n
    if np.abs(x - last).sum() < n * tol:
      break
  return x


def reference_value(payoff, coalition, beta=10.0):
  """COLE-Platform's c_value: the sigma-weighted mean return inside the coalition, >= 0."""
  if not coalition:
    return 0.0
  sub = payoff[np.ix_(coalition, coalition)].astype(np.float64)
  rank = reference_pagerank(np.maximum(sub, 0.0))
  sigma = np.exp(-beta * rank) / np.exp(-beta * rank).sum()
  return max(0.0, (sub @ sigma).sum() / len(coalition))


def reference_shapley(payoff, live, clip=True):
  """The mean over every order of the live members of each one's (clipped) marginal."""
  members = list(np.flatnonzero(live))
  value = functools.lru_cache(None)(lambda s: reference_value(payoff, sorted(s)))
  phi = np.zeros(len(live))
  orders = list(itertools.permutations(members))
  for order in orders:
    for k, i in enumerate(order):
      marginal = value(frozenset(order[:k + 1])) - value(frozenset(order[:k]))
      phi[i] += (max(marginal, 0.0) if clip else marginal) / len(orders)
  return phi


# --- the cooperative game and its Shapley values --------------------------------------------------


def test_coalition_value_and_pagerank_match_the_reference():
  for members in ([0], [1, 4], [0, 1, 2], [0, 1, 2, 4], [0, 1, 2, 3, 4]):
    coalition = np.isin(np.arange(5), members)
    value = cole.coalition_value(RANDOM, coalition)
    chex.assert_shape(value, ())
    np.testing.assert_allclose(value, reference_value(RANDOM, members), rtol=1e-5)
    rank = cole.pagerank(RANDOM, coalition)
    np.testing.assert_allclose(np.asarray(rank)[members], reference_pagerank(RANDOM[np.ix_(members, members)]),
                               atol=1e-6)
    np.testing.assert_array_equal(rank[~coalition], 0.0)
  assert cole.coalition_value(RANDOM, np.zeros(5, bool)) == 0.0
  # A single member is worth its self-play return.
  np.testing.assert_allclose(cole.coalition_value(RANDOM, np.arange(5) == 2), RANDOM[2, 2])


@pytest.mark.parametrize("clip", [True, False])
def test_exact_shapley_matches_every_order(clip):
  phi = exact(RANDOM, LIVE, clip_marginals=clip)
  chex.assert_shape(phi, (5,))
  chex.assert_type(phi, jnp.float32)
  np.testing.assert_allclose(phi, reference_shapley(RANDOM, LIVE, clip), atol=1e-5)
  assert phi[3] == 0.0


def test_a_constant_game_splits_evenly_and_values_add_up():
  # v(S) = c for every non-empty S (sigma sums to 1): only the first member adds c, so each of
  # the n live members gets c / n.
  live = np.array([True, True, False, True, True])
  constant = np.full((5, 5), 2.0, np.float32)
  np.testing.assert_allclose(exact(constant, live), [0.5, 0.5, 0, 0.5, 0.5], rtol=1e-5)
  np.testing.assert_allclose(sampled(constant, live, jax.random.key(0), 2000),
                             [0.5, 0.5, 0, 0.5, 0.5], atol=0.05)
  # Without clipping, the marginals of every order add up to v(live) (efficiency), exactly in
  # both the exact value and the estimate.
  total = cole.coalition_value(RANDOM, LIVE)
  np.testing.assert_allclose(exact(RANDOM, LIVE, clip_marginals=False).sum(), total, rtol=1e-5)
  np.testing.assert_allclose(
      sampled(RANDOM, LIVE, jax.random.key(1), 50, clip_marginals=False).sum(), total,
      rtol=1e-5)


def test_star_graph_centre_first_leaves_equal():
  # Member 0 coordinates with everyone, the leaves 1..4 with 0 and themselves only.
  star = np.eye(5, dtype=np.float32)
  star[0, :] = star[:, 0] = 1.0
  phi = np.asarray(exact(star, np.ones(5, bool)))
  np.testing.assert_allclose(phi, reference_shapley(star, np.ones(5, bool)), atol=1e-5)
  np.testing.assert_allclose(phi[1:], phi[1], rtol=1e-5)   # symmetric leaves
  assert phi[0] > phi[1] + 0.1


def test_a_member_coordinating_with_no_one_is_lowest_and_drawn_most():
  live = np.ones(4, bool)
  phi = exact(LONER, live)
  np.testing.assert_allclose(phi, reference_shapley(LONER, live), atol=1e-5)
  assert phi[3] == 0.0 and phi[:3].min() > 0.25
  priority = cole.cole_priority(phi, live)
  assert int(jnp.argmax(priority)) == 3 and priority[3] > 0.9
  # The scheme, learner 0: member 3 is its likeliest partner, the learner never.
  dist = mm.opponent_distribution("cole", LONER, np.ones((4, 4)), live, jnp.int32(0))
  chex.assert_shape(dist, (4,))
  np.testing.assert_allclose(dist.sum(), 1.0, rtol=1e-6)
  assert dist[0] == 0.0 and int(jnp.argmax(dist)) == 3


def test_monte_carlo_converges_to_the_exact_value():
  # 4000 orders of 4 live members, fixed key: within 0.02 of the exact value (the clipped
  # marginals lie in [0, 1]; the standard error is below 0.008).
  expected = exact(RANDOM, LIVE)
  phi = sampled(RANDOM, LIVE, jax.random.key(7), 4000)
  np.testing.assert_allclose(phi, expected, atol=0.02)
  assert phi[3] == 0.0
  few = sampled(RANDOM, LIVE, jax.random.key(7), 40)
  assert np.abs(few - expected).max() > np.abs(phi - expected).max()


def test_dead_members_take_no_part():
  # The values of the live members equal the game of the live sub-matrix alone, whatever the
  # dead member's payoffs; the dead one gets 0 and is never drawn.
  garbage = RANDOM.copy()
  garbage[3, :] = garbage[:, 3] = 50.0
  members = np.flatnonzero(LIVE)
  alone = exact(RANDOM[np.ix_(members, members)], np.ones(4, bool))
  np.testing.assert_allclose(exact(garbage, LIVE)[members], alone, rtol=1e-5)
  assert exact(garbage, LIVE)[3] == 0.0
  np.testing.assert_allclose(sampled(garbage, LIVE, jax.random.key(3), 64),
                             sampled(RANDOM, LIVE, jax.random.key(3), 64), rtol=1e-6)
  dist = mm.opponent_distribution("cole", garbage, np.ones((5, 5)), LIVE, jnp.int32(1))
  assert dist[3] == 0.0 and dist[1] == 0.0
  np.testing.assert_allclose(dist.sum(), 1.0, rtol=1e-6)
  # No other live member: self-play.
  alone_live = np.arange(5) == 2
  np.testing.assert_array_equal(
      mm.opponent_distribution("cole", RANDOM, np.ones((5, 5)), alone_live, jnp.int32(2)),
      np.eye(5)[2])


def test_a_changed_live_mask_or_learner_does_not_recompile():
  scheme = jax.jit(functools.partial(mm.opponent_distribution, "cole", num_permutations=16))
  counts = np.ones((5, 5), np.float32)
  scheme(RANDOM, counts, LIVE, jnp.int32(0))
  scheme(RANDOM + 0.1, counts + 1, np.ones(5, bool), jnp.int32(3))
  scheme(RANDOM, counts, np.array([1, 0, 0, 0, 1], bool), jnp.int32(4))
  assert scheme._cache_size() == 1
  size = sampled._cache_size()
  sampled(RANDOM, np.ones(5, bool), jax.random.key(0), 16)
  sampled(RANDOM, np.array([0, 1, 1, 0, 0], bool), jax.random.key(1), 16)
  assert sampled._cache_size() == size + 1
  # The scheme's orders depend on the games played: the same state draws the same orders.
  np.testing.assert_array_equal(scheme(RANDOM, counts, LIVE, jnp.int32(0)),
                                scheme(RANDOM, counts, LIVE, jnp.int32(0)))


# --- partners -------------------------------------------------------------------------------------


def test_priority_by_hand():
  phi = np.array([0.3, 0.1, 0.0, 9.0, 0.2], np.float32)
  candidates = np.array([True, True, True, False, True])
  x = phi[candidates] / np.linalg.norm(phi[candidates])
  prior = np.exp(-10 * x) / np.exp(-10 * x).sum()
  np.testing.assert_allclose(cole.cole_priority(phi, candidates)[candidates], prior, rtol=1e-5)
  # With visits, the normalized UCB bonus sqrt(total) / (1 + visits) is added (c = 1).
  visits = np.array([3.0, 0.0, 5.0, 100.0, 1.0], np.float32)
  bonus = np.sqrt(visits[candidates].sum()) / (1 + visits[candidates])
  weight = prior + bonus / np.linalg.norm(bonus)
  got = cole.cole_priority(phi, candidates, visits)
  np.testing.assert_allclose(got[candidates], weight / weight.sum(), rtol=1e-5)
  assert got[3] == 0.0
  # All values 0: uniform; no candidate: all 0.
  np.testing.assert_allclose(cole.cole_priority(np.zeros(5), candidates)[candidates], 0.25)
  np.testing.assert_array_equal(cole.cole_priority(phi, np.zeros(5, bool)), 0.0)


def test_a_uniform_share_mixes_fictitious_draws_into_the_priority():
  # uniform=u: (1 - u) of the partners' mass by COLE's priority, u evenly over the candidates;
  # self_play takes its share off the top. Member 3 (the loner) still comes first.
  live, counts, learner = np.ones(4, bool), np.ones((4, 4)), jnp.int32(0)
  prioritized = mm.opponent_distribution("cole", LONER, counts, live, learner)
  even = mm.opponent_distribution("fictitious", LONER, counts, live, learner)
  np.testing.assert_allclose(even, [0.0, 1 / 3, 1 / 3, 1 / 3], rtol=1e-6)
  mixed = mm.opponent_distribution("cole", LONER, counts, live, learner, uniform=0.25,
                                   self_play=0.2)
  np.testing.assert_allclose(
      mixed, 0.8 * (0.75 * prioritized + 0.25 * even) + 0.2 * np.eye(4)[0], rtol=1e-5)
  assert int(jnp.argmax(mixed)) == 3 and mixed[1] > 0.8 * 0.25 / 3 - 1e-6
  np.testing.assert_allclose(
      mm.opponent_distribution("cole", LONER, counts, live, learner, uniform=1.0), even,
      rtol=1e-6)
  # Dead members get nothing from the uniform share either.
  dist = mm.opponent_distribution("cole", RANDOM, np.ones((5, 5)), LIVE, jnp.int32(1),
                                  uniform=0.5)
  assert dist[3] == 0.0 and dist[1] == 0.0
  np.testing.assert_allclose(dist.sum(), 1.0, rtol=1e-6)


# --- joining --------------------------------------------------------------------------------------


def test_admission_by_the_preference_graph():
  # Members 0..3 born in order, the learner in slot 4. Everyone's best partner is 4 (the
  # learner): the most preferred member is the newest, admitted.
  liked = np.full((5, 5), 0.2, np.float32)
  liked[:, 4] = liked[4, :] = 1.0
  live, born = np.ones(5, bool), np.arange(5)
  assert cole.cole_admits(liked, live, born, jnp.int32(4))
  # Everyone prefers member 0, the oldest: the learner waits.
  old = np.full((5, 5), 0.2, np.float32)
  old[:, 0] = old[0, :] = 1.0
  assert not cole.cole_admits(old, live, born, jnp.int32(4))
  # The same with slot order not the age order: slot 0 was born last of the frozen members,
  # one of the t = floor(4 * 0.1) + 1 = 1 newest, so the learner joins.
  assert cole.cole_admits(old, live, np.array([9, 1, 2, 3, 0]), jnp.int32(4))
  # A dead slot takes no part: with slot 0 dead, member 1 (preferred by 1 and 2) is oldest.
  dead0 = np.array([False, True, True, True, True])
  pref1 = np.full((5, 5), 0.2, np.float32)
  pref1[:, 1] = pref1[1, :] = 1.0
  assert not cole.cole_admits(pref1, dead0, born, jnp.int32(4))
  # No positive payoff: no edges, the oldest member is "preferred".
  assert not cole.cole_admits(np.zeros((5, 5), np.float32), live, born, jnp.int32(4))


def test_join_slot_free_then_one_of_the_oldest():
  join = jax.jit(cole.cole_join_slot, static_argnames=("oldest",))
  born = np.array([5, 0, 3, 1, 2, 4])
  live = np.array([True, True, False, True, False, True])
  slot = join(jax.random.key(0), live, born)
  chex.assert_shape(slot, ())
  chex.assert_type(slot, jnp.int32)
  assert slot == 2  # the first free slot
  full = np.ones(6, bool)
  protected = np.arange(6) == 1  # the learner, the oldest, is never replaced
  draws = np.array([join(k, full, born, protected=protected, oldest=3)
                    for k in jax.random.split(jax.random.key(1), 300)])
  # The three oldest not protected: slots 3 (born 1), 4 (born 2) and 2 (born 3), evenly.
  assert set(draws) == {2, 3, 4}
  assert min(np.bincount(draws)[[2, 3, 4]]) > 70
  assert join(jax.random.key(2), full, born, protected=protected, oldest=1) == 3  # FIFO
  assert join(jax.random.key(2), full, born) in range(6)
  assert join(jax.random.key(2), full, born, protected=full) == 6  # no slot
  # The masks are data: others compile nothing.
  size = join._cache_size()
  join(jax.random.key(3), live, born + 1, protected=np.arange(6) == 4, oldest=3)
  assert join._cache_size() == size


# --- options --------------------------------------------------------------------------------------


def test_bad_options_raise_one_clear_config_error():
  args = (LONER, np.ones((4, 4)), np.ones(4, bool), 0)
  with pytest.raises(ConfigError, match="'pfsp', 'psro', 'cole'"):
    mm.opponent_distribution("coel", *args)
  with pytest.raises(ConfigError, match="shared by the seats"):
    mm.cole(*args, learner_seat=0)
  with pytest.raises(ConfigError, match="takes the options num_permutations, beta, ucb_c"):
    mm.opponent_distribution("cole", *args, temperature=2.0)
  with pytest.raises(ConfigError, match=r"cole: uniform must be a number in \[0, 1\], got 1.5"):
    mm.opponent_distribution("cole", *args, uniform=1.5)
  with pytest.raises(ConfigError, match="num_permutations must be a positive int"):
    mm.opponent_distribution("cole", *args, num_permutations=0)
  with pytest.raises(ConfigError, match="beta must be a finite number >= 0"):
    mm.opponent_distribution("cole", *args, beta=-1.0)
  with pytest.raises(ConfigError, match=r"damping must be a number in \[0, 1\)"):
    mm.opponent_distribution("cole", *args, damping=1.0)
  with pytest.raises(ConfigError, match="clip_marginals must be a bool"):
    cole.graphic_shapley(LONER, np.ones(4, bool), jax.random.key(0), 4, clip_marginals=1)
  with pytest.raises(ConfigError, match="at most 12"):
    cole.exact_shapley(np.zeros((13, 13)), np.ones(13, bool))
  with pytest.raises(ConfigError, match="oldest must be a positive int"):
    cole.cole_join_slot(jax.random.key(0), np.ones(4, bool), np.arange(4), oldest=0)
  with pytest.raises(ConfigError, match="recent_fraction"):
    cole.cole_admits(LONER, np.ones(4, bool), np.arange(4), 3, recent_fraction=1.5)
