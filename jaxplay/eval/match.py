"""Match play: agents (`jaxplay.agents.agent`) in seats, many games at once, on the play loop
(`jaxplay.eval.play`).

    result = against(env, agent, perfect_agent(solution), key, num_games=1000,
                     solution=solution)   # {seat: {"win": .., "draw": .., "loss": ..}}
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from jaxplay.agents.agent import Agent
from jaxplay.core.env import Env
from jaxplay.eval import play as play_lib
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
  return _returns(env, seats, play_lib.seat_map(num_games, range(env.num_players)), key,
                  solution, max_steps)


def _returns(env: Env, agents: tuple[Agent, ...], seats: jax.Array, key: jax.Array,
             solution: Solution | None, max_steps: int | None) -> np.ndarray:
  """float32[B, P]: the returns of games with agents seated by `seats` int32[B, P], bounded
  as `play` says."""
  if solution is None and max_steps is None:
    raise ValueError("play needs a minimax solution or max_steps to bound the games")
  if max_steps is None:
    max_steps = _depth(solution)
  return np.asarray(play_lib.play(env, agents, seats, key, max_steps, solution=solution).returns)


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
  """`agent` in each seat in turn, `opponent` in every other, `num_games` games each (all
  played at once, by one seat map): {seat: win/draw/loss rates}."""
  num_players = env.num_players
  seats = jnp.repeat(1 - jnp.eye(num_players, dtype=jnp.int32), num_games, axis=0)  # [P * B, P]
  returns = _returns(env, (agent, opponent), seats, key, solution, max_steps)
  returns = returns.reshape(num_players, num_games, num_players)
  return {seat: outcomes(returns[seat], seat) for seat in range(num_players)}
