"""Plays every configured game with uniformly random legal actions; prints how games end and
how many steps per second the environment runs (one jitted scan over steps, vmapped over games).
"""

from __future__ import annotations

import time

import jax
import jax.numpy as jnp
import numpy as np
from absl import app, flags
from ml_collections import config_flags

import jaxplay

_CONFIG = config_flags.DEFINE_config_file("config", "experiments/configs/random_play.py",
                                          "Path to a config file.")


def make_runner(env, batch_size: int, num_steps: int):
  """A jitted function key -> per-step stacks of (rewards [T, B, P], ended [T, B])."""
  env = jaxplay.wrap(env, auto_reset=True)

  def run(key):
    init_key, key = jax.random.split(key)
    state = jax.vmap(env.init)(jax.random.split(init_key, batch_size))

    def body(state, key):
      act_key, step_key = jax.random.split(key)
      action = jaxplay.random_legal_actions(act_key, state.legal_action_mask)
      state = jax.vmap(env.step)(state, action, jax.random.split(step_key, batch_size))
      return state, (state.rewards, state.terminated | state.truncated)

    return jax.lax.scan(body, state, jax.random.split(key, num_steps))[1]

  return jax.jit(run)


def summarize(name: str, rewards: np.ndarray, ended: np.ndarray) -> str:
  """Outcome statistics of the finished games: mean return per player, win/draw rates."""
  returns = np.cumsum(rewards, axis=0)  # running sums; read them where games end
  finals, start = [], np.zeros(rewards.shape[1:])
  for t in range(rewards.shape[0]):
    finals.append((returns[t] - start)[ended[t]])
    start = np.where(ended[t][:, None], returns[t], start)
  finals = np.concatenate(finals)
  best = finals.max(axis=1, keepdims=True)
  wins = ((finals == best) & ((finals == best).sum(1, keepdims=True) == 1)).mean(0)
  draws = ((finals == best).sum(1) > 1).mean()
  return (f"{name:>14}: {len(finals):>8} games, mean return {np.round(finals.mean(0), 4)}, "
          f"win rate by seat {np.round(wins, 4)}, draw/split {draws:.4f}")


def main(argv):
  del argv
  config = _CONFIG.value
  print(f"jaxplay {jaxplay.__version__} on {jax.devices()[0].platform}, "
        f"{config.batch_size} games x {config.num_steps} steps")
  for name in config.games.split(","):
    env = jaxplay.make(name.strip())
    run = make_runner(env, config.batch_size, config.num_steps)
    key = jax.random.key(config.seed)
    rewards, ended = jax.block_until_ready(run(key))  # compiles
    best = float("inf")
    for _ in range(config.repeats):
      start = time.perf_counter()
      jax.block_until_ready(run(key))
      best = min(best, time.perf_counter() - start)
    print(summarize(name, np.asarray(rewards), np.asarray(ended)))
    print(f"{'':>14}  {config.batch_size * config.num_steps / best / 1e6:.2f} M steps/s")


if __name__ == "__main__":
  app.run(main)
