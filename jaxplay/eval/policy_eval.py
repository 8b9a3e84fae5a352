"""Each game's metrics of a policy, measured the way the field measures them.

A policy is `probs_fn(params, observation int8[N, L, F], legal bool[N, A]) -> float[N, A]`
over the env's own observations and actions; `params` are passed at call time, so one
evaluator (and its compiled programs) serves every checkpoint of a run.

- kuhn_poker, leduc_poker: exact exploitability and NashConv (OpenSpiel's definitions) and
  each player's expected return, on the whole game tree.
- tic_tac_toe (any small perfect-information game): win / draw / loss against perfect play
  (minimax, uniform among optimal moves) and against uniform random play, from every seat.
- negotiation: self-play games: agreement rate, Pareto-optimal rate, scores, and the joint
  score as a fraction of the best joint score each instance allows.
- overcooked and any other game: the mean return per seat of self-play games.

`make_evaluator(env, probs_fn, num_games=..., greedy=...)` picks by `env.name`.
"""

from __future__ import annotations

import functools
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np

from jaxplay.core.env import Env
from jaxplay.eval import match, minimax
from jaxplay.eval.exploitability import exploitability, policy_table
from jaxplay.eval.tree import build_tree
from jaxplay.games import negotiation

ProbsFn = Callable[[Any, jax.Array, jax.Array], jax.Array]
Metrics = dict[str, float]


def choose(key: jax.Array, probs: jax.Array, legal: jax.Array, greedy: bool) -> jax.Array:
  """int32[...]: per row of probs [..., A], the most likely legal action (greedy) or a sample
  (0 for rows without legal actions)."""
  probs = jnp.where(legal, probs, 0.0)
  if greedy:
    return jnp.argmax(jnp.where(legal, probs, -1.0), axis=-1).astype(jnp.int32)
  logits = jnp.where(probs > 0, jnp.log(jnp.where(probs > 0, probs, 1.0)), -jnp.inf)
  logits = jnp.where(legal.any(-1, keepdims=True), logits, 0.0)
  return jax.random.categorical(key, logits, axis=-1).astype(jnp.int32)


class ExploitabilityEvaluator:
  """Exact exploitability of the policy on the game tree (built once, on first use)."""

  def __init__(self, env: Env, probs_fn: ProbsFn):
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
    self.env, self.num_games, self.greedy = env, num_games, greedy
    self._act = _agent_act(probs_fn, greedy)
    self._solution = None

  @property
  def solution(self) -> minimax.Solution:
    if self._solution is None:
      self._solution = minimax.solve(build_tree(self.env))
    return self._solution

  def __call__(self, params, key: jax.Array) -> Metrics:
    agent = match.Agent(self._act, params)
    perfect_key, random_key = jax.random.split(key)
    metrics = {}
    for name, opponent, opponent_key in (
        ("perfect", match.perfect_agent(self.solution), perfect_key),
        ("random", match.random_agent(), random_key)):
      results = match.against(self.env, agent, opponent, opponent_key, self.num_games,
                              solution=self.solution)
      for seat, rates in results.items():
        for outcome, rate in rates.items():
          metrics[f"vs_{name}/seat{seat}_{outcome}"] = rate
    return metrics


def _agent_act(probs_fn: ProbsFn, greedy: bool):
  """A `match.Agent` act function playing `probs_fn(params, ...)` as the player to move."""

  def act(params, key, states, nodes):
    del nodes
    player = jnp.maximum(states.current_player, 0)[:, None, None]
    legal = jnp.take_along_axis(states.legal_action_mask, player, axis=1)[:, 0]
    observation = jnp.take_along_axis(states.observation, player[..., None], axis=1)[:, 0]
    return choose(key, probs_fn(params, observation, legal), legal, greedy)

  return act


@functools.partial(jax.jit, static_argnums=(0, 1, 2, 3, 4))
def selfplay(env: Env, probs_fn: ProbsFn, num_games: int, max_steps: int, greedy: bool,
             params, key: jax.Array):
  """B games of the policy against itself from `env.init`, at most `max_steps` joint moves
  (every seat's action from one forward pass). Returns (final states [B], returns
  float32[B, P], shaped returns float32[B, P]: the sum of the env's `shaped_rewards`, zeros for
  games without them)."""
  init_key, key = jax.random.split(key)
  states = jax.vmap(env.init)(jax.random.split(init_key, num_games))

  def move(carry, step_key):
    states, returns, shaped = carry
    action_key, env_key = jax.random.split(step_key)
    observation = states.observation.reshape((-1,) + states.observation.shape[2:])
    legal = states.legal_action_mask.reshape((-1,) + states.legal_action_mask.shape[2:])
    action = choose(action_key, probs_fn(params, observation, legal), legal, greedy)
    states = jax.vmap(env.step)(states, action.reshape(num_games, env.num_players),
                                jax.random.split(env_key, num_games))
    shaped = shaped + getattr(states, "shaped_rewards", jnp.zeros_like(states.rewards))
    return (states, returns + states.rewards, shaped), None

  zeros = jnp.zeros((num_games, env.num_players), jnp.float32)
  (states, returns, shaped), _ = jax.lax.scan(move, (states, zeros, zeros),
                                              jax.random.split(key, max_steps))
  return states, returns, shaped


@functools.partial(jax.jit, static_argnums=(0, 1, 2, 3))
def play_episode(env: Env, probs_fn: ProbsFn, num_steps: int, greedy: bool, params,
                 key: jax.Array):
  """One self-play game as states stacked along time [num_steps + 1] (the first is the
  initial state; a finished game repeats its last state), e.g. for rendering."""
  init_key, key = jax.random.split(key)
  state = env.init(init_key)

  def move(state, step_key):
    action_key, env_key = jax.random.split(step_key)
    action = choose(action_key, probs_fn(params, state.observation, state.legal_action_mask),
                    state.legal_action_mask, greedy)
    state = env.step(state, action, env_key)
    return state, state

  _, states = jax.lax.scan(move, state, jax.random.split(key, num_steps))
  return jax.tree.map(lambda first, rest: jnp.concatenate([first[None], rest]), state, states)


class SelfPlayEvaluator:
  """Mean return per seat of `num_games` self-play games of at most `max_steps` moves; with
  `metrics_fn(final state) -> dict`, also the means of those game metrics."""

  def __init__(self, env: Env, probs_fn: ProbsFn, num_games: int, greedy: bool,
               max_steps: int, metrics_fn: Callable | None = None):
    self.env, self.probs_fn, self.num_games = env, probs_fn, num_games
    self.greedy, self.max_steps, self.metrics_fn = greedy, max_steps, metrics_fn

  def __call__(self, params, key: jax.Array) -> Metrics:
    states, returns, shaped = selfplay(self.env, self.probs_fn, self.num_games,
                                       self.max_steps, self.greedy, params, key)
    returns, shaped = np.asarray(returns, np.float64), np.asarray(shaped, np.float64)
    metrics = {f"return_{seat}": float(returns[:, seat].mean())
               for seat in range(self.env.num_players)}
    if hasattr(states, "shaped_rewards"):
      metrics.update({f"shaped_return_{seat}": float(shaped[:, seat].mean())
                      for seat in range(self.env.num_players)})
    metrics["finished"] = float(np.mean(np.asarray(states.terminated | states.truncated)))
    if self.metrics_fn is not None:
      values = jax.device_get(jax.vmap(self.metrics_fn)(states))
      metrics.update({k: float(np.mean(v)) for k, v in values.items()})
    return metrics


class NegotiationEvaluator(SelfPlayEvaluator):
  """Self-play negotiation: agreement, Pareto-optimality, scores, and the joint score as a
  fraction of the best achievable (mean joint score / mean best joint score)."""

  def __init__(self, env: Env, probs_fn: ProbsFn, num_games: int, greedy: bool):
    moves = env.max_turns * (1 + env.num_messages) + 1
    super().__init__(env, probs_fn, num_games, greedy, moves, negotiation.metrics)

  def __call__(self, params, key: jax.Array) -> Metrics:
    metrics = super().__call__(params, key)
    metrics["joint_score_fraction"] = metrics["joint_score"] / metrics["best_joint_score"]
    return metrics


def make_evaluator(env: Env, probs_fn: ProbsFn, *, num_games: int = 1000, greedy: bool = False,
                   max_steps: int | None = None):
  """The evaluator of `env`'s game (see the module docstring): a callable
  `(params, key) -> {metric: float}`."""
  if env.name in ("kuhn_poker", "leduc_poker"):
    return ExploitabilityEvaluator(env, probs_fn)
  if env.name == "tic_tac_toe":
    return MinimaxEvaluator(env, probs_fn, num_games, greedy)
  if env.name == "negotiation":
    return NegotiationEvaluator(env, probs_fn, num_games, greedy)
  steps = max_steps or getattr(env, "horizon", None) or 1000
  return SelfPlayEvaluator(env, probs_fn, num_games, greedy, steps)
