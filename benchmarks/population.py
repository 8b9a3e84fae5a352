"""A population's update against separate learners' updates, in one process.

    python -m benchmarks.population                    # Kuhn and tic-tac-toe, N = 1, 4, 16
    python -m benchmarks.population --games=kuhn_poker --sizes=1,4
    python -m benchmarks.population --num_envs=32 --learner_map=vmap   # small batches

For each committed config and N, times one update of N learning members side by side
(`Population(num_learners=N)`, self-play: each member plays its own games, the config's
batch each) and N updates of a `Learner` on the same config (its one update timed, times N),
each compiled first; best of --repeats calls. `--num_envs`: the games of a member (and of the
single learner) instead of the config's; `--learner_map`: how the members' PPO epochs run
side by side (`Population`'s learner_map: "auto" vmaps them on accelerators and runs them one
after the other on a CPU).
"""

from __future__ import annotations

import importlib
import platform
import time

import jax
from absl import app, flags

import jaxplay
from jaxplay import config as config_lib
from jaxplay.learn.learner import Learner
from jaxplay.learn.population import Population

_GAMES = flags.DEFINE_list("games", ["kuhn_poker", "tic_tac_toe"],
                           "Configs of experiments/configs to time.")
_SIZES = flags.DEFINE_list("sizes", ["1", "4", "16"], "Numbers of learning members.")
_REPEATS = flags.DEFINE_integer("repeats", 5, "Timed calls; the best is reported.")
_NUM_ENVS = flags.DEFINE_integer("num_envs", 0, "Games of a member an update (0: the config's).")
_LEARNER_MAP = flags.DEFINE_enum("learner_map", "auto", ["auto", "vmap", "map"],
                                 "How the members' PPO epochs run side by side.")


def best_seconds(fn, state, repeats: int) -> float:
  """The fastest of `repeats` calls of the compiled `fn(state)`."""
  compiled = jax.jit(fn).lower(state).compile()
  jax.block_until_ready(compiled(state))
  best = float("inf")
  for _ in range(repeats):
    start = time.perf_counter()
    jax.block_until_ready(compiled(state))
    best = min(best, time.perf_counter() - start)
  return best


def main(argv):
  del argv
  print(f"# {platform.node()} | {jax.devices()[0].platform} | jax {jax.__version__} | "
        f"jaxplay {jaxplay.__version__} | best of {_REPEATS.value} | learner_map "
        f"{_LEARNER_MAP.value}")
  print("| config | games a member | N | population update s | N Learner updates s | ratio |")
  print("|---|---|---|---|---|---|")
  for name in _GAMES.value:
    config = importlib.import_module(f"experiments.configs.{name}").get_config()
    if _NUM_ENVS.value:
      config.ppo.num_envs = _NUM_ENVS.value
      config.total_env_steps = max(config.total_env_steps, config_lib.steps_per_update(config))
    learner = Learner(config)
    single = best_seconds(learner.update, learner.init(0), _REPEATS.value)
    for size in map(int, _SIZES.value):
      population = Population(learner, capacity=size, num_learners=size,
                              learner_map=_LEARNER_MAP.value)
      together = best_seconds(population.update, population.init(0), _REPEATS.value)
      print(f"| {name} | {config.ppo.num_envs} | {size} | {together:.3f} | {size * single:.3f} | "
            f"{size * single / together:.2f}x |", flush=True)


if __name__ == "__main__":
  app.run(main)
