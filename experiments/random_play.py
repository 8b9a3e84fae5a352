"""Plays every registered game (or those of --games) with uniformly random legal actions;
prints how games end and how many steps per second the environment runs (one jitted scan over
steps, vmapped over games, finished games restarting at once).

    python -m experiments.random_play
    python -m experiments.random_play --games=tic_tac_toe,overcooked --batch_size=1024

Each game plays at least twice its longest episode (`env.max_episode_steps`; Overcooked: its
horizon), so that games finish, or --num_steps if that is more.
"""

from __future__ import annotations

import sys
import time
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np
from absl import app, flags

import jaxplay
from jaxplay.agents import random_agent
from jaxplay.core.errors import ConfigError, JaxplayError
from jaxplay.eval import play as play_lib

_GAMES = flags.DEFINE_list("games", list(jaxplay.registered_games()),
                           "Registered game names to play (default: every registered game).")
_BATCH_SIZE = flags.DEFINE_integer("batch_size", 4096, "Games played side by side (vmapped).",
                                   lower_bound=1)
_NUM_STEPS = flags.DEFINE_integer("num_steps", 256, "Steps per game slot, at least (see above).",
                                  lower_bound=1)
_REPEATS = flags.DEFINE_integer("repeats", 3, "Timed runs after the compiling one; the best is "
                                "reported.", lower_bound=1)
# allow_override: experiments.overcooked_gif defines a --seed too, and tests import both.
_SEED = flags.DEFINE_integer("seed", 0, "Seed of the deals and the random actions.",
                            allow_override=True)


def make_runner(env, batch_size: int, num_steps: int):
  """A jitted function key -> per-step stacks of (rewards [T, B, P], ended [T, B]): the play
  loop (`jaxplay.eval.play`) with the random agent in every seat of an auto-resetting env."""
  env = jaxplay.wrap(env, auto_reset=True)
  seats = jnp.zeros((batch_size, env.num_players), jnp.int32)

  def run(key):
    played = play_lib.play(env, (random_agent(),), seats, key, num_steps,
                           record=("rewards", "ends"))
    return played.rewards, played.ends

  return jax.jit(run)


def steps_to_play(env, num_steps: int) -> int:
  """At least twice the game's longest episode, so that games finish; at least `num_steps`."""
  return max(num_steps, 2 * env.max_episode_steps)


def finished_returns(rewards: np.ndarray, ended: np.ndarray) -> np.ndarray:
  """float[N, P]: the return of every game that ended, from rewards [T, B, P], ended [T, B]."""
  returns = np.cumsum(rewards, axis=0)  # running sums; read them where games end
  finals, start = [], np.zeros(rewards.shape[1:])
  for t in range(rewards.shape[0]):
    finals.append((returns[t] - start)[ended[t]])
    start = np.where(ended[t][:, None], returns[t], start)
  return np.concatenate(finals)


def summarize(name: str, rewards: np.ndarray, ended: np.ndarray) -> str:
  """Outcome statistics of the finished games: mean return per player, win/draw rates."""
  finals = finished_returns(rewards, ended)
  if not len(finals):
    return f"{name:>14}: no game finished within {rewards.shape[0]} steps"
  best = finals.max(axis=1, keepdims=True)
  wins = ((finals == best) & ((finals == best).sum(1, keepdims=True) == 1)).mean(0)
  draws = ((finals == best).sum(1) > 1).mean()
  return (f"{name:>14}: {len(finals):>8} games, mean return {np.round(finals.mean(0), 4)}, "
          f"win rate by seat {np.round(wins, 4)}, draw/split {draws:.4f}")


def best_time(run: Callable, key: jax.Array, repeats: int) -> float:
  """The fastest of `repeats` timed calls of `run(key)`, in seconds."""
  best = float("inf")
  for _ in range(repeats):
    start = time.perf_counter()
    jax.block_until_ready(run(key))
    best = min(best, time.perf_counter() - start)
  return best


def play(games: list[str], batch_size: int, num_steps: int, repeats: int, seed: int,
         print_fn: Callable[[str], None] = print) -> None:
  """Plays each game and prints its outcome statistics and throughput.

  Raises:
    ConfigError: no game named.
    UnknownGameError: a name that is not registered (before any game is played).
  """
  if not games:
    raise ConfigError("no game to play: --games takes registered names, comma-separated: "
                      f"{', '.join(jaxplay.registered_games())}")
  envs = {name: jaxplay.make(name) for name in games}
  print_fn(f"jaxplay {jaxplay.__version__} on {jax.devices()[0].platform}, {batch_size} games "
           f"side by side")
  for name, env in envs.items():
    steps = steps_to_play(env, num_steps)
    run = make_runner(env, batch_size, steps)
    key = jax.random.key(seed)
    rewards, ended = jax.block_until_ready(run(key))  # compiles
    print_fn(summarize(name, np.asarray(rewards), np.asarray(ended)))
    print_fn(f"{'':>14}  {steps} steps, "
             f"{batch_size * steps / best_time(run, key, repeats) / 1e6:.2f} M steps/s")


def main(argv):
  del argv
  try:
    games = [name.strip() for name in _GAMES.value if name.strip()]
    play(games, _BATCH_SIZE.value, _NUM_STEPS.value, _REPEATS.value, _SEED.value)
  except JaxplayError as error:  # a user's mistake: say what and how to fix it, no traceback
    sys.exit(f"error: {error}")


if __name__ == "__main__":
  app.run(main)
