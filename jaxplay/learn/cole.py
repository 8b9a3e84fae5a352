"""COLE's pieces as pure, jittable functions over a fixed-capacity population (a live mask).

COLE (Li et al. 2023, "Cooperative Open-ended Learning Framework for Zero-shot Coordination",
ICML; the practical algorithm COLE_SV) trains one learner against a growing population of
its own frozen snapshots in a two-player common-payoff game. The population's cross-play
payoffs are a weighted directed graph (the "graphic-form game"); a cooperative game on it
values each coalition of members, each member's Shapley value measures how much it adds to
the cooperation of the population, and the learner's partners are drawn with priority to
the members of low Shapley value, the ones the population is "cooperatively incompatible"
with. The facts below are read from the authors' code (liyang619/COLE-Platform,
human_aware_rl/pbt/{shapley_value,game_graph,utils,game_shapley_pbt}.py) and the JAX port
in jax-aht (LARG/jax-aht, open_ended_training/{cole,shapley_utils}.py,
agents/population_buffer.py); where they differ, the authors' code is followed and the
port's choice named.

    phi = graphic_shapley(payoff, live, key, num_permutations=200)     # float32[N]
    partners = cole_priority(phi, candidates, visits)                  # float32[N]
    admit = cole_admits(payoff, live, born, learner)                   # bool[]
    slot = cole_join_slot(key, live, born, protected=is_learner)       # int32[]

`exact_shapley` is the same Shapley value computed exactly by enumerating every coalition
(capacity <= 12), to check the Monte-Carlo estimate. The matchmaking scheme "cole"
(`jaxplay.learn.matchmaking.cole`) chains the first two.

Everything takes the full capacity N and a live mask bool[N]: the live members are the
players, dead slots get 0 and take part in nothing, and changing the mask compiles nothing.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from jaxplay.core.errors import ConfigError, check_int, check_number, is_real

Array = jax.Array

# Defaults of the authors' code (COLE-Platform): Shapley_Value(mc_times=200); GameGraph.inv_WPR
# exp_prob(-PR, t=10); networkx.pagerank(alpha=0.85, max_iter=100, tol=1e-6);
# inversed_ucb_shapley_value(c=1); update_main_pop percent 0.1; pop_dequeue: one of the 10
# oldest members.
NUM_PERMUTATIONS = 200
BETA = 10.0
DAMPING = 0.85
PAGERANK_ITERATIONS = 100
PAGERANK_TOL = 1e-6
UCB_C = 1.0
RECENT_FRACTION = 0.1
OLDEST = 10
EXACT_MAX_MEMBERS = 12
# What the UCB bonus counts as a member's visits (`cole_generations.ColeGenerations`): the
# learner's games with it over the run ("run", ours until 2026-12-06) or in the current
# generation ("generation": COLE-Platform resets its draw counts every iteration).
VISITS = ("run", "generation")


# --- the cooperative game ---------------------------------------------------------------------


def pagerank(payoff: Array, coalition: Array, *, damping: float = DAMPING,
             iterations: int = PAGERANK_ITERATIONS) -> Array:
  """float32[N]: weighted PageRank of the coalition's sub-graph, 0 outside it.

  The graph is the coalition's complete directed graph with self-loops, edge i -> j of
  weight max(payoff[i, j], 0) (COLE-Platform's GameGraph builds it from the payoffs, which are
  Overcooked returns >= 0; jax-aht clips negatives likewise). As networkx.pagerank: the walk
  follows an out-edge with probability proportional to its weight, teleports uniformly over
  the coalition with probability 1 - damping, and a member with no out-weight (dangling)
  teleports uniformly; power iterations from the uniform vector until the L1 change is below
  |S| * 1e-6, at most `iterations` (static).

  Args:
    payoff: float32[N, N] payoff[i, j] member i's mean return with member j.
    coalition: bool[N] the coalition S.
  """
  weight = jnp.maximum(jnp.asarray(payoff, jnp.float32), 0.0)
  member = jnp.asarray(coalition, jnp.float32)
  size = member.sum()
  out = (weight @ member) * member                         # out-weight within S
  has_out = out > 0
  dangling = member * (~has_out)
  teleport = member / jnp.maximum(size, 1.0)

  def step(rank):
    flow = jnp.where(has_out, rank / jnp.where(has_out, out, 1.0), 0.0)
    spread = ((flow * member) @ weight) * member
    return (1.0 - damping) * teleport + damping * (spread + (rank @ dangling) * teleport)

  def cond(carry):  # an empty coalition stops at once (under vmap it would hold up the rest)
    rank, last, i = carry
    return (size > 0) & (i < iterations) & (jnp.abs(rank - last).sum() >= size * PAGERANK_TOL)

  def body(carry):
    rank, _, i = carry
    return step(rank), rank, i + 1

  rank, _, _ = jax.lax.while_loop(cond, body, (step(teleport), teleport, jnp.int32(1)))
  return rank


def coalition_value(payoff: Array, coalition: Array, *, beta: float = BETA,
                    damping: float = DAMPING, iterations: int = PAGERANK_ITERATIONS) -> Array:
  """float32[]: COLE's characteristic function v(S) of the coalition S (bool[N]).

    PR     = `pagerank` of S's sub-graph of the payoffs;
    sigma  = softmax over S of -beta * PR   (COLE's "inverse weighted PageRank": weight on
             the members the others reach least, the hard partners);
    v(S)   = max(0, (1 / |S|) * sum_{i in S} sum_{j in S} sigma[j] * payoff[i, j]),
    v({})  = 0.

  That is the average over S's members of their sigma-weighted return with S's members,
  clipped at 0 (COLE-Platform shapley_value.c_value and game_graph.inv_WPR, with
  exp_prob(x, t) = softmax(x * t) and t = 10: beta multiplies). v is not the graphic game
  v(S) = sum of the edge weights inside S, whose Shapley value would be half of each
  member's weighted degree in closed form: sigma depends on the whole coalition, so the
  Shapley value has no closed form and `exact_shapley` enumerates coalitions. (jax-aht's
  shapley_utils.coalition_value applies a softmax to PR first and divides by its
  temperature 10 instead of multiplying.)
  """
  payoff = jnp.asarray(payoff, jnp.float32)
  coalition = jnp.asarray(coalition, bool)
  member = coalition.astype(jnp.float32)
  size = member.sum()
  rank = pagerank(payoff, coalition, damping=damping, iterations=iterations)
  logits = jnp.where(coalition, -beta * rank, -jnp.inf)
  sigma = jnp.where(coalition, jax.nn.softmax(jnp.where(size > 0, logits, 0.0)), 0.0)
  value = member @ (payoff @ sigma) / jnp.maximum(size, 1.0)
  return jnp.where(size > 0, jnp.maximum(value, 0.0), 0.0)


# --- Shapley values -------------------------------------------------------------------------------


def graphic_shapley(payoff: Array, live: Array, key: Array,
                    num_permutations: int = NUM_PERMUTATIONS, *, beta: float = BETA,
                    damping: float = DAMPING, iterations: int = PAGERANK_ITERATIONS,
                    clip_marginals: bool = True) -> Array:
  """float32[N]: Monte-Carlo Shapley values of COLE's cooperative game among the live members.

  The players are the live members, the characteristic function `coalition_value` on the
  payoff graph as given (directed: payoff[i, j] member i's mean return with member j; COLE's
  Shapley values use the raw cross-play matrix, only its admission test symmetrizes it). As
  COLE-Platform's Shapley_Value: `num_permutations` uniformly random orders of the live
  members; in each, a member's marginal contribution is v(its predecessors and it) - v(its
  predecessors), clipped at 0 with `clip_marginals` (COLE's code does; without it the
  estimate is the plain Shapley value, and in every order the marginals sum to v(live));
  phi[i] is the mean over the orders. Each order costs N values v (one PageRank each), all
  vmapped: N * num_permutations PageRanks of N x N, no Python loop.

  Args:
    payoff: float32[N, N] the cross-play payoffs.
    live: bool[N] the members that play; dead ones get exactly 0.
    key: PRNG key of the orders.
    num_permutations: static, >= 1 (COLE: 200; jax-aht samples 50 coalitions instead).
    beta, damping, iterations: static, of `coalition_value`.
    clip_marginals: static, clip each marginal contribution at 0 (COLE's code).

  Returns:
    float32[N], 0 for members not live.
  """
  check_options("graphic_shapley", num_permutations=num_permutations, beta=beta,
                damping=damping, iterations=iterations, clip_marginals=clip_marginals)
  payoff = jnp.asarray(payoff, jnp.float32)
  live = jnp.asarray(live, bool)
  n = live.shape[0]
  value = lambda coalition: coalition_value(payoff, coalition, beta=beta, damping=damping,
                                            iterations=iterations)
  prefix_sizes = jnp.arange(1, n + 1)

  def one_order(order_key):
    # position[i]: slot i's place in a uniform order of all N slots; restricted to the live
    # slots it is a uniform order of the live members. prefix k: the live slots among the
    # first k places, and slot i's predecessors are prefix position[i].
    position = jnp.argsort(jax.random.permutation(order_key, n))
    prefixes = live[None, :] & (position[None, :] < prefix_sizes[:, None])    # [N, N]
    values = jnp.concatenate([jnp.zeros((1,), jnp.float32), jax.vmap(value)(prefixes)])
    marginal = values[position + 1] - values[position]
    return jnp.maximum(marginal, 0.0) if clip_marginals else marginal

  phi = jax.vmap(one_order)(jax.random.split(key, num_permutations)).mean(0)
  return jnp.where(live, phi, 0.0)


def _coalitions(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
  """Static tables for `exact_shapley`: (bool[2^n, n] coalition m's members (bit i of m),
  int[n, 2^(n-1)] the coalitions without member i, the same with member i added)."""
  ids = np.arange(2 ** n)
  members = ((ids[:, None] >> np.arange(n)) & 1).astype(bool)
  without = np.stack([ids[~members[:, i]] for i in range(n)])
  return members, without, without | (1 << np.arange(n))[:, None]


def exact_shapley(payoff: Array, live: Array, *, beta: float = BETA, damping: float = DAMPING,
                  iterations: int = PAGERANK_ITERATIONS, clip_marginals: bool = True) -> Array:
  """float32[N]: the value `graphic_shapley` estimates, exactly, for a capacity N <= 12.

  Over the live members (n of them) it is, for live i,

    phi[i] = sum_{S subset of live - {i}} |S|! (n - |S| - 1)! / n! * f(v(S + i) - v(S)),

  f the identity, or max(., 0) with `clip_marginals` (the expectation over uniform orders of
  the clipped marginal, the quantity COLE's sampler averages). v is evaluated on all 2^N
  coalitions of slots (static tables built at trace time; those with dead slots weigh 0).

  Raises:
    ConfigError: a capacity above 12, or a bad option.
  """
  check_options("exact_shapley", beta=beta, damping=damping, iterations=iterations,
                clip_marginals=clip_marginals)
  payoff = jnp.asarray(payoff, jnp.float32)
  live = jnp.asarray(live, bool)
  n = live.shape[0]
  if n > EXACT_MAX_MEMBERS:
    raise ConfigError(f"exact_shapley: enumerates 2^N coalitions, so N must be at most "
                      f"{EXACT_MAX_MEMBERS}, got {n}; use graphic_shapley")
  members, without, with_i = _coalitions(n)
  values = jax.vmap(lambda c: coalition_value(payoff, c, beta=beta, damping=damping,
                                              iterations=iterations))(jnp.asarray(members))
  marginal = values[with_i] - values[without]                         # [N, 2^(N-1)]
  if clip_marginals:
    marginal = jnp.maximum(marginal, 0.0)
  inside = ~(jnp.asarray(members[without]) & ~live).any(-1)            # S within live
  size = jnp.asarray(members[without].sum(-1), jnp.float32)            # |S|
  num_live = live.sum().astype(jnp.float32)
  rest = jnp.where(inside, num_live - size, 1.0)                       # n - |S| >= 1 inside
  log_weight = (jax.scipy.special.gammaln(size + 1) + jax.scipy.special.gammaln(rest)
                - jax.scipy.special.gammaln(num_live + 1))
  phi = jnp.where(inside, jnp.exp(log_weight) * marginal, 0.0).sum(-1)
  return jnp.where(live, phi, 0.0)


# --- partners -------------------------------------------------------------------------------------


def _l2_normalized(x: Array, mask: Array) -> Array:
  """x over the mask divided by its L2 norm (sklearn.preprocessing.normalize; zeros stay)."""
  x = jnp.where(mask, x, 0.0)
  norm = jnp.sqrt((x * x).sum())
  return x / jnp.where(norm > 0, norm, 1.0)


def cole_priority(shapley: Array, candidates: Array, visits: Array | None = None, *,
                  beta: float = BETA, ucb_c: float = UCB_C) -> Array:
  """float32[N]: COLE's partner distribution over the candidates, low Shapley value first.

  As COLE-Platform's utils.inversed_ucb_shapley_value (the partner draw of COLE_SV):

    x      = phi / ||phi||_2                   over the candidates (0 if phi is all 0);
    prior  = softmax over the candidates of -beta * x   (beta = 10: exp_prob(-x, t=10));
    u[j]   = sqrt(sum visits) / (1 + visits[j]), then u / ||u||_2   (UCB; 0 before any visit);
    p[j]   proportional to prior[j] + ucb_c * u[j].

  A softmax of the negated, normalized Shapley values, not a rank-based priority: the lower a
  member's value, the likelier a partner; the bonus favours rarely played members. (jax-aht
  instead min-max normalizes phi, takes 1 - phi / sum, adds 0.1 * sqrt(total / (1 + visits))
  and samples a softmax of that.)

  Args:
    shapley: float32[N] the members' Shapley values (`graphic_shapley`).
    candidates: bool[N] the members that may be drawn.
    visits: float32[N] the games already played with each member (COLE counts the partner
      draws of the current iteration), or None: no bonus.
    beta: static inverse temperature (>= 0); ucb_c: static weight of the bonus (>= 0).

  Returns:
    float32[N] summing to 1 over the candidates (0 elsewhere); all 0 if there is none.
  """
  check_options("cole_priority", beta=beta, ucb_c=ucb_c)
  candidates = jnp.asarray(candidates, bool)
  x = _l2_normalized(jnp.asarray(shapley, jnp.float32), candidates)
  prior = jnp.where(candidates,
                    jax.nn.softmax(jnp.where(candidates, -beta * x, -jnp.inf)), 0.0)
  prior = jnp.where(candidates.any(), prior, 0.0)
  weight = prior
  if visits is not None:
    visits = jnp.where(candidates, jnp.asarray(visits, jnp.float32), 0.0)
    bonus = jnp.sqrt(visits.sum()) / (1.0 + visits)
    weight = prior + ucb_c * _l2_normalized(bonus, candidates)
  total = weight.sum()
  return jnp.where(candidates, weight / jnp.where(total > 0, total, 1.0), 0.0)


# --- joining the population ---------------------------------------------------------------------


def _age_order(live: Array, born: Array, newest: Array | None = None) -> Array:
  """int32[N]: each live member's place from the oldest (0): by `born`, then by slot; member
  `newest` (if given) last. Dead slots get N."""
  live = jnp.asarray(live, bool)
  n = live.shape[0]
  born = jnp.asarray(born, jnp.int32)
  slot = jnp.arange(n)
  if newest is not None:
    born = jnp.where(slot == newest, jnp.iinfo(jnp.int32).max, born)
  before = (born[None, :] < born[:, None]) | ((born[None, :] == born[:, None])
                                              & (slot[None, :] < slot[:, None]))
  place = (before & live[None, :]).sum(-1)
  return jnp.where(live, place, n).astype(jnp.int32)


def cole_admits(payoff: Array, live: Array, born: Array, candidate: Array, *,
                recent_fraction: float = RECENT_FRACTION) -> Array:
  """bool[]: whether COLE admits `candidate` (the learner) into the population now.

  COLE-Platform game_shapley_pbt.update_main_pop: on the symmetrized payoffs (P + P^T) / 2
  among the live members (the candidate included), the preference graph has one edge from
  each member to its best partner (itself possible; the newest of ties; none where the best
  payoff is <= 0). The most preferred member is the one of the highest in-degree (the oldest
  of ties). With n the live members other than the candidate and t = floor(n *
  recent_fraction) + 1, the candidate joins if the most preferred member is the candidate or
  one of the t newest members: the newest strategies are the ones the population prefers.
  Otherwise COLE trains the learner another iteration and asks again; the caller keeps that
  loop state: COLE admits unconditionally in its first 3 iterations (init_pop_size) and at
  the third try, and uses recent_fraction 0.2 after iteration 50. (jax-aht admits every
  learner.)

  Args:
    payoff: float32[N, N] cross-play payoffs, the candidate's row and column measured.
    live: bool[N] the members, the candidate's slot included.
    born: int[N] when each member joined (any increasing counter); it orders the members.
    candidate: int32[] the learner's slot.
    recent_fraction: static, in [0, 1].
  """
  recent_fraction = check_number("cole_admits", "recent_fraction", recent_fraction, 0.0, 1.0)
  payoff = jnp.asarray(payoff, jnp.float32)
  live = jnp.asarray(live, bool) | (jnp.arange(payoff.shape[0]) == candidate)
  place = _age_order(live, born, candidate)
  mutual = (payoff + payoff.T) / 2
  pair = live[:, None] & live[None, :]
  best = jnp.max(jnp.where(pair, mutual, -jnp.inf), axis=1, keepdims=True)
  ties = pair & (mutual == best)
  partner = jnp.argmax(jnp.where(ties, place[None, :], -1), axis=1)      # newest of ties
  edge = live & (best[:, 0] > 0)
  in_degree = (jax.nn.one_hot(partner, live.shape[0], dtype=jnp.int32)
               * edge[:, None]).sum(0)
  in_degree = jnp.where(live, in_degree, -1)
  top = in_degree == in_degree.max()
  preferred = jnp.argmin(jnp.where(top, place, live.shape[0] + 1))       # oldest of ties
  others = live.sum() - 1
  recent = jnp.floor(others.astype(jnp.float32) * recent_fraction).astype(jnp.int32) + 1
  return place[preferred] >= others - recent


def cole_join_slot(key: Array, live: Array, born: Array, *, protected: Array | None = None,
                   oldest: int = OLDEST) -> Array:
  """int32[]: the slot a new member takes.

  While a slot is free: the first free slot. When the population is full: as COLE-Platform's
  game_shapley_pbt.pop_dequeue, a uniformly random one of the `oldest` oldest members (by
  `born`, then slot) that are not `protected` (the learners, which keep learning); `oldest=1`
  is first-in-first-out, the eviction of jax-aht's population buffer (which COLE never
  reaches there: it trains exactly capacity members). N (out of range) if every member is
  protected: no slot.

  Args:
    key: PRNG key of the draw (used only when full).
    live: bool[N] the members.
    born: int[N] when each member joined (any increasing counter).
    protected: bool[N] members never replaced, or None.
    oldest: static, >= 1 (COLE: 10).
  """
  oldest = check_int("cole_join_slot", "oldest", oldest, 1)
  live = jnp.asarray(live, bool)
  n = live.shape[0]
  keep = jnp.zeros(n, bool) if protected is None else jnp.asarray(protected, bool)
  replaceable = live & ~keep
  place = _age_order(replaceable, born)
  eligible = replaceable & (place < oldest)
  drawn = jax.random.categorical(key, jnp.where(eligible, 0.0, -jnp.inf))
  full_slot = jnp.where(eligible.any(), drawn, n)
  return jnp.where(live.all(), full_slot, jnp.argmin(live)).astype(jnp.int32)


# --- options --------------------------------------------------------------------------------------


def check_options(where: str, *, num_permutations=None, beta=None, damping=None,
                  iterations=None, clip_marginals=None, ucb_c=None, seed=None) -> None:
  """ConfigError unless every option given (not None) is valid: num_permutations and
  iterations positive ints, beta and ucb_c finite numbers >= 0, damping in [0, 1),
  clip_marginals a bool, seed an int >= 0."""
  if num_permutations is not None:
    check_int(where, "num_permutations", num_permutations, 1)
  if iterations is not None:
    check_int(where, "iterations", iterations, 1)
  if seed is not None:
    check_int(where, "seed", seed, 0)
  for name, value in (("beta", beta), ("ucb_c", ucb_c)):
    if value is not None and not (is_real(value) and 0 <= value < math.inf):
      raise ConfigError(f"{where}: {name} must be a finite number >= 0, got {value!r}")
  if damping is not None:
    check_number(where, "damping", damping, 0.0, 1.0, high_open=True)
  if clip_marginals is not None and not isinstance(clip_marginals, (bool, np.bool_)):
    raise ConfigError(f"{where}: clip_marginals must be a bool, got {clip_marginals!r}")
