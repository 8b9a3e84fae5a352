"""Agents: what plays a seat in match play, for many games at once.

An `Agent` acts for a batch of B games: `act(params, key, states, nodes) -> int32[B]`, the
action it would take in each game as the player to move (only the seated player's action is
used). `nodes` is each game's flat node in a minimax `Solution` (or -1 when the match is not
played on a tree), which lets `perfect_agent` look its moves up. `params` is the agent's data
(a network's parameters), passed at call time so that one compiled match serves every
checkpoint: `agent.with_params(new_params)`.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import jax
import jax.numpy as jnp


@dataclasses.dataclass(frozen=True)
class Agent:
  """act(params, key, states [B], nodes int32[B]) -> actions int32[B]; params: its data."""

  act: Callable[..., jax.Array]
  params: Any = None

  def with_params(self, params: Any) -> Agent:
    """The same agent (the same `act`, so no recompilation) with other data."""
    return dataclasses.replace(self, params=params)


def mover_view(states: Any) -> tuple[jax.Array, jax.Array]:
  """The player to move's observation [B, L, F] and legal actions [B, A] of states [B]."""
  player = jnp.maximum(states.current_player, 0)[:, None, None]
  legal = jnp.take_along_axis(states.legal_action_mask, player, axis=1)[:, 0]
  observation = jnp.take_along_axis(states.observation, player[..., None], axis=1)[:, 0]
  return observation, legal


def choose_actions(key: jax.Array, probs: jax.Array, legal: jax.Array,
                   greedy: bool) -> jax.Array:
  """int32[...]: per row of probs [..., A], the most likely legal action (greedy) or a sample
  in proportion to `probs` over the legal actions (0 for rows without legal actions)."""
  probs = jnp.where(legal, probs, 0.0)
  if greedy:
    return jnp.argmax(jnp.where(legal, probs, -1.0), axis=-1).astype(jnp.int32)
  logits = jnp.where(probs > 0, jnp.log(jnp.where(probs > 0, probs, 1.0)), -jnp.inf)
  logits = jnp.where(legal.any(-1, keepdims=True), logits, 0.0)
  return jax.random.categorical(key, logits, axis=-1).astype(jnp.int32)


def _random_act(params, key, states, nodes):
  del params, nodes
  legal = mover_view(states)[1]
  return choose_actions(key, legal.astype(jnp.float32), legal, greedy=False)


def _perfect_act(optimal, key, states, nodes):
  del states
  best = optimal[jnp.maximum(nodes, 0)]
  return choose_actions(key, best.astype(jnp.float32), best, greedy=False)


def random_agent() -> Agent:
  """Uniform over the legal actions."""
  return Agent(_random_act)


def perfect_agent(solution: Any) -> Agent:
  """Uniform over the actions that keep the mover's perfect-play value, from a minimax
  `jaxplay.eval.minimax.Solution` (a match with it must be played with `solution=`)."""
  return Agent(_perfect_act, jnp.asarray(solution.optimal))


def policy_agent(policy_fn: Callable[..., jax.Array], greedy: bool = True,
                 params: Any = None) -> Agent:
  """Plays `policy_fn(observation [B, L, F], legal [B, A]) -> probabilities [B, A]`, or
  `policy_fn(params, observation, legal)` once the agent has params: its most likely legal
  action if `greedy`, else a sample."""

  def act(agent_params, key, states, nodes):
    del nodes
    observation, legal = mover_view(states)
    probs = (policy_fn(observation, legal) if agent_params is None
             else policy_fn(agent_params, observation, legal))
    return choose_actions(key, probs, legal, greedy)

  return Agent(act, params)
