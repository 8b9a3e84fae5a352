"""A sweep's runs as one program against the runs one by one, in one process
(`jaxplay.learn.sweep`).

    python -m benchmarks.sweep                      # both parts below
    python -m benchmarks.sweep --parts=kuhn --kuhn_updates=20 --kuhn_num_envs=64
    python -m benchmarks.sweep --runs_maps=vmap     # only the vmapped program
    python -m benchmarks.sweep --parts=kuhn --kuhn_set="network.kind='mlp'"   # a config change

kuhn: 16 seeds of experiments/configs/kuhn_poker.py (shortened to --kuhn_updates updates)
as one program against 16 runs one after the other, each compiled as `experiments.train`
compiles it (a new program per run); compile included, and steady state (one chunk of
updates_per_call updates, best of --repeats, summed over the runs one by one). The one
program is timed for each of --runs_maps: one run's program called for every run, a thread a
CPU core ("threads", what a sweep does on the CPU), its runs vmapped ("vmap") or one after the
other inside it ("map").
Training only: no evaluation, no checkpoints.

overcooked: 8 learning rates of experiments/configs/overcooked.py (shortened to
--overcooked_updates updates) in one program against the 8 single runs, timed alike; each
run's curve (every chunk's metrics) and final parameters in the one program are compared with
its single run's (the largest differences are printed).
"""

from __future__ import annotations

import platform
import time

import jax
import numpy as np
from absl import app, flags

import jaxplay
from experiments import sweep_lib
from experiments.configs import kuhn_poker, overcooked
from experiments.configs.sweeps import learning_rates
from jaxplay import config as config_lib
from jaxplay.learn import compiling
from jaxplay.learn.learner import Learner
from jaxplay.learn.sweep import VmappedRuns

_PARTS = flags.DEFINE_list("parts", ["kuhn", "overcooked"], "kuhn, overcooked.")
_KUHN_UPDATES = flags.DEFINE_integer("kuhn_updates", 40, "Updates of each Kuhn run.")
_SEEDS = flags.DEFINE_integer("seeds", 16, "Kuhn seeds.")
_KUHN_ENVS = flags.DEFINE_integer("kuhn_num_envs", 0, "Kuhn's ppo.num_envs (0: the config's).")
_KUHN_SET = flags.DEFINE_multi_string("kuhn_set", [], "A Kuhn config override, field=value "
                                      "(Python literal), e.g. --kuhn_set=network.kind='mlp'.")
_OC_UPDATES = flags.DEFINE_integer("overcooked_updates", 4, "Updates of each Overcooked run.")
_REPEATS = flags.DEFINE_integer("repeats", 3, "Timed steady-state chunks; the best counts.")
_RUNS_MAPS = flags.DEFINE_list("runs_maps", ["threads", "map", "vmap"], "How the one program "
                               "runs its runs, each timed: threads (one run's program on a "
                               "thread a core), map (one after the other), vmap.")
flags.register_validator("runs_maps", lambda ways: set(ways) <= {"threads", "map", "vmap"},
                         "--runs_maps takes threads, map and/or vmap, e.g. --runs_maps=map,vmap")


def shortened(config, updates: int, per_call: int):
  config.total_env_steps = updates * config_lib.steps_per_update(config_lib.check(config))
  config.run.updates_per_call = per_call
  config.run.log_every = config.run.eval_every = config.run.checkpoint_every = per_call
  return config


class Timed:
  """A program trained from its initial state: compile + every chunk, then steady state.
  `compile(state, per_call)`: the compiled chunk, a function of the state."""

  def __init__(self, compile, init, per_call: int, updates: int):
    start = time.perf_counter()
    state = jax.block_until_ready(init())
    chunk = compile(state, per_call)
    self.compile_s = time.perf_counter() - start
    self.curve = []
    for _ in range(updates // per_call):
      state, metrics = jax.block_until_ready(chunk(state))
      self.curve.append(jax.device_get(metrics))
    self.total_s, self.state = time.perf_counter() - start, state
    self.steady_s = min(_seconds(chunk, state) for _ in range(_REPEATS.value))


def _seconds(chunk, state) -> float:
  start = time.perf_counter()
  jax.block_until_ready(chunk(state))
  return time.perf_counter() - start


def compare(runs, per_call: int, updates: int):
  """Times the runs (`sweep_lib.Run`s) one by one and as one program (for each of
  --runs_maps); returns lines of figures and the largest differences between each run in the
  one program and its single run."""
  configs = [run.config for run in runs]
  singles = []
  for config in configs:
    learner = Learner(config)
    singles.append(Timed(lambda state, n, l=learner: compiling.compile_chunk(
        l.train_chunk, state, n, l.config),
        lambda l=learner, c=config: l.init(c.seed), per_call, updates))
  sequential = sum(t.total_s for t in singles)
  steady = sum(t.steady_s for t in singles)
  lines = [f"runs one after the other: {sequential:.1f} s (compiling "
           f"{sum(t.compile_s for t in singles):.1f} s of it); steady state, a chunk of "
           f"{per_call} updates of all {len(configs)} runs: {steady:.3f} s"]
  for how in _RUNS_MAPS.value:
    group = VmappedRuns(Learner(configs[0]), configs, runs_map=how)
    together = Timed(group.compile, group.init, per_call, updates)
    lines += [f"one program ({how}): {together.total_s:.1f} s (compiling "
              f"{together.compile_s:.1f} s): {sequential / together.total_s:.2f}x; steady state "
              f"{together.steady_s:.3f} s: {steady / together.steady_s:.2f}x"]
    for index, single in enumerate(singles):
      mine = VmappedRuns.run(together.state, index)
      params = max(float(np.max(np.abs(a - b))) for a, b in zip(
          jax.tree.leaves(mine.params), jax.tree.leaves(single.state.params)))
      curve = max(abs(float(VmappedRuns.run(chunk, index)[key]) - float(value))
                  / max(1.0, abs(float(value)))
                  for chunk, single_chunk in zip(together.curve, single.curve)
                  for key, value in single_chunk.items())
      lines.append(f"  run {runs[index].name}: largest difference to its single run: "
                   f"parameters {params:.2e}, curve (every chunk's metrics, relative above 1) "
                   f"{curve:.2e}")
  return lines


def main(argv):
  del argv
  print(f"# {platform.node()} | {platform.processor() or platform.machine()} | "
        f"{jax.devices()[0].platform} x{jax.device_count()} | jax {jax.__version__} | "
        f"jaxplay {jaxplay.__version__}")
  if "kuhn" in _PARTS.value:
    base = sweep_lib.apply_overrides(kuhn_poker.get_config(),
                                     sweep_lib.parse_overrides(_KUHN_SET.value))
    base.ppo.num_envs = _KUHN_ENVS.value or base.ppo.num_envs
    per_call = min(10, _KUHN_UPDATES.value)  # at least one chunk however short the runs
    base = shortened(base, _KUHN_UPDATES.value, per_call)
    runs = sweep_lib.make_runs(base, [{"seed": seed} for seed in range(_SEEDS.value)])
    print(f"## kuhn_poker: {_SEEDS.value} seeds, {_KUHN_UPDATES.value} updates of "
          f"{config_lib.steps_per_update(runs[0].config)} env steps each", flush=True)
    for line in compare(runs, per_call, _KUHN_UPDATES.value):
      print(line, flush=True)
  if "overcooked" in _PARTS.value:
    per_call = min(2, _OC_UPDATES.value)
    base = shortened(overcooked.get_config(), _OC_UPDATES.value, per_call)
    runs = sweep_lib.make_runs(base, learning_rates.sweep())
    print(f"## overcooked: {len(runs)} learning rates, {_OC_UPDATES.value} updates of "
          f"{config_lib.steps_per_update(runs[0].config)} env steps each", flush=True)
    for line in compare(runs, per_call, _OC_UPDATES.value):
      print(line, flush=True)


if __name__ == "__main__":
  app.run(main)
