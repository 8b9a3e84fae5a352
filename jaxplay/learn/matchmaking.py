"""Matchmaking: who plays the learner's next games (pure, jittable functions).

A population is one stacked pytree of N member slots with a live mask bool[N], so that growth
never recompiles. The training loop keeps, over the members,

  payoff: float32[N, N]  payoff[i, j] member i's mean return against member j (e.g. an EMA of
                         the returns of the training games);
  counts: float32[N, N]  the number of games behind each entry (0: never played).

A matchmaker turns them, with the live mask and the index of the learner (the member being
trained, int32[]), into an opponent distribution float32[N] over the members (exactly 0 for
members not live), then `seat_members` draws a seat -> member map int32[B, P] for the next B
games of P seats from it: the learner in one seat, opponents in the others.

Schemes (`SCHEMES`, by name; `opponent_distribution` dispatches):
  * `self_play`: all mass on the learner.
  * `fictitious`: fictitious self-play, uniform over the live members other than the learner.
  * `pfsp`: AlphaStar's prioritized fictitious self-play (Vinyals et al. 2019), weighting each
    opponent by how often the learner beats it.
  * `psro`: the meta-strategy of PSRO (Lanctot et al. 2017): a solution of the meta-game
    between the members by `jaxplay.eval.meta_solvers` ("uniform", "nash", "prd").
  * `cole`: COLE's partner draw (Li et al. 2023): a softmax over the members' negated
    Shapley values in the cooperative game on the payoff graph, plus a UCB bonus
    (`jaxplay.learn.cole`); shared populations only.
Every distribution but `self_play`'s excludes the learner (per-seat populations: the other
seat's learner); where no other member is live it is all mass on it (self-play) instead.

Per-seat populations. Games whose seats differ (poker) keep one population per seat (one
population shared by both seats diverges on Kuhn and Leduc poker, open_spiel#632). Then the
population is one stacked pytree of P * N slots, seat s's members in slots s * N .. s * N +
N - 1 (`seat_population_ids`), and for two seats

  payoff[i, j]      seat-0 member i's mean return against seat-1 member j;
  col_payoff[i, j]  seat-1 member j's mean return in the same pairing (default -payoff: a
                    zero-sum game);
  counts[i, j]      the games behind both;
  live              bool[N] (both seats alike) or bool[2, N] (row s: seat s's members).

Pass `learner_seat` (0 or 1, static): the learner is member `learner` of that seat's
population, and the opponent distribution is over the other seat's N members. The seats'
populations grow in lockstep, as in OpenSpiel's PSRO (one new best response per seat each
iteration): the other seat's member of the same index is its learner, trained at the same
time, so it is excluded like the learner itself (and is `self_play`'s opponent). Without
`learner_seat` the population is shared by all seats: payoff[i, j] is i's return against j
whatever the seats, and payoff[j, i] is j's.

`learner` is an int32[] array in a compiled loop: a Python int is weakly typed and compiles a
second entry of a jitted matchmaker.
"""

from __future__ import annotations

import inspect
import math
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp

from jaxplay.core.errors import ConfigError, check_int, check_number, check_return_range, is_real
from jaxplay.eval import meta_solvers
from jaxplay.learn import cole as cole_lib

Array = jax.Array

PFSP_WEIGHTINGS = ("hard", "variance")


# --- addressing -------------------------------------------------------------------------------


def seat_population_ids(members: Array, num_members: int) -> Array:
  """int32[..., P]: slot ids in a stacked per-seat population of P * num_members slots.

  Args:
    members: int[..., P] each seat's member index within its own seat's population (as
      `seat_members` returns them), the last axis the seats.
    num_members: N, the capacity of each seat's population (static).

  Returns:
    members[..., s] + s * num_members: seat s's members sit in slots s * N .. s * N + N - 1.
  """
  members = jnp.asarray(members, jnp.int32)
  return members + jnp.arange(members.shape[-1], dtype=jnp.int32) * num_members


def _check_one_of(where: str, option: str, value, allowed: tuple[str, ...]) -> None:
  if value not in allowed:
    raise ConfigError(f"{where}: {option} must be one of {', '.join(map(repr, allowed))}, "
                      f"got {value!r}")


def _check_seat(learner_seat) -> None:
  """ConfigError unless `learner_seat` is None (shared population) or a seat 0 or 1."""
  if learner_seat is not None:
    check_int("matchmaking", "learner_seat (per-seat populations of a two-player game)",
              learner_seat, 0, 1)


def _sides(live: Array, learner: Array, learner_seat: int | None) -> tuple[Array, Array]:
  """(bool[N] the live members of the learner's own population, bool[N] the candidate
  opponents: the live members other than the learner, or the other seat's live members
  other than its learner, the member of index `learner`)."""
  live = jnp.asarray(live, bool)
  if learner_seat is None:
    if live.ndim != 1:
      raise ConfigError(f"matchmaking: live must be bool[N] for a shared population, got shape "
                        f"{live.shape}; pass learner_seat for per-seat populations")
    return live, live & (jnp.arange(live.shape[0]) != learner)
  if live.ndim == 1:
    live = jnp.stack([live, live])
  if live.ndim != 2 or live.shape[0] != 2:
    raise ConfigError(f"matchmaking: live must be bool[N] or bool[2, N] for per-seat "
                      f"populations, got shape {live.shape}")
  return live[learner_seat], live[1 - learner_seat] & (jnp.arange(live.shape[1]) != learner)


def _finish(weight: Array, candidates: Array, learner: Array) -> Array:
  """float32[N]: `weight` (>= 0) over the candidates, normalized; uniform over the candidates
  where the weights are all 0; all mass on index `learner` where there is no candidate."""
  weight = jnp.where(candidates, jnp.asarray(weight, jnp.float32), 0.0)
  total = weight.sum()
  dist = jnp.where(total > 0, weight / jnp.where(total > 0, total, 1.0),
                   meta_solvers.uniform(candidates))
  alone = jax.nn.one_hot(learner, candidates.shape[0], dtype=jnp.float32)
  return jnp.where(candidates.any(), dist, alone)


def _learner_view(payoff: Array, counts: Array, learner: Array, learner_seat: int | None,
                  col_payoff: Array | None) -> tuple[Array, Array]:
  """(float32[N] the learner's mean return against each member of the opponents' population,
  float32[N] the games behind each)."""
  payoff = jnp.asarray(payoff, jnp.float32)
  counts = jnp.asarray(counts, jnp.float32)
  if learner_seat == 1:
    col = -payoff if col_payoff is None else jnp.asarray(col_payoff, jnp.float32)
    return col[:, learner], counts[:, learner]
  return payoff[learner], counts[learner]


# --- opponent distributions -------------------------------------------------------------------


def self_play(payoff: Array, counts: Array, live: Array, learner: Array, *,
              learner_seat: int | None = None, col_payoff: Array | None = None) -> Array:
  """float32[N]: all mass on index `learner` (per-seat populations: the other seat's learner,
  the member of the same index). payoff, counts and col_payoff are not used, live only for
  its size; the signature is the one of every scheme (see `fictitious`)."""
  del payoff, counts, col_payoff
  _check_seat(learner_seat)
  return jax.nn.one_hot(learner, jnp.shape(live)[-1], dtype=jnp.float32)


def fictitious(payoff: Array, counts: Array, live: Array, learner: Array, *,
               learner_seat: int | None = None, col_payoff: Array | None = None) -> Array:
  """Fictitious self-play: float32[N] uniform over the live members other than the learner.

  Args:
    payoff: float32[N, N] mean returns (module docstring); not used here.
    counts: float32[N, N] games behind each payoff entry; not used here.
    live: bool[N] the live members (per-seat populations: bool[N] or bool[2, N]).
    learner: int32[] the member being trained.
    learner_seat: static; None for a shared population, else the learner's seat (0 or 1) in
      per-seat populations, and the distribution is uniform over the other seat's live
      members but its learner (module docstring).
    col_payoff: per-seat populations' column payoff (module docstring); not used here.

  Returns:
    float32[N], 0 for members not live; all mass on the learner if no other is live.
  """
  del payoff, counts, col_payoff
  _check_seat(learner_seat)
  _, candidates = _sides(live, learner, learner_seat)
  return _finish(jnp.ones(candidates.shape, jnp.float32), candidates, learner)


def win_probability(payoff: Array, counts: Array, learner: Array, *,
                    return_range: tuple[float, float] = (-1.0, 1.0),
                    learner_seat: int | None = None,
                    col_payoff: Array | None = None) -> Array:
  """float32[N]: PFSP's estimate p[j] of the learner's win probability against member j.

  The learner's mean return r against j is mapped linearly from `return_range` = (lo, hi)
  onto [0, 1] and clipped: p = clip((r - lo) / (hi - lo), 0, 1). With returns +1 / 0 / -1
  for a win / draw / loss (the default range) this is the expected score, (r + 1) / 2: a
  draw counts half a win. Members never played (count 0) get p = 0.5. Games with other
  return scales (Kuhn poker: [-2, 2]; Leduc: [-13, 13]) pass their range.

  Args:
    payoff, counts: float32[N, N] as in the module docstring.
    learner: int32[] the member being trained.
    return_range: static (lo, hi), lo < hi.
    learner_seat, col_payoff: per-seat populations (module docstring); the learner's return
      in seat 1 against seat-0 member i is col_payoff[i, learner].
  """
  lo, hi = _check_range(return_range)
  mean, count = _learner_view(payoff, counts, learner, learner_seat, col_payoff)
  p = jnp.clip((mean - lo) / (hi - lo), 0.0, 1.0)
  return jnp.where(count > 0, p, 0.5)


def _check_range(return_range) -> tuple[float, float]:
  """(lo, hi) as floats, or ConfigError."""
  return check_return_range("pfsp", return_range)


def pfsp(payoff: Array, counts: Array, live: Array, learner: Array, *,
         weighting: str = "hard", k: float = 2.0,
         return_range: tuple[float, float] = (-1.0, 1.0), learner_seat: int | None = None,
         col_payoff: Array | None = None) -> Array:
  """Prioritized fictitious self-play (AlphaStar, Vinyals et al. 2019): float32[N].

  With p[j] the learner's win probability against member j (`win_probability`), each
  candidate opponent (a live member other than the learner; per-seat populations: a live
  member of the other seat other than its learner) gets weight

    "hard":     f_hard(p) = (1 - p)^k   the opponents the learner loses to, most;
    "variance": f_var(p)  = p (1 - p)   the opponents of the learner's level, most;

  normalized over the candidates. If every weight is 0 (the learner always wins, with
  "hard") the distribution is uniform over the candidates; if there is no candidate it is
  all mass on the learner.

  Args:
    payoff, counts, live, learner, learner_seat, col_payoff: as in `fictitious`.
    weighting: static, "hard" or "variance".
    k: static exponent of f_hard (>= 0); not used by "variance".
    return_range: static (lo, hi) of the returns (`win_probability`).

  Returns:
    float32[N], 0 for members not live.
  """
  _check_seat(learner_seat)
  _check_one_of("pfsp", "weighting", weighting, PFSP_WEIGHTINGS)
  if not (is_real(k) and 0 <= k < math.inf):
    raise ConfigError(f"pfsp: k must be a finite number >= 0, got {k!r}")
  _, candidates = _sides(live, learner, learner_seat)
  p = win_probability(payoff, counts, learner, return_range=return_range,
                      learner_seat=learner_seat, col_payoff=col_payoff)
  weight = (1.0 - p) ** k if weighting == "hard" else p * (1.0 - p)
  return _finish(weight, candidates, learner)


_SYMMETRIC_SOLVERS = {"nash": meta_solvers.symmetric_nash,
                      "prd": meta_solvers.symmetric_projected_replicator_dynamics}
_TWO_PLAYER_SOLVERS = {"nash": meta_solvers.nash,
                       "prd": meta_solvers.projected_replicator_dynamics}
# The static options each meta-solver takes (the same names in its symmetric and two-player
# forms): the solver's parameters after the payoff and the live mask.
_SOLVER_OPTIONS = {"uniform": ()} | {
    name: tuple(inspect.signature(solver).parameters)[2:]
    for name, solver in _SYMMETRIC_SOLVERS.items()}
META_SOLVERS = tuple(_SOLVER_OPTIONS)  # the on-device meta-solvers: "uniform", "nash", "prd"


def psro(payoff: Array, counts: Array, live: Array, learner: Array, *,
         meta_solver: str = "nash", learner_seat: int | None = None,
         col_payoff: Array | None = None, **solver_options) -> Array:
  """PSRO's meta-strategy over the opponents: float32[N].

  The meta-game is the live sub-game without the learner (PSRO's population before the new
  best response joins it), entries never played (count 0) taken as 0, a zero-sum draw:

    shared population: the symmetric game of the candidates (live members other than the
      learner) against each other, payoff[i, j] row i's return against column j; "nash" is
      `meta_solvers.symmetric_nash`, "prd" `symmetric_projected_replicator_dynamics`;
    per-seat populations: the two-player game of the learner's seat population (its live
      members but the learner, or the learner alone if it is the only one) against the
      candidates (the other seat's live members but its learner), payoff and col_payoff as
      in the module docstring; "nash" is `meta_solvers.nash`, "prd"
      `projected_replicator_dynamics`, and the result is the other seat's strategy.

  "uniform" is uniform over the candidates (PSRO with a uniform meta-solver is fictitious
  play over the population). Where there is no candidate: all mass on the learner.

  Args:
    payoff, counts, live, learner, learner_seat, col_payoff: as in `fictitious`.
    meta_solver: static, "uniform", "nash" or "prd".
    **solver_options: static options of the meta-solver: "nash": iterations (default 1000),
      predictive; "prd": iterations (default 100_000), dt, gamma, average_last.

  Returns:
    float32[N], 0 for members not live.
  """
  _check_seat(learner_seat)
  _check_one_of("psro", "meta_solver", meta_solver, META_SOLVERS)
  unknown = sorted(set(solver_options) - set(_SOLVER_OPTIONS[meta_solver]))
  if unknown:
    allowed = ", ".join(_SOLVER_OPTIONS[meta_solver]) or "none"
    raise ConfigError(f"psro: meta_solver {meta_solver!r} takes the options {allowed}; got "
                      f"{', '.join(unknown)}")
  own, candidates = _sides(live, learner, learner_seat)
  if meta_solver == "uniform":
    return _finish(jnp.ones(candidates.shape, jnp.float32), candidates, learner)
  counts = jnp.asarray(counts, jnp.float32)
  played = lambda x: jnp.where(counts > 0, jnp.asarray(x, jnp.float32), 0.0)
  if learner_seat is None:
    solution = _SYMMETRIC_SOLVERS[meta_solver](played(payoff), candidates, **solver_options)
    return _finish(solution.strategy, candidates, learner)
  is_learner = jnp.arange(own.shape[0]) == learner
  others = own & ~is_learner
  own = jnp.where(others.any(), others, own | is_learner)
  row = played(payoff)
  col = -row if col_payoff is None else played(col_payoff)
  solve = _TWO_PLAYER_SOLVERS[meta_solver]
  if learner_seat == 0:
    strategy = solve(row, col, own, candidates, **solver_options).col
  else:
    strategy = solve(row, col, candidates, own, **solver_options).row
  return _finish(strategy, candidates, learner)


COLE_OPTIONS = ("num_permutations", "beta", "ucb_c", "damping", "iterations",
                "clip_marginals", "seed", "self_play", "uniform")


def cole(payoff: Array, counts: Array, live: Array, learner: Array, *,
         num_permutations: int = cole_lib.NUM_PERMUTATIONS, beta: float = cole_lib.BETA,
         ucb_c: float = cole_lib.UCB_C, damping: float = cole_lib.DAMPING,
         iterations: int = cole_lib.PAGERANK_ITERATIONS, clip_marginals: bool = True,
         seed: int = 0, self_play: float = 0.0, uniform: float = 0.0,
         learner_seat: int | None = None, col_payoff: Array | None = None) -> Array:
  """COLE's partner distribution (Li et al. 2023, COLE_SV): float32[N].

  The live members, the learner included, are the players of COLE's cooperative game on the
  payoff graph; their Shapley values phi (`cole.graphic_shapley`, `num_permutations` random
  orders) weight the candidates (the live members other than the learner) by
  `cole.cole_priority`: softmax(-beta * phi / ||phi||) plus ucb_c times the normalized UCB
  bonus sqrt(sum visits) / (1 + visits), the visits being the learner's games with each
  member (counts[learner]: since the member joined, or since the generation began where
  `ColeGenerations(visits="generation")` forgets them at its end, as COLE-Platform counts
  its draws of the current iteration). The members the population cooperates with least
  come first.
  Payoffs are taken as they are, played or not. A `self_play` share of the mass goes to the
  learner itself (COLE-Platform trains half its games in self-play, RATIO "2:2"), and a
  `uniform` share of the rest is spread evenly over the candidates, as fictitious co-play
  draws its partners (an extension of ours, 0 in COLE: every member keeps a floor of mass
  whatever its Shapley value). Where no other member is live: all mass on the learner.

  The orders are drawn from a key derived from the arguments (schemes take no key): the
  key of `seed`, folded with the bits of counts.sum() and with the learner, so a new draw
  whenever games were played, and the same one for the same state.

  Args:
    payoff, counts, live, learner: as in `fictitious`.
    num_permutations, beta, damping, iterations, clip_marginals: static options of
      `cole.graphic_shapley` (COLE: 200 orders, beta 10, damping 0.85).
    ucb_c: static weight of the bonus (COLE: 1).
    seed: static int >= 0 of the orders' key.
    self_play: static, in [0, 1]: the learner's own share.
    uniform: static, in [0, 1]: the share of the partners' mass (1 - self_play) uniform
      over the candidates; the rest by COLE's priority.
    learner_seat: must be None: COLE is for a population shared by both seats
      (common-payoff games).
    col_payoff: not used.

  Returns:
    float32[N], 0 for members not live.
  """
  del col_payoff
  if learner_seat is not None:
    raise ConfigError(f"cole: the scheme needs one population shared by the seats "
                      f"(learner_seat None), got learner_seat={learner_seat!r}")
  cole_lib.check_options("cole", num_permutations=num_permutations, beta=beta, ucb_c=ucb_c,
                         damping=damping, iterations=iterations, clip_marginals=clip_marginals,
                         seed=seed)
  own, candidates = _sides(live, learner, None)
  counts = jnp.asarray(counts, jnp.float32)
  games = jax.lax.bitcast_convert_type(counts.sum(), jnp.uint32)
  key = jax.random.fold_in(jax.random.fold_in(jax.random.key(seed), games), learner)
  phi = cole_lib.graphic_shapley(payoff, own, key, num_permutations, beta=beta,
                                 damping=damping, iterations=iterations,
                                 clip_marginals=clip_marginals)
  weight = cole_lib.cole_priority(phi, candidates, counts[learner], beta=beta, ucb_c=ucb_c)
  self_play = check_number("cole", "self_play", self_play, 0.0, 1.0)
  uniform = check_number("cole", "uniform", uniform, 0.0, 1.0)
  partners = ((1.0 - uniform) * _finish(weight, candidates, learner)
              + uniform * _finish(jnp.ones_like(weight), candidates, learner))
  return ((1.0 - self_play) * partners
          + self_play * jax.nn.one_hot(learner, payoff.shape[0], dtype=jnp.float32))


SCHEMES: dict[str, Callable[..., Array]] = {
    "self_play": self_play, "fictitious": fictitious, "pfsp": pfsp, "psro": psro,
    "cole": cole}
"""The opponent distributions by name. Each is called as
scheme(payoff, counts, live, learner, *, learner_seat=None, col_payoff=None, **options)."""


def get_scheme(name: str) -> Callable[..., Array]:
  """The opponent distribution called `name`, or ConfigError naming the schemes."""
  _check_one_of("matchmaking", "scheme", name, tuple(SCHEMES))
  return SCHEMES[name]


def opponent_distribution(scheme: str, payoff: Array, counts: Array, live: Array,
                          learner: Array, *, learner_seat: int | None = None,
                          col_payoff: Array | None = None, **options) -> Array:
  """float32[N]: the opponent distribution of the scheme called `scheme` (static), with its
  options (e.g. weighting="variance" for "pfsp", meta_solver="nash" for "psro",
  num_permutations=100 for "cole")."""
  scheme_fn = get_scheme(scheme)
  if scheme in ("self_play", "fictitious") and options:
    raise ConfigError(f"matchmaking: scheme {scheme!r} takes no options; got "
                      f"{', '.join(sorted(options))}")
  if scheme == "pfsp":
    unknown = sorted(set(options) - {"weighting", "k", "return_range"})
    if unknown:
      raise ConfigError(f"matchmaking: scheme 'pfsp' takes the options weighting, k, "
                        f"return_range; got {', '.join(unknown)}")
  if scheme == "cole":
    unknown = sorted(set(options) - set(COLE_OPTIONS))
    if unknown:
      raise ConfigError(f"matchmaking: scheme 'cole' takes the options "
                        f"{', '.join(COLE_OPTIONS)}; got {', '.join(unknown)}")
  return scheme_fn(payoff, counts, live, learner, learner_seat=learner_seat,
                   col_payoff=col_payoff, **options)


# --- seat maps ----------------------------------------------------------------------------------


def seat_members(key: Array, learner: Array, opponents: Array, num_games: int,
                 num_players: int, learner_seat: int | None = None) -> Array:
  """int32[B, P]: the member in each seat of each of the next B games.

  Per game the learner takes one seat: uniformly random if `learner_seat` is None, else
  seat `learner_seat` (per-seat populations, where the learner belongs to one seat's
  population). Every other seat gets an opponent drawn independently from `opponents`.

  Members are indices within a population: in a shared population they are its slots; with
  per-seat populations, seat s's entry is an index into seat s's population, and
  `seat_population_ids(members, N)` gives the slots of the stacked population.

  Args:
    key: PRNG key; the draw is deterministic given it.
    learner: int32[] the learner's index.
    opponents: float32[N] the opponent distribution every seat draws from, or float32[P, N]
      one per seat (the learner's row is not used); members with probability 0 are never
      drawn. It must have some mass for every seat that draws.
    num_games: B (static, >= 1); num_players: P (static, >= 1).
    learner_seat: static; None for a random seat per game, else the seat (0 .. P - 1).

  Returns:
    int32[B, P]: members[b, s] the member in seat s of game b.
  """
  num_games = check_int("seat_members", "num_games", num_games, 1)
  num_players = check_int("seat_members", "num_players", num_players, 1)
  if learner_seat is not None:
    learner_seat = check_int("seat_members", "learner_seat", learner_seat, 0, num_players - 1)
  opponents = jnp.asarray(opponents, jnp.float32)
  if opponents.ndim not in (1, 2) or (opponents.ndim == 2 and opponents.shape[0] != num_players):
    raise ConfigError(f"seat_members: opponents must be float32[N] or float32[P, N] with P = "
                      f"num_players = {num_players}, got shape {opponents.shape}")
  seat_key, draw_key = jax.random.split(key)
  if learner_seat is None:
    seat = jax.random.randint(seat_key, (num_games,), 0, num_players, dtype=jnp.int32)
  else:
    seat = jnp.full((num_games,), learner_seat, jnp.int32)
  logits = jnp.log(jnp.broadcast_to(opponents, (num_players, opponents.shape[-1])))
  drawn = jax.random.categorical(draw_key, logits, axis=-1, shape=(num_games, num_players))
  is_learner = jnp.arange(num_players, dtype=jnp.int32) == seat[:, None]
  return jnp.where(is_learner, jnp.asarray(learner, jnp.int32), drawn.astype(jnp.int32))


class Matches(NamedTuple):
  """What `matchmake` returns.

  Attributes:
    members: int32[B, P] the member in each seat of each game (`seat_members`).
    opponents: float32[N] the opponent distribution they were drawn from.
  """

  members: Array
  opponents: Array


def matchmake(key: Array, payoff: Array, counts: Array, live: Array, learner: Array, *,
              scheme: str, num_games: int, num_players: int, learner_seat: int | None = None,
              col_payoff: Array | None = None, **options) -> Matches:
  """The next B games: `opponent_distribution`, then `seat_members`.

  Args:
    key: PRNG key.
    payoff, counts, live, learner, col_payoff: as in `fictitious`.
    scheme: static name of the scheme (`SCHEMES`); options: its static options.
    num_games: B; num_players: P (static).
    learner_seat: static; None: a shared population and the learner in a random seat per
      game; 0 or 1: per-seat populations of a two-player game, the learner always in that
      seat (members are then indices within each seat's population, see
      `seat_population_ids`).

  Returns:
    Matches(members int32[B, P], opponents float32[N]).
  """
  _check_seat(learner_seat)
  if learner_seat is not None and num_players != 2:
    raise ConfigError(f"matchmake: per-seat populations (learner_seat) need num_players = 2, "
                      f"got {num_players!r}")
  opponents = opponent_distribution(scheme, payoff, counts, live, learner,
                                    learner_seat=learner_seat, col_payoff=col_payoff, **options)
  members = seat_members(key, learner, opponents, num_games, num_players, learner_seat)
  return Matches(members, opponents)


def distribution_spread(opponents: Array, learner: Array,
                        pool: Array | None = None) -> dict[str, Array]:
  """How a learner's opponent distribution spreads over a shared population (its metrics).

    self_play_share     the mass on the learner itself;
    effective_partners  exp of the entropy of the mass on the others, renormalized: K for K
                        members drawn alike, fewer the more it leans on some (0: none);
    pool_share          (with `pool`) the mass on those members, e.g. FCP's or COLE's pool.

  Args:
    opponents: float32[N] the distribution (`opponent_distribution`), summing to 1.
    learner: int32[] its slot.
    pool: bool[N] or None.

  Returns:
    float32[] values by name (no "pool_share" without `pool`).
  """
  opponents = jnp.asarray(opponents, jnp.float32)
  own = jnp.arange(opponents.shape[0]) == learner
  others = jnp.where(own, 0.0, opponents)
  total = others.sum()
  q = others / jnp.where(total > 0, total, 1.0)
  entropy = -jnp.where(q > 0, q * jnp.log(jnp.where(q > 0, q, 1.0)), 0.0).sum()
  spread = {"self_play_share": jnp.where(own, opponents, 0.0).sum(),
            "effective_partners": jnp.where(total > 0, jnp.exp(entropy), 0.0)}
  if pool is not None:
    spread["pool_share"] = jnp.where(jnp.asarray(pool, bool), opponents, 0.0).sum()
  return spread
