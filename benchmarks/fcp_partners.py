"""FCP's stage 1 as one program against separate runs, in one process: K self-play runs of the
Overcooked config side by side (`Population(num_learners=K)`, self-play, each run its own
batch) against K `Learner` runs one after the other.

    python -m benchmarks.fcp_partners                   # cramped_room, K = 8, 50 updates
    python -m benchmarks.fcp_partners --layout=counter_circuit --updates=20
    python -m benchmarks.fcp_partners --set=network.depth=1 --set=ppo.num_envs=16   # smaller

Each side is timed from a fresh object to the end of `--updates` updates (compiling included:
each separate run compiles its own program, as K runs of `experiments.train` would), and its
steady state (one compiled chunk of `--updates` updates, best of --repeats). The population is
timed with its learners on threads (each learner's run a program of its own, a CPU core each:
the CPU's default), and with their epochs vmapped and mapped in one program
(`Population(learner_map=...)`); `--ways` picks which of the three.
"""

from __future__ import annotations

import platform
import sys
import time

import jax
from absl import app, flags

import jaxplay
from experiments import sweep_lib
from experiments.configs import overcooked
from jaxplay import config as config_lib
from jaxplay.core.errors import ConfigError
from jaxplay.learn import compiling
from jaxplay.learn.learner import Learner
from jaxplay.learn.population import Population

_LAYOUT = flags.DEFINE_string("layout", "cramped_room", "Overcooked layout.")
_LEARNERS = flags.DEFINE_integer("learners", 8, "K self-play runs.")
_UPDATES = flags.DEFINE_integer("updates", 50, "Updates of every run.")
_REPEATS = flags.DEFINE_integer("repeats", 2, "Steady-state calls; the best is reported.")
_WAYS = flags.DEFINE_list("ways", ["threads", "vmap", "map"],
                          "How the population runs its learners side by side: a row each.")
flags.register_validator("ways", lambda ways: set(ways) <= {"threads", "vmap", "map"},
                         "--ways takes threads, vmap and map")
_SET = flags.DEFINE_multi_string("set", [], "A config override, field=value (Python literal).")


def timed_run(make, updates: int, repeats: int) -> tuple[float, float]:
  """(seconds from `make()` -> (compile, state) to `updates` updates done, compile included
  (`compile(state, updates)` -> a chunk: state -> (state, metrics)); the best seconds of one
  call of the chunk)."""
  start = time.perf_counter()
  compile_chunk, state = make()
  chunk = compile_chunk(state, updates)
  state, _ = jax.block_until_ready(chunk(state))
  whole = time.perf_counter() - start
  best = float("inf")
  for _ in range(repeats):
    start = time.perf_counter()
    state, _ = jax.block_until_ready(chunk(state))
    best = min(best, time.perf_counter() - start)
  return whole, best


def main(argv):
  del argv
  k, updates = _LEARNERS.value, _UPDATES.value
  try:
    config = config_lib.check(sweep_lib.apply_overrides(
        overcooked.get_config(_LAYOUT.value), sweep_lib.parse_overrides(_SET.value)))
  except ConfigError as error:
    sys.exit(f"error: {error}")
  print(f"# {platform.node()} | {jax.devices()[0].platform} | jax {jax.__version__} | "
        f"jaxplay {jaxplay.__version__} | {_LAYOUT.value}, K = {k}, {updates} updates a run")
  print("| program | with compiling s | steady s | runs / s speed-up (with, steady) |")
  print("|---|---|---|---|")

  def single(seed):
    learner = Learner(config)   # a new program, as a separate run compiles its own
    compile_chunk = lambda state, n: compiling.compile_chunk(learner.train_chunk, state, n,
                                                             learner.config)
    return compile_chunk, learner.init(seed)

  sequential = [timed_run(lambda s=s: single(s), updates, _REPEATS.value) for s in range(k)]
  whole_seq = sum(w for w, _ in sequential)
  steady_seq = sum(b for _, b in sequential)
  print(f"| {k} Learner runs one after the other | {whole_seq:.1f} | {steady_seq:.2f} | 1.00x, "
        f"1.00x |", flush=True)
  for how in _WAYS.value:
    def together():
      population = Population(Learner(config), capacity=k, num_learners=k, learner_map=how)
      return population.compile_chunk, population.init(0)
    whole, steady = timed_run(together, updates, _REPEATS.value)
    name = ("learners on threads, each a program" if how == "threads" else
            f"one program, learners {how}ped")
    print(f"| one population, {name} | {whole:.1f} | {steady:.2f} | "
          f"{whole_seq / whole:.2f}x, {steady_seq / steady:.2f}x |", flush=True)


if __name__ == "__main__":
  app.run(main)
