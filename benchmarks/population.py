"""A population's update against separate learners' updates, in one process.

    python -m benchmarks.population                    # Kuhn and tic-tac-toe, N = 1, 4, 16
    python -m benchmarks.population --games=kuhn_poker --sizes=1,4
    python -m benchmarks.population --num_envs=32 --learner_map=vmap   # small batches

For each committed config and N, times one update of N learning members side by side
(`Population(num_learners=N)`, self-play: each member plays its own games, the config's
batch each) and N updates of a `Learner` on the same config (its one update timed, times N),
each compiled first as a chunk of one update (the population's by `Population.compile_chunk`,
the learner's by `Learner.train_chunk`); best of --repeats calls. `--num_envs`: the games of
a member (and of the single learner) instead of the config's; `--learner_map`: how the
members run side by side (`Population`'s learner_map: "auto" vmaps them on accelerators; on
a CPU these independent members go on threads, each member's update a program of its own, a
core each; "vmap" and "map": their PPO epochs vmapped or one after the other in one program).
"""

from __future__ import annotations

import importlib
import platform
import time

import jax
from absl import app, flags

import jaxplay
from jaxplay import config as config_lib
from jaxplay.learn import side_by_side
from jaxplay.learn.learner import Learner
from jaxplay.learn.population import Population

_GAMES = flags.DEFINE_list("games", ["kuhn_poker", "tic_tac_toe"],
                           "Configs of experiments/configs to time.")
_SIZES = flags.DEFINE_list("sizes", ["1", "4", "16"], "Numbers of learning members.")
_REPEATS = flags.DEFINE_integer("repeats", 5, "Timed calls; the best is reported.")
_NUM_ENVS = flags.DEFINE_integer("num_envs", 0, "Games of a member an update (0: the config's).")
_LEARNER_MAP = flags.DEFINE_enum("learner_map", "auto", list(side_by_side.WITH_THREADS),
                                 "How the members run side by side.")


def best_seconds(compiled, state, repeats: int) -> float:
  """The fastest of `repeats` calls of `compiled(state)` (after one untimed call)."""
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
    state = learner.init(0)
    single = best_seconds(jax.jit(learner.train_chunk, static_argnums=1).lower(
        state, 1).compile(), state, _REPEATS.value)   # a chunk of one update, as below
    for size in map(int, _SIZES.value):
      population = Population(learner, capacity=size, num_learners=size,
                              learner_map=_LEARNER_MAP.value)
      state = population.init(0)
      together = best_seconds(population.compile_chunk(state, 1), state, _REPEATS.value)
      how = "threads" if population.threaded else (
          "vmap" if side_by_side.vmaps(population.learner_map) else "map")
      print(f"| {name} | {config.ppo.num_envs} | {size} ({how}) | {together:.3f} | "
            f"{size * single:.3f} | {size * single / together:.2f}x |", flush=True)


if __name__ == "__main__":
  app.run(main)
