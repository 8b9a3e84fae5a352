"""Each game's metrics of a policy, measured the way the field measures them.

A policy is `probs_fn(params, observation int8[N, L, F], legal bool[N, A]) -> float[N, A]`
over the env's own observations and actions; `params` are passed at call time, so one
evaluator (and its compiled programs) serves every checkpoint of a run.

A game declares how it is measured (`Env.evaluator`), as one of the kinds here or as a
factory of its own:

- "exploitability" (Kuhn, Leduc): exact exploitability and NashConv (OpenSpiel's
  definitions) and each player's expected return, on the whole game tree.
- "minimax" (tic-tac-toe; any small perfect-information game): win / draw / loss against
  perfect play (minimax, uniform among optimal moves) and against uniform random play, from
  every seat.
- "selfplay" (the default): the mean return per seat of self-play games, shaped returns for
  games with shaping, and the game's own `Env.episode_metrics` of the finished games
  (negotiation: agreement, Pareto-optimality, scores, share of the best joint score).

`make_evaluator(env, probs_fn, num_games=..., greedy=...)` builds the game's evaluator.
"""

from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np

from jaxplay.agents.agent import perfect_agent, policy_agent, random_agent
from jaxplay.core.env import Env
from jaxplay.core.errors import ConfigError
from jaxplay.eval import match, minimax
from jaxplay.eval import play as play_lib
from jaxplay.eval.exploitability import exploitability, policy_table
from jaxplay.eval.tree import build_tree

ProbsFn = Callable[[Any, jax.Array, jax.Array], jax.Array]
Metrics = dict[str, float]


class ExploitabilityEvaluator:
  """Exact exploitability of the policy on the game tree (built once, on first use)."""

  def __init__(self, env: Env, probs_fn: ProbsFn, num_games: int = 0, greedy: bool = False):
    del num_games, greedy  # exact: every information set, the policy's own probabilities
    self.env = env
    self._probs = jax.jit(probs_fn)
    self._tree = None

  @property
  def tree(self):
    if self._tree is None:
      self._tree = build_tree(self.env)
    return self._tree

  def table(self, params) -> np.ndarray:
    """float64[I, A]: the policy on every information set."""
    tree = self.tree
    probs = self._probs(params, jnp.asarray(tree.infoset_observation),
                        jnp.asarray(tree.infoset_legal))
    return policy_table(tree, np.asarray(probs))

  def __call__(self, params, key: jax.Array) -> Metrics:
    del key
    result = exploitability(self.tree, self.table(params))
    metrics = {"exploitability": result.exploitability, "nash_conv": result.nash_conv}
    for player, value in enumerate(result.on_policy_values):
      metrics[f"value_{player}"] = float(value)
    return metrics


class MinimaxEvaluator:
  """Matches against perfect play and against uniform random play, from every seat."""

  def __init__(self, env: Env, probs_fn: ProbsFn, num_games: int, greedy: bool):
    self.env, self.num_games = env, num_games
    self._agent = policy_agent(probs_fn, greedy)  # one act function: one compiled match
    self._solution = None

  @property
  def solution(self) -> minimax.Solution:
    if self._solution is None:
      self._solution = minimax.solve(build_tree(self.env))
    return self._solution

  def __call__(self, params, key: jax.Array) -> Metrics:
    agent = self._agent.with_params(params)
    perfect_key, random_key = jax.random.split(key)
    metrics = {}
    for name, opponent, opponent_key in (
        ("perfect", perfect_agent(self.solution), perfect_key),
        ("random", random_agent(), random_key)):
      results = match.against(self.env, agent, opponent, opponent_key, self.num_games,
                              solution=self.solution)
      for seat, rates in results.items():
        for outcome, rate in rates.items():
          metrics[f"vs_{name}/seat{seat}_{outcome}"] = rate
    return metrics


def selfplay(env: Env, probs_fn: ProbsFn, num_games: int, max_steps: int, greedy: bool,
             params, key: jax.Array):
  """B games of the policy against itself from `env.init`, at most `max_steps` joint moves
  (on the play loop, `jaxplay.eval.play`). Returns (final states [B], returns float32[B, P],
  shaped returns float32[B, P]: the sums of the env's `rewards` and `shaped_rewards`)."""
  seats = jnp.zeros((num_games, env.num_players), jnp.int32)
  played = play_lib.play(env, (policy_agent(probs_fn, greedy, params),), seats, key, max_steps,
                         record=("returns", "shaped_returns"))
  return played.final, played.returns, played.shaped_returns


def play_episode(env: Env, probs_fn: ProbsFn, num_steps: int, greedy: bool, params,
                 key: jax.Array):
  """One self-play game as states stacked along time [num_steps + 1] (the first is the
  initial state; a finished game repeats its last state), e.g. for rendering."""
  return play_lib.episode(env, policy_agent(probs_fn, greedy, params), key, num_steps)


class SelfPlayEvaluator:
  """Mean return per seat of `num_games` self-play games (each lasts at most the game's
  `max_episode_steps`), shaped returns for games with shaping, and the game's own
  `episode_metrics` of the finished games."""

  def __init__(self, env: Env, probs_fn: ProbsFn, num_games: int, greedy: bool):
    self.env, self.probs_fn, self.num_games, self.greedy = env, probs_fn, num_games, greedy

  def __call__(self, params, key: jax.Array) -> Metrics:
    env = self.env
    states, returns, shaped = selfplay(env, self.probs_fn, self.num_games,
                                       env.max_episode_steps, self.greedy, params, key)
    returns, shaped = np.asarray(returns, np.float64), np.asarray(shaped, np.float64)
    metrics = {f"return_{seat}": float(returns[:, seat].mean())
               for seat in range(env.num_players)}
    if env.has_shaped_rewards:
      metrics.update({f"shaped_return_{seat}": float(shaped[:, seat].mean())
                      for seat in range(env.num_players)})
    metrics["finished"] = float(np.mean(np.asarray(states.terminated | states.truncated)))
    metrics.update(env.episode_metrics(states))
    return metrics


EVALUATORS: dict[str, Callable[..., Any]] = {
    "exploitability": ExploitabilityEvaluator,
    "minimax": MinimaxEvaluator,
    "selfplay": SelfPlayEvaluator,
}


def make_evaluator(env: Env, probs_fn: ProbsFn, *, num_games: int = 1000,
                   greedy: bool = False):
  """The evaluator the game declares (`env.evaluator`: a kind of `EVALUATORS` or a factory
  of its own): a callable `(params, key) -> {metric: float}`."""
  kind = env.evaluator
  if callable(kind):
    return kind(env, probs_fn, num_games=num_games, greedy=greedy)
  if kind not in EVALUATORS:
    raise ConfigError(f"{env.name} declares evaluator {kind!r}; the kinds are "
                      f"{sorted(EVALUATORS)}, or a factory (env, probs_fn, *, num_games, greedy)")
  return EVALUATORS[kind](env, probs_fn, num_games=num_games, greedy=greedy)
