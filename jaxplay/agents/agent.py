"""Agents: what plays seats, in many games at once.

An `Agent` acts for the actors of B games: `act(params, key, actors) -> int32[B, K]`, the action
it would take as each actor. `Actors` are the K seats that act now in each game, as the
training rollout has them: the player to move in a turn-based game (K = 1), every seat in a
simultaneous one (K = P, Overcooked). The play loop (`jaxplay.eval.play`) runs every agent over
all the actors and keeps each agent's actions only where it holds the seat. `Actors.node` is
each game's flat node in a minimax `Solution` (or -1 when the games are not played on a tree),
which lets `perfect_agent` look its moves up. `params` is the agent's data (a network's
parameters), passed at call time so that one compiled loop serves every checkpoint:
`agent.with_params(new_params)`.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp

from jaxplay.core.random_actions import random_legal_actions


class Actors(NamedTuple):
  """The seats that act now in B games (K per game), and what they see.

  Attributes:
    seat: int32[B, K] which seat each actor is.
    observation: int8[B, K, L, F] its observation.
    legal: bool[B, K, A] its legal actions (all False in a finished game).
    node: int32[B] each game's flat node in a minimax `Solution` (-1 off a tree).
    states: the games' states [B], for agents that read more than an observation.
  """

  seat: jax.Array
  observation: jax.Array
  legal: jax.Array
  node: jax.Array
  states: Any


def actors(states: Any, simultaneous: bool, node: jax.Array) -> Actors:
  """The `Actors` of states [B]: every seat if `simultaneous` (static), else the player to move
  (seat 0 in a game where nobody moves); `node` int32[B] as in `Actors`."""
  observation, legal = states.observation, states.legal_action_mask  # [B, P, L, F], [B, P, A]
  if simultaneous:
    seat = jnp.broadcast_to(jnp.arange(legal.shape[1], dtype=jnp.int32), legal.shape[:2])
    return Actors(seat, observation, legal, node, states)
  seat = jnp.maximum(states.current_player, 0).astype(jnp.int32)[:, None]         # [B, 1]
  pick = lambda x: jnp.take_along_axis(x, seat.reshape(seat.shape + (1,) * (x.ndim - 2)), 1)
  return Actors(seat, pick(observation), pick(legal), node, states)


@dataclasses.dataclass(frozen=True)
class Agent:
  """act(params, key, actors: Actors [B, K]) -> actions int32[B, K]; params: its data."""

  act: Callable[..., jax.Array]
  params: Any = None

  def with_params(self, params: Any) -> Agent:
    """The same agent (the same `act`, so no recompilation) with other data."""
    return dataclasses.replace(self, params=params)


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


def _random_act(params, key, actors):
  del params
  return random_legal_actions(key, actors.legal)


def _perfect_act(optimal, key, actors):
  best = optimal[jnp.maximum(actors.node, 0)][:, None] & actors.legal     # [B, K, A]
  return random_legal_actions(key, best)


@dataclasses.dataclass(frozen=True)
class _PolicyAct:
  """A policy agent's act; equal for equal (policy_fn, greedy), so that agents made again from
  the same function share one compiled loop."""

  policy_fn: Callable[..., jax.Array]
  greedy: bool

  def __call__(self, params, key, actors):
    observation = actors.observation.reshape((-1,) + actors.observation.shape[2:])
    legal = actors.legal.reshape((-1,) + actors.legal.shape[2:])        # [B * K, A]
    probs = (self.policy_fn(observation, legal) if params is None
             else self.policy_fn(params, observation, legal))
    return choose_actions(key, probs, legal, self.greedy).reshape(actors.legal.shape[:2])


def random_agent() -> Agent:
  """Uniform over the legal actions (`jaxplay.random_legal_actions`)."""
  return Agent(_random_act)


def perfect_agent(solution: Any) -> Agent:
  """Uniform over the actions that keep the mover's perfect-play value, from a minimax
  `jaxplay.eval.minimax.Solution` (its games must be played on the tree: `solution=`)."""
  return Agent(_perfect_act, jnp.asarray(solution.optimal))


def policy_agent(policy_fn: Callable[..., jax.Array], greedy: bool = True,
                 params: Any = None) -> Agent:
  """Plays `policy_fn(observation [N, L, F], legal [N, A]) -> probabilities [N, A]` over its
  N = B * K actors, or `policy_fn(params, observation, legal)` once the agent has params: its
  most likely legal action if `greedy`, else a sample."""
  return Agent(_PolicyAct(policy_fn, greedy), params)
