"""Elo ratings of a population's members from their pairwise results (host-side, numpy).

A population's training games give, over its N member slots (see `jaxplay.learn.matchmaking`),

  wins:  float[N, N]  wins[i, j] member i's score against member j: a win counts 1, a draw
                      1/2, a loss 0 (so it may be fractional);
  games: float[N, N]  games[i, j] the games behind wins[i, j] (0 <= wins <= games);
  live:  bool[N]      the members that exist; the entries of the others are ignored (they may
                      hold anything, NaN included) and their ratings are NaN.

Every game between i and j is recorded from both sides, in entry (i, j) and in entry (j, i), as
the population's payoff matrix records it: a consistent record has games[j, i] = games[i, j]
and wins[j, i] = games[i, j] - wins[i, j]. The fit averages the two views, so a record given
in one direction only (wins[j, i] = games[j, i] = 0) weighs half as much, and a general-sum
record (where i's and j's scores need not add up to the games) is used as it is. The
diagonal (a member against itself) is ignored.

The model is Bradley-Terry in Elo units: member i scores against j on average

  expected_score(r_i, r_j) = 1 / (1 + 10 ** ((r_j - r_i) / scale)),   scale = 400 by default,

i.e. a lead of `scale` Elo gives odds of 10 to 1. `elo_ratings` returns the maximum a
posteriori ratings: the maximum-likelihood ones under a weak prior, which keeps them finite
when a member never lost (or never won), and unique when the record does not connect every
pair of members. The prior credits each live member with `prior_games` (default 1) virtual
games drawn against a virtual member of fixed strength (the log-likelihood gains
prior_games * (log s(t_i) + log s(-t_i)) / 2 per member, s the logistic function, t_i the
member's strength in natural log-odds units). It pulls every rating towards the virtual
member's by about as much as one draw would; against thousands of real games it moves
ratings by well under one Elo. A live member with no games sits at the virtual member's
rating. The ratings are finally shifted so that the mean of the live members is `anchor`
(default 1000, chess's usual starting rating), so only differences carry meaning.

The fit is Newton's method on the strictly concave log-posterior, with a backtracking line
search (so it converges from any start, even when some results are all wins); it takes
O(10) steps of an N x N linear solve.
"""

from __future__ import annotations

import math

import numpy as np

from jaxplay.core.errors import ConfigError, check_return_range, is_real

ANCHOR = 1000.0                       # the mean rating of the live members
SCALE = 400.0                         # Elo per factor 10 in the odds
PRIOR_GAMES = 1.0                     # virtual drawn games per live member
_LN10 = math.log(10.0)
_MAX_STEPS = 200
_TOLERANCE = 1e-10                    # largest Newton step at the end, natural units


def expected_score(ratings_i, ratings_j, scale: float = SCALE):
  """The expected score of rating `ratings_i` against `ratings_j` (a win 1, a draw 1/2):
  1 / (1 + 10 ** ((r_j - r_i) / scale)).

  Args:
    ratings_i, ratings_j: float arrays (numpy or jax; they broadcast) or floats, in Elo.
    scale: Elo per factor 10 in the odds (400: a lead of 400 scores 10/11).

  Returns:
    The scores in [0, 1], the broadcast shape, of the inputs' array type; NaN where a rating
    is NaN.
  """
  if not hasattr(ratings_i, "shape"):
    ratings_i = np.asarray(ratings_i, np.float64)
  if not hasattr(ratings_j, "shape"):
    ratings_j = np.asarray(ratings_j, np.float64)
  return 1.0 / (1.0 + 10.0 ** ((ratings_j - ratings_i) / scale))


def elo_ratings(wins, games, live, *, anchor: float = ANCHOR, scale: float = SCALE,
                prior_games: float = PRIOR_GAMES) -> np.ndarray:
  """Maximum a posteriori Elo ratings (Bradley-Terry) of the members from pairwise results.

  See the module docstring for the record's convention, the prior and the fit.

  Args:
    wins: float[N, N] wins[i, j] member i's score against j (a draw counts half a win).
    games: float[N, N] the games behind each entry, 0 <= wins <= games.
    live: bool[N] the members to rate; the entries of the others are ignored.
    anchor: the mean rating of the live members.
    scale: Elo per factor 10 in the odds, > 0.
    prior_games: the virtual drawn games of each live member, > 0 (the prior's weight).

  Returns:
    float64[N] the ratings in Elo, NaN for the members not live (all NaN when none is).

  Raises:
    ConfigError: shapes that are not [N, N], [N, N] and [N], a `live` that is not bool,
      non-finite or negative entries among live members, wins outside [0, games], or an
      anchor, scale or prior_games out of range.
  """
  wins, games, live = _check_record(wins, games, live)
  anchor, scale, prior_games = _check_options(anchor, scale, prior_games)
  ratings = np.full(live.shape, np.nan)
  if not live.any():
    return ratings
  index = np.flatnonzero(live)
  sub = np.ix_(index, index)
  score, played = _symmetrized(wins[sub], games[sub])
  strength = _fit(score, played, prior_games)
  ratings[index] = anchor + scale / _LN10 * (strength - strength.mean())
  return ratings


def elo_from_payoff(payoff, counts, live, *, return_range: tuple[float, float] = (-1.0, 1.0),
                    anchor: float = ANCHOR, scale: float = SCALE,
                    prior_games: float = PRIOR_GAMES) -> np.ndarray:
  """`elo_ratings` of a population's payoff matrix of mean returns.

  Member i's mean return r = payoff[i, j] against j is mapped linearly from `return_range` =
  (lo, hi) onto a score in [0, 1] and clipped, as PFSP's `win_probability` does
  (`jaxplay.learn.matchmaking`): p = clip((r - lo) / (hi - lo), 0, 1). With returns +1 / 0 /
  -1 for a win / draw / loss (the default range) this is the expected score, (r + 1) / 2,
  a draw counting half a win. Games with other return scales (Kuhn poker: (-2, 2); Leduc:
  (-13, 13)) pass their range. Then wins = counts * p and games = counts.

  Args:
    payoff: float[N, N] payoff[i, j] member i's mean return against member j.
    counts: float[N, N] the games behind each entry (0: never played).
    live: bool[N] the members to rate; the entries of the others are ignored.
    return_range: (lo, hi), two finite numbers with lo < hi.
    anchor, scale, prior_games: as in `elo_ratings`.

  Returns:
    float64[N] the ratings in Elo, NaN for the members not live.

  Raises:
    ConfigError: as `elo_ratings`, or a bad `return_range`.
  """
  payoff, counts, live = _check_record(payoff, counts, live, names=("payoff", "counts"),
                                       bounded=False)
  lo, hi = _check_range(return_range)
  both = live[:, None] & live[None, :]
  p = np.clip((np.where(both, payoff, 0.0) - lo) / (hi - lo), 0.0, 1.0)
  games = np.where(both, counts, 0.0)
  return elo_ratings(games * p, games, live, anchor=anchor, scale=scale,
                     prior_games=prior_games)


# --- the fit ------------------------------------------------------------------------------------


def _symmetrized(wins: np.ndarray, games: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
  """(score, played), float64[M, M] with zero diagonals: score[i, j] i's score against j and
  played[i, j] = played[j, i] their games, each the mean of the two sides' records, so that
  score[i, j] + score[j, i] = played[i, j]."""
  score = 0.5 * (wins + games.T - wins.T)
  played = 0.5 * (games + games.T)
  np.fill_diagonal(score, 0.0)
  np.fill_diagonal(played, 0.0)
  return score, played


def _log_sigmoid(x: np.ndarray) -> np.ndarray:
  return -np.logaddexp(0.0, -x)


def _sigmoid(x: np.ndarray) -> np.ndarray:
  return 0.5 * (1.0 + np.tanh(0.5 * x))


def _log_posterior(t: np.ndarray, score: np.ndarray, prior: float) -> float:
  """sum_{i != j} score[i, j] log s(t_i - t_j) + prior * sum_i (log s(t_i) + log s(-t_i)) / 2."""
  pairs = np.sum(score * _log_sigmoid(t[:, None] - t[None, :]))
  return float(pairs + 0.5 * prior * np.sum(_log_sigmoid(t) + _log_sigmoid(-t)))


def _fit(score: np.ndarray, played: np.ndarray, prior: float) -> np.ndarray:
  """float64[M] the strengths t (natural log-odds units) maximizing `_log_posterior`.

  Newton's method with a backtracking line search. The negative Hessian is the weighted graph
  Laplacian of the games plus the prior's positive diagonal, so it is positive definite and
  every Newton direction is an ascent direction."""
  t = np.zeros(score.shape[0])
  value = _log_posterior(t, score, prior)
  for _ in range(_MAX_STEPS):
    p = _sigmoid(t[:, None] - t[None, :])                    # p[i, j]: i beats j
    grad = (score - played * p).sum(1) + prior * (0.5 - _sigmoid(t))
    weight = played * p * p.T
    curvature = -weight + np.diag(weight.sum(1) + prior * _sigmoid(t) * _sigmoid(-t))
    step = np.linalg.solve(curvature, grad)
    slope = float(grad @ step)
    size = 1.0
    while True:
      candidate = t + size * step
      new_value = _log_posterior(candidate, score, prior)
      if new_value >= value + 1e-4 * size * slope or size < 1e-8:
        break
      size *= 0.5
    t, value = candidate, new_value
    if np.max(np.abs(size * step)) < _TOLERANCE:
      break
  return t


# --- checks -------------------------------------------------------------------------------------


def _check_record(a, b, live, *, names: tuple[str, str] = ("wins", "games"),
                  bounded: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
  """(a, b, live) as float64[N, N], float64[N, N] and bool[N], or ConfigError. Only the
  entries between live members are checked: finite, b >= 0 and (`bounded`) 0 <= a <= b."""
  name_a, name_b = names
  a, b, live = np.asarray(a, np.float64), np.asarray(b, np.float64), np.asarray(live)
  if a.ndim != 2 or a.shape[0] != a.shape[1]:
    raise ConfigError(f"elo: {name_a} must be a square float[N, N] matrix, got shape {a.shape}")
  n = a.shape[0]
  if b.shape != a.shape or live.shape != (n,):
    raise ConfigError(f"elo: {name_a} [N, N], {name_b} [N, N] and live [N] must agree in N, "
                      f"got shapes {a.shape}, {b.shape} and {live.shape}")
  if live.dtype != np.bool_:
    raise ConfigError(f"elo: live must be a bool[N] mask, got dtype {live.dtype}")
  both = live[:, None] & live[None, :]
  a_live, b_live = a[both], b[both]
  if not (np.isfinite(a_live).all() and np.isfinite(b_live).all()):
    raise ConfigError(f"elo: {name_a} and {name_b} must be finite between live members")
  if (b_live < 0).any():
    raise ConfigError(f"elo: {name_b} must be >= 0, got {b_live.min():g}")
  if bounded:
    slack = 1e-6 * np.maximum(b_live, 1.0)                   # float32 rounding of games * p
    if ((a_live < -slack) | (a_live > b_live + slack)).any():
      raise ConfigError(f"elo: {name_a} must lie in [0, {name_b}] (a draw counts 1/2) "
                        f"between live members")
    a = np.where(both, np.clip(a, 0.0, b), 0.0)
  return np.where(both, a, 0.0), np.where(both, b, 0.0), live


def _check_options(anchor, scale, prior_games) -> tuple[float, float, float]:
  """(anchor, scale, prior_games) as floats, or ConfigError."""
  if not (is_real(anchor) and math.isfinite(anchor)):
    raise ConfigError(f"elo: anchor must be a finite number, got {anchor!r}")
  for option, value in (("scale", scale), ("prior_games", prior_games)):
    if not (is_real(value) and math.isfinite(value) and value > 0):
      raise ConfigError(f"elo: {option} must be a finite number > 0, got {value!r}")
  return float(anchor), float(scale), float(prior_games)


def _check_range(return_range) -> tuple[float, float]:
  """(lo, hi) as floats, or ConfigError."""
  return check_return_range("elo", return_range)
