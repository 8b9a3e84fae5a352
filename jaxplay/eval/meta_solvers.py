"""Solvers of normal-form meta-games (the games between population members), on device.

A meta-game has a fixed shape and live masks, so that a population that grows never recompiles
its solver: row member i (of N) against column member j (of M), `row_payoff[i, j]` and
`col_payoff[i, j]` the two sides' mean returns, `live_row` bool[N] and `live_col` bool[M] the
members that take part. Members not live get probability exactly 0 and their payoff entries
are ignored (they may hold anything, NaN included). Every function is pure and jittable;
iteration counts and step sizes are static Python numbers. Payoffs are computed in float32,
products at full float32 precision (`Precision.HIGHEST`, so TPUs and TF32 GPUs agree with CPUs).

Solvers (the iterative ones run `iterations` steps in a `lax.fori_loop`):
  * `uniform`: the uniform distribution over the live members.
  * `nash` (`zero_sum_nash`): two players, alternating predictive regret matching+ (PRM+,
    Farina, Kroer and Sandholm 2021) with linearly weighted averages, i.e. CFR+'s regret
    matching (Tammelin 2014) plus a prediction of the next regrets. Zero-sum games: the
    averages converge to a Nash equilibrium. General-sum games: regret matching guarantees
    only a coarse correlated equilibrium, so compare the returned NashConv with a tolerance.
  * `symmetric_nash`: one population playing itself, payoff[i, j] member i's return against
    member j. PRM+ in self-play (one regret vector: the strategy stays symmetric), linearly
    averaged. Why it converges in a symmetric zero-sum game (payoff = -payoff.T): there
    x.payoff.x = 0 for every x, so a no-regret learner's regret against its own iterates is
    exactly max_i (payoff @ x_avg)[i], what a deviation gains against the average; regret
    matching is no-regret, so NashConv -> 0. Replicator dynamics, the other candidate, orbit
    the interior equilibrium of rock-paper-scissors instead of approaching it (discretized,
    they spiral out to the boundary), so they need a floor and averaging (PRD below) and
    converge far more slowly.
  * `projected_replicator_dynamics`, `symmetric_projected_replicator_dynamics`: PRD of PSRO
    (Lanctot et al. 2017) as OpenSpiel runs it (simultaneous steps x += dt x (u - x.u), then
    the Euclidean projection onto the strategies with every live probability >= `gamma`;
    the result is the mean of the iterates). `players_projected_replicator_dynamics`: the
    same for any number of players (a payoff tensor, N members a player), as OpenSpiel's
    PSRO solves meta-games of three or more players.

Measured NashConv after T iterations (float32, CPU; biased RPS is the game of the tests with
Nash (1/4, 1/2, 1/4), payoffs in [-2, 2]; "random" the worst of 5 standard-normal games):

  T                          30       100      300      1000     3000
  nash, biased RPS           9e-3     8e-4     9e-5     8e-6     9e-7
    without prediction       5e-2     1e-2     5e-3     1e-3     6e-4
  nash, random 8x6           5e-2     4e-3     4e-4     4e-5     4e-6
    without prediction       4e-2     6e-3     3e-3     1e-3     3e-4
  symmetric_nash, biased RPS 8e-2     2e-2     4e-3     2e-3     4e-4
  symmetric_nash, random     2e-1     2e-2     5e-3     1e-3     5e-4     (8x8 antisymmetric)
    without prediction       5e-1     2e-1     4e-2     2e-2     7e-3
  PRD (dt 1e-3), biased RPS  T = 1e4: 4e-2, T = 1e5: 8e-3; random 8x8 T = 1e5: 3e-2.

Cost (jitted, one CPU core of a shared 2-core machine): `nash` with 1000 iterations 0.5 ms at
N = M = 8, 1.8 ms at 64; `symmetric_nash` 0.2 / 1.0 ms; PRD's 100_000 steps 0.12 / 1.0 s
(each step sorts for the projection). On an accelerator every iteration is a few tiny
kernels in sequence, so the loop's length, not N, sets the time.

NashConv (`nash_conv`; `players_nash_conv` for P players): the sum over the players of what
the best deviation to a live member gains against the others' strategies; 0 exactly at a Nash
equilibrium of the live sub-game. For a symmetric strategy x (`symmetric_nash_conv`) both players play x and the
column player's payoff of (i, j) is payoff[j, i], so the sum is twice one player's gain.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

Array = jax.Array


class MetaNash(NamedTuple):
  """A two-player meta-strategy profile.

  Attributes:
    row: float32[N] the row player's distribution over its members (0 where not live).
    col: float32[M] the column player's distribution (0 where not live).
    nash_conv: float32[] NashConv of (row, col) on the live sub-game.
  """

  row: Array
  col: Array
  nash_conv: Array


class PlayersNash(NamedTuple):
  """A meta-strategy profile of a P-player meta-game.

  Attributes:
    strategies: float32[P, N] player p's distribution over its members in row p (0 where
      not live).
    nash_conv: float32[] NashConv of the profile on the live sub-game.
  """

  strategies: Array
  nash_conv: Array


class SymmetricNash(NamedTuple):
  """A symmetric meta-strategy.

  Attributes:
    strategy: float32[N] the distribution both players play (0 where not live).
    nash_conv: float32[] NashConv of (strategy, strategy) on the live sub-game.
  """

  strategy: Array
  nash_conv: Array


def uniform(live: Array) -> Array:
  """float32[N]: 1 / (number live) on the live members, 0 elsewhere (all 0 if none is live).

  Args:
    live: bool[N] the members that take part.
  """
  weight = jnp.asarray(live, bool).astype(jnp.float32)
  return weight / jnp.maximum(weight.sum(), 1.0)


# --- helpers ------------------------------------------------------------------------------------


def _dot(x: Array, y: Array) -> Array:
  """x @ y at full float32 precision."""
  return jnp.matmul(x, y, precision=jax.lax.Precision.HIGHEST)


def _normalize(weight: Array, live: Array) -> Array:
  """float32[N]: `weight` (>= 0) restricted to `live` and normalized; uniform over `live`
  where that leaves nothing."""
  weight = jnp.where(live, weight, 0.0)
  total = weight.sum()
  return jnp.where(total > 0, weight / jnp.where(total > 0, total, 1.0), uniform(live))


def _mask_payoff(payoff: Array, live_row: Array, live_col: Array) -> Array:
  """float32[N, M]: the payoff with every entry of a dead member set to 0 (NaN-safe)."""
  live = live_row[:, None] & live_col[None, :]
  return jnp.where(live, jnp.asarray(payoff, jnp.float32), 0.0)


def _deviation_gain(values: Array, strategy: Array, live: Array) -> Array:
  """float32[]: max over live members of `values` minus `strategy`'s expected value (0 when
  none is live)."""
  best = jnp.max(jnp.where(live, values, -jnp.inf))
  return jnp.where(live.any(), best - _dot(strategy, values), 0.0)


def _linear_step(t: Array) -> Array:
  """The step of iteration t (0-based) in a running mean weighted by t + 1: 2 / (t + 2)."""
  return 2.0 / (t + 2).astype(jnp.float32)


def _window_step(t: Array, start: int) -> Array:
  """The step of iterate t in a running plain mean of the iterates from `start` on: 0 before
  it, then 1 / (t - start + 1)."""
  return jnp.where(t >= start, 1.0 / (jnp.maximum(t - start, 0) + 1).astype(jnp.float32), 0.0)


def _mean_add(mean: tuple[Array, Array], x: Array, step: Array) -> tuple[Array, Array]:
  """(mean, compensation) after mean <- mean + step (x - mean), by Kahan's compensated sum.

  In plain float32 a late iterate stops moving a mean of about 0.3 once step * |x - mean| is
  under half an ulp (~1.5e-8): that froze `nash` on biased rock-paper-scissors at NashConv
  1.5e-5 from T = 1000 on; compensated, it keeps falling (1e-7 at T = 10_000).
  """
  value, compensation = mean
  delta = step * (x - value) - compensation
  total = value + delta
  return total, (total - value) - delta


def _regret_update(regret: Array, values: Array, strategy: Array,
                   live: Array) -> tuple[Array, Array]:
  """(RM+ regrets: `regret` plus the instantaneous regrets of `values` against `strategy`,
  clipped at 0; the instantaneous regrets), both float32[N] and 0 where not live."""
  instant = jnp.where(live, values - _dot(strategy, values), 0.0)
  return jnp.maximum(regret + instant, 0.0), instant


def _play(regret: Array, prediction: Array, live: Array) -> Array:
  """float32[N]: the (predictive) RM+ strategy, proportional to max(regret + prediction, 0);
  uniform over the live members where that is all 0."""
  return _normalize(jnp.maximum(regret + prediction, 0.0), live)


# --- NashConv -----------------------------------------------------------------------------------


def nash_conv(row_payoff: Array, col_payoff: Array, row: Array, col: Array, live_row: Array,
              live_col: Array) -> Array:
  """float32[]: NashConv of the profile (row, col) on the live sub-game.

  Args:
    row_payoff: float[N, M] the row player's payoff of row member i against column member j.
    col_payoff: float[N, M] the column player's payoff of the same pairing (-row_payoff in a
      zero-sum game).
    row: float[N] the row player's distribution; col: float[M] the column player's (entries
      of members not live are ignored).
    live_row: bool[N]; live_col: bool[M] the members that take part.

  Returns:
    The sum over the two players of (the best payoff of a live pure deviation against the
    other's strategy) minus (its payoff of the profile); >= 0 up to rounding.
  """
  live_row = jnp.asarray(live_row, bool)
  live_col = jnp.asarray(live_col, bool)
  a = _mask_payoff(row_payoff, live_row, live_col)
  b = _mask_payoff(col_payoff, live_row, live_col)
  row = jnp.where(live_row, jnp.asarray(row, jnp.float32), 0.0)
  col = jnp.where(live_col, jnp.asarray(col, jnp.float32), 0.0)
  return _deviation_gain(_dot(a, col), row, live_row) + _deviation_gain(_dot(row, b), col,
                                                                         live_col)


def symmetric_nash_conv(payoff: Array, strategy: Array, live: Array) -> Array:
  """float32[]: NashConv of both players playing `strategy` in the symmetric meta-game.

  Args:
    payoff: float[N, N] the return of row member i against column member j; the column
      player's return of the pairing (i, j) is payoff[j, i].
    strategy: float[N] the distribution both players play (entries not live are ignored).
    live: bool[N] the members that take part.

  Returns:
    2 * (max over live i of (payoff @ strategy)[i] - strategy @ payoff @ strategy): the two
    players' deviation gains, equal by symmetry.
  """
  live = jnp.asarray(live, bool)
  a = _mask_payoff(payoff, live, live)
  strategy = jnp.where(live, jnp.asarray(strategy, jnp.float32), 0.0)
  return 2.0 * _deviation_gain(_dot(a, strategy), strategy, live)


# --- regret matching ----------------------------------------------------------------------------


def nash(row_payoff: Array, col_payoff: Array, live_row: Array, live_col: Array,
         iterations: int = 1000, predictive: bool = True) -> MetaNash:
  """A Nash equilibrium of the live two-player sub-game by alternating (predictive) RM+.

  Each player keeps RM+ regrets R (clipped at 0 after every update) and a prediction m of its
  next instantaneous regrets: its last ones if `predictive`, else 0. It plays x proportional
  to max(R + m, 0), uniform over its live members where that is all 0. Iteration t (1-based):
  the row player adds x to its average with weight t and the regrets of row_payoff @ y
  against x to R; then the column player does the same against the row player's updated
  strategy (alternation, as in CFR+). Both start uniform (zero regret), so a game whose
  equilibrium is uniform (rock-paper-scissors) is solved at once.

  Args:
    row_payoff: float[N, M] the row player's payoff of row member i against column member j.
    col_payoff: float[N, M] the column player's payoff of the same pairing (for a zero-sum
      game -row_payoff, see `zero_sum_nash`).
    live_row: bool[N]; live_col: bool[M] the members that take part (at least one each).
    iterations: static number of iterations (>= 1).
    predictive: static; False runs CFR+'s plain alternating RM+ (30x to 160x the NashConv
      at 1000 iterations on the games of the module docstring).

  Returns:
    MetaNash(row float32[N], col float32[M], nash_conv float32[]): the linearly averaged
    strategies and their NashConv. Zero-sum games: NashConv -> 0 as iterations grow.
    General-sum games: no guarantee; compare nash_conv with a tolerance.
  """
  live_row = jnp.asarray(live_row, bool)
  live_col = jnp.asarray(live_col, bool)
  a = _mask_payoff(row_payoff, live_row, live_col)
  b = _mask_payoff(col_payoff, live_row, live_col)
  keep = 1.0 if predictive else 0.0

  def body(t, carry):
    regret_row, last_row, regret_col, last_col, mean_row, mean_col = carry
    step = _linear_step(t)
    x = _play(regret_row, last_row, live_row)
    y = _play(regret_col, last_col, live_col)
    regret_row, last_row = _regret_update(regret_row, _dot(a, y), x, live_row)
    last_row = keep * last_row
    mean_row = _mean_add(mean_row, x, step)
    x = _play(regret_row, last_row, live_row)
    regret_col, last_col = _regret_update(regret_col, _dot(x, b), y, live_col)
    last_col = keep * last_col
    mean_col = _mean_add(mean_col, y, step)
    return regret_row, last_row, regret_col, last_col, mean_row, mean_col

  zeros_row = jnp.zeros(live_row.shape, jnp.float32)
  zeros_col = jnp.zeros(live_col.shape, jnp.float32)
  *_, (mean_row, _), (mean_col, _) = jax.lax.fori_loop(
      0, iterations, body, (zeros_row, zeros_row, zeros_col, zeros_col,
                            (zeros_row, zeros_row), (zeros_col, zeros_col)))
  row = _normalize(mean_row, live_row)
  col = _normalize(mean_col, live_col)
  return MetaNash(row, col, nash_conv(a, b, row, col, live_row, live_col))


def zero_sum_nash(payoff: Array, live_row: Array, live_col: Array, iterations: int = 1000,
                  predictive: bool = True) -> MetaNash:
  """`nash` of the zero-sum game in which the row player gets payoff[i, j] (float[N, M]) and
  the column player -payoff[i, j]."""
  payoff = jnp.asarray(payoff, jnp.float32)
  return nash(payoff, -payoff, live_row, live_col, iterations, predictive)


def symmetric_nash(payoff: Array, live: Array, iterations: int = 1000,
                   predictive: bool = True) -> SymmetricNash:
  """A symmetric Nash equilibrium of the live sub-game by (predictive) RM+ in self-play.

  One regret vector R and prediction m (the last instantaneous regrets if `predictive`, else
  0): iteration t (1-based) plays x_t proportional to max(R + m, 0) (uniform over the live
  members where that is all 0, so at first), adds x_t to the average with weight t, and adds
  the regrets of payoff @ x_t against x_t to R (clipped at 0). In a symmetric zero-sum game
  (payoff = -payoff.T) NashConv -> 0 (module docstring); in other symmetric games the result
  is symmetric but not necessarily an equilibrium: check the returned NashConv.

  Args:
    payoff: float[N, N] the return of row member i against column member j (the column
      player's return of (i, j) is payoff[j, i]).
    live: bool[N] the members that take part (at least one).
    iterations: static number of iterations (>= 1).
    predictive: static; False runs plain RM+ in self-play (about 10x the NashConv at 1000
      iterations on the games of the module docstring).

  Returns:
    SymmetricNash(strategy float32[N], nash_conv float32[]).
  """
  live = jnp.asarray(live, bool)
  a = _mask_payoff(payoff, live, live)
  keep = 1.0 if predictive else 0.0

  def body(t, carry):
    regret, last, mean = carry
    x = _play(regret, last, live)
    regret, last = _regret_update(regret, _dot(a, x), x, live)
    return regret, keep * last, _mean_add(mean, x, _linear_step(t))

  zeros = jnp.zeros(live.shape, jnp.float32)
  *_, (mean, _) = jax.lax.fori_loop(0, iterations, body, (zeros, zeros, (zeros, zeros)))
  strategy = _normalize(mean, live)
  return SymmetricNash(strategy, symmetric_nash_conv(a, strategy, live))


# --- projected replicator dynamics --------------------------------------------------------------


def _simplex_projection(v: Array, live: Array, gamma: float) -> Array:
  """float32[N]: the Euclidean projection of `v` restricted to the n live entries onto
  {x : x_i >= gamma, sum x = 1} (0 where not live), by OpenSpiel's sort-based
  `_simplex_projection` (Wang and Carreira-Perpinan 2013)."""
  size = v.shape[0]
  n = live.sum()
  valid = jnp.arange(size) < n
  u = jnp.where(valid, -jnp.sort(jnp.where(live, -v, jnp.inf)), 0.0)   # live, descending
  index = jnp.arange(1, size + 1)
  shift = (1.0 - jnp.cumsum(u) - (n - index) * gamma) / index
  stop = (u + shift <= gamma) | ~valid
  rho = jnp.where(stop.any(), jnp.argmax(stop), size)                   # first stop
  return jnp.where(live, jnp.maximum(v + shift[jnp.maximum(rho - 1, 0)], gamma), 0.0)


def _prd_step(strategy: Array, values: Array, live: Array, dt: float, gamma: float) -> Array:
  """One projected replicator step: x + dt x (u - x.u), projected onto the gamma-simplex."""
  strategy = strategy + dt * strategy * (values - _dot(strategy, values))
  return _simplex_projection(strategy, live, gamma)


def _window_start(iterations: int, average_last: int | None) -> int:
  """The first of the iterates 0 (the uniform start) .. `iterations` that PRD averages."""
  if average_last is None:
    return 0
  return iterations + 1 - min(max(int(average_last), 1), iterations + 1)


def projected_replicator_dynamics(row_payoff: Array, col_payoff: Array, live_row: Array,
                                  live_col: Array, iterations: int = 100_000,
                                  dt: float = 1e-3, gamma: float = 1e-6,
                                  average_last: int | None = None) -> MetaNash:
  """Projected replicator dynamics (PSRO, Lanctot et al. 2017) on the live two-player sub-game.

  Both players start uniform over their live members and step simultaneously, as OpenSpiel's
  `projected_replicator_dynamics` (exact projection): x <- x + dt x (A y - x.A.y), then x
  is projected (Euclidean) onto the live strategies with every probability >= `gamma`
  (likewise y with the column payoff). The result is the mean of the last `average_last` of
  the iterates 0 (the uniform start) .. `iterations`, all of them by default, so every live
  member keeps at least `gamma` probability.

  Args:
    row_payoff: float[N, M]; col_payoff: float[N, M] as in `nash`.
    live_row: bool[N]; live_col: bool[M] the members that take part.
    iterations: static number of steps (default OpenSpiel's 100_000).
    dt: static step size; gamma: static probability floor (OpenSpiel's defaults).
    average_last: static number of final iterates to average (None: all iterations + 1).

  Returns:
    MetaNash(row float32[N], col float32[M], nash_conv float32[]).
  """
  live_row = jnp.asarray(live_row, bool)
  live_col = jnp.asarray(live_col, bool)
  a = _mask_payoff(row_payoff, live_row, live_col)
  b = _mask_payoff(col_payoff, live_row, live_col)
  start = _window_start(iterations, average_last)

  def body(t, carry):
    x, y, mean_x, mean_y = carry
    x, y = (_prd_step(x, _dot(a, y), live_row, dt, gamma),
            _prd_step(y, _dot(x, b), live_col, dt, gamma))
    step = _window_step(t + 1, start)
    return x, y, _mean_add(mean_x, x, step), _mean_add(mean_y, y, step)

  x, y = uniform(live_row), uniform(live_col)
  first = 1.0 if start == 0 else 0.0
  zeros_x, zeros_y = jnp.zeros_like(x), jnp.zeros_like(y)
  *_, (mean_x, _), (mean_y, _) = jax.lax.fori_loop(
      0, iterations, body, (x, y, (first * x, zeros_x), (first * y, zeros_y)))
  row = _normalize(mean_x, live_row)
  col = _normalize(mean_y, live_col)
  return MetaNash(row, col, nash_conv(a, b, row, col, live_row, live_col))


def symmetric_projected_replicator_dynamics(payoff: Array, live: Array,
                                            iterations: int = 100_000, dt: float = 1e-3,
                                            gamma: float = 1e-6,
                                            average_last: int | None = None) -> SymmetricNash:
  """Projected replicator dynamics of one population playing itself: from uniform over the
  live members, x <- x + dt x (payoff @ x - x.payoff.x), projected onto the live strategies
  with every probability >= `gamma`; the result is the mean of the last `average_last` of
  the iterates 0 .. `iterations` (all by default).
  Arguments as in `symmetric_nash` and `projected_replicator_dynamics`.

  Returns:
    SymmetricNash(strategy float32[N], nash_conv float32[]).
  """
  live = jnp.asarray(live, bool)
  a = _mask_payoff(payoff, live, live)
  start = _window_start(iterations, average_last)

  def body(t, carry):
    x, mean = carry
    x = _prd_step(x, _dot(a, x), live, dt, gamma)
    return x, _mean_add(mean, x, _window_step(t + 1, start))

  x = uniform(live)
  first = 1.0 if start == 0 else 0.0
  _, (mean, _) = jax.lax.fori_loop(0, iterations, body, (x, (first * x, jnp.zeros_like(x))))
  strategy = _normalize(mean, live)
  return SymmetricNash(strategy, symmetric_nash_conv(a, strategy, live))


# --- P players ----------------------------------------------------------------------------------


def _players_values(payoff: Array, strategies: Array) -> Array:
  """float32[P, N]: row p the payoff to player p of each of its members against the others'
  strategies (payoff float[N, ..., N, P] with P member axes, strategies float[P, N])."""
  players = strategies.shape[0]
  axes = "abcdefghijklmnop"[:players]
  values = []
  for p in range(players):
    others = [q for q in range(players) if q != p]
    spec = f"{axes},{','.join(axes[q] for q in others)}->{axes[p]}"
    values.append(jnp.einsum(spec, payoff[..., p], *(strategies[q] for q in others),
                             precision=jax.lax.Precision.HIGHEST))
  return jnp.stack(values)


def _mask_players_payoff(payoff: Array, live: Array) -> Array:
  """payoff (float[N, ..., N, P]) with every entry that involves a dead member set to 0."""
  players = live.shape[0]
  mask = jnp.ones(payoff.shape[:-1], bool)
  for p in range(players):
    shape = [1] * players
    shape[p] = -1
    mask = mask & live[p].reshape(shape)
  return jnp.where(mask[..., None], payoff, 0.0).astype(jnp.float32)


def _check_players(payoff: Array, live: Array) -> None:
  players, size = live.shape
  if payoff.shape != (size,) * players + (players,):
    raise ValueError(f"a {players}-player meta-game of {size} members a player has payoff of "
                     f"shape {(size,) * players + (players,)}, got {payoff.shape}")


def players_nash_conv(payoff: Array, strategies: Array, live: Array) -> Array:
  """float32[]: NashConv of a P-player profile on the live sub-game.

  Args:
    payoff: float[N, ..., N, P] (P member axes): payoff[i_0, .., i_{P-1}, p] player p's
      return when player q plays its member i_q.
    strategies: float[P, N] each player's distribution (entries not live are ignored).
    live: bool[P, N] the members that take part, per player.

  Returns:
    The sum over players of (the best live pure deviation's payoff against the others'
    strategies) minus (the profile's payoff); >= 0 up to rounding.
  """
  live = jnp.asarray(live, bool)
  _check_players(payoff, live)
  strategies = jnp.where(live, jnp.asarray(strategies, jnp.float32), 0.0)
  values = _players_values(_mask_players_payoff(payoff, live), strategies)
  return sum(_deviation_gain(values[p], strategies[p], live[p]) for p in range(live.shape[0]))


def players_projected_replicator_dynamics(payoff: Array, live: Array,
                                          iterations: int = 100_000, dt: float = 1e-3,
                                          gamma: float = 1e-6,
                                          average_last: int | None = None) -> PlayersNash:
  """`projected_replicator_dynamics` for P players: every player starts uniform over its
  live members; each step, simultaneously for every p, x_p <- x_p + dt x_p (u_p - x_p.u_p)
  with u_p player p's payoff of each member against the others' current strategies, then
  the projection onto x_p >= `gamma` on the live members; the result is the mean of the last
  `average_last` iterates (all by default). Two players give `projected_replicator_dynamics`
  (tested), three or more OpenSpiel's n-player PRD (tested).

  Args:
    payoff: float[N, ..., N, P] as in `players_nash_conv`.
    live: bool[P, N] the members that take part, per player.
    iterations, dt, gamma, average_last: static, as in `projected_replicator_dynamics`.

  Returns:
    PlayersNash(strategies float32[P, N], nash_conv float32[]).
  """
  live = jnp.asarray(live, bool)
  _check_players(payoff, live)
  players = live.shape[0]
  masked = _mask_players_payoff(payoff, live)
  start = _window_start(iterations, average_last)

  def body(t, carry):
    x, mean = carry
    values = _players_values(masked, x)
    x = jnp.stack([_prd_step(x[p], values[p], live[p], dt, gamma) for p in range(players)])
    return x, _mean_add(mean, x, _window_step(t + 1, start))

  x = jax.vmap(uniform)(live)
  first = 1.0 if start == 0 else 0.0
  _, (mean, _) = jax.lax.fori_loop(0, iterations, body, (x, (first * x, jnp.zeros_like(x))))
  strategies = jax.vmap(_normalize)(mean, live)
  return PlayersNash(strategies, players_nash_conv(payoff, strategies, live))
