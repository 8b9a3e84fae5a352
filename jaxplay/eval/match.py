"""Match play: agents (`jaxplay.agents.agent`) in seats, many games at once, one jitted
program.

    result = against(env, agent, perfect_agent(solution), key, num_games=1000,
                     solution=solution)   # {seat: {"win": .., "draw": .., "loss": ..}}
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from jaxplay.agents.agent import Agent
from jaxplay.core.env import Env
from jaxplay.eval.minimax import Solution


def play(env: Env, seats: tuple[Agent, ...], key: jax.Array, num_games: int, *,
         solution: Solution | None = None, max_steps: int | None = None) -> np.ndarray:
  """float32[num_games, P]: the returns of `num_games` games with `seats[p]` playing p.

  With `solution`, games start from its roots (drawn by their probabilities) and last at most
  its depth; otherwise they start from `env.init` and last at most `max_steps` moves.
  """
  if len(seats) != env.num_players:
    raise ValueError(f"{env.name} needs {env.num_players} agents, one per seat, got "
                     f"{len(seats)}")
  if solution is None and max_steps is None:
    raise ValueError("play needs a minimax solution or max_steps to bound the games")
  if solution is not None:
    tables = (jnp.asarray(solution.child), jnp.asarray(solution.root_probs, jnp.float32),
              jnp.asarray(solution.chance_outcomes))
    max_steps = _depth(solution) if max_steps is None else max_steps
  else:
    tables = None
  returns = _play(env, tuple(seat.act for seat in seats), num_games, max_steps,
                  tuple(seat.params for seat in seats), tables, key)
  return np.asarray(returns)


@functools.partial(jax.jit, static_argnums=(0, 1, 2, 3))
def _play(env, acts, num_games, max_steps, params, tables, key):
  init_key, key = jax.random.split(key)
  if tables is None:
    states = jax.vmap(env.init)(jax.random.split(init_key, num_games))
    nodes = jnp.full((num_games,), -1, jnp.int32)
  else:
    child, root_probs, outcomes = tables
    nodes = jax.random.categorical(init_key, jnp.log(root_probs), shape=(num_games,))
    states = jax.vmap(env.init_from)(outcomes[nodes])
  returns = jnp.zeros((num_games, env.num_players), jnp.float32)

  def move(carry, step_key):
    states, nodes, returns = carry
    keys = jax.random.split(step_key, len(acts))
    choices = jnp.stack([act(p, k, states, nodes) for act, p, k in zip(acts, params, keys)])
    player = jnp.maximum(states.current_player, 0)
    action = jnp.take_along_axis(choices, player[None], axis=0)[0]         # [B]
    live = ~(states.terminated | states.truncated)
    if tables is not None:
      nodes = jnp.where(live, tables[0][nodes, action], nodes)
    joint = jnp.broadcast_to(action[:, None], (num_games, env.num_players))
    states = jax.vmap(env.step)(states, joint)
    return (states, nodes, returns + states.rewards), None

  (_, _, returns), _ = jax.lax.scan(move, (states, nodes, returns),
                                    jax.random.split(key, max_steps))
  return returns


def _depth(solution: Solution) -> int:
  """Longest path from a root, in moves."""
  depth, frontier = 0, np.arange(len(solution.root_probs))
  while True:
    children = solution.child[frontier]
    frontier = np.unique(children[children >= 0])
    if not len(frontier):
      return depth
    depth += 1


def outcomes(returns: np.ndarray, seat: int) -> dict[str, float]:
  """Fractions of games the player in `seat` won (a return above every other player's),
  drew (tied the best) and lost."""
  own = returns[:, seat]
  best_other = np.delete(returns, seat, axis=1).max(axis=1)
  return {"win": float(np.mean(own > best_other)), "draw": float(np.mean(own == best_other)),
          "loss": float(np.mean(own < best_other))}


def against(env: Env, agent: Agent, opponent: Agent, key: jax.Array, num_games: int, *,
            solution: Solution | None = None, max_steps: int | None = None
            ) -> dict[int, dict[str, float]]:
  """`agent` in each seat in turn, `opponent` in every other: {seat: win/draw/loss rates}."""
  results = {}
  for seat, seat_key in enumerate(jax.random.split(key, env.num_players)):
    seats = tuple(agent if p == seat else opponent for p in range(env.num_players))
    returns = play(env, seats, seat_key, num_games, solution=solution, max_steps=max_steps)
    results[seat] = outcomes(returns, seat)
  return results
