"""R self-play runs of one compiled program: runs that differ only in their seed and in
shape-keeping hyperparameters (`jaxplay.learn.hyperparams`) share one `Learner`'s program,
its hyperparameters traced. How the R runs go (`runs_map`, see `RUNS_MAPS`):

- "vmap": `jax.vmap` over their stacked states, one program for all (accelerators' default);
- "map": one after the other inside one program (`lax.map`);
- "threads": one run's program, compiled once, called for every run, as many at once as the
  CPU has cores, each from its own host thread (the CPU's default). XLA:CPU runs a small
  update's many small kernels one after the other and cannot keep two cores busy with them
  (a Kuhn update ran faster on one core than on two), while two runs at once fill both:
  BUILD_NOTES.md, "Sweeps". The vmapped program ran slower than the runs one by one there.

Every way compiles one program for all R runs.

    group = VmappedRuns(Learner(configs[0]), configs)
    states = group.init()                # every leaf [R, ...]; with threads a list of R states
    chunk = group.compile(states, 10)    # 10 updates of every run a call
    states, metrics = chunk(states)      # metrics {name: [R]} (with threads a list of R dicts)
    group.run(states, 2)                 # run 2's TrainState, either way

(`train_chunk` is the jittable form on stacked states.)

Run r computes what a single run of `configs[r]` computes (`Learner(configs[r])`, its seed), to
float tolerance: only the hyperparameters that differ among the runs are traced, the others
are compiled in as in a single run. Initial states come from `jax.lax.map` over the seeds, not
`vmap` (network initializers are never vmapped: XLA:CPU deadlocks in a vmapped QR of the
orthogonal initializer).
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from jaxplay import config as config_lib
from jaxplay.core.errors import ConfigError
from jaxplay.learn import hyperparams as hyperparams_lib
from jaxplay.learn import compiling, side_by_side
from jaxplay.learn.learner import Learner, TrainState

RUNS_MAPS = side_by_side.WITH_THREADS


def vmappable(config) -> bool:
  """Whether runs of a checked config can train vmapped: self-play, one learner, no scripted
  partners, on one device (populations, PSRO and data-parallel runs cannot)."""
  return config_lib.plain_self_play(config.population) and config.parallel.data == 1


class VmappedRuns:
  """Runs of `configs` (checked configs equal but for the seed and the `Hyperparams`
  fields, agreeing on `hyperparams.structure`) as one program of `learner`'s (a `Learner` of
  any of them), the runs vmapped, one after the other or on threads as `runs_map` says
  (`RUNS_MAPS`; "auto": "threads" on the CPU, else "vmap"). `threads`: how many runs at once
  with "threads" (0: one a CPU core).

  Attributes:
    traced: {field: float32[R] or [R, G]} the hyperparameters that differ among the runs.
    seeds: int32[R] the runs' seeds.

  Raises:
    ConfigError: a config that cannot vmap (`vmappable`), runs whose zero coefficients
      differ (the loss leaves a term out where its coefficient is 0), or an unknown
      `runs_map`.
  """

  def __init__(self, learner: Learner, configs: Sequence[Any], runs_map: str = "auto",
               threads: int = 0):
    hparams = [hyperparams_lib.from_config(config) for config in configs]
    if not all(vmappable(config) for config in configs):
      raise ConfigError("vmapped runs are self-play runs of one learner on one device")
    if len({hyperparams_lib.structure(h) for h in hparams}) > 1:
      raise ConfigError(f"runs vmapped together must agree on which of "
                        f"{hyperparams_lib.STRUCTURAL} are 0")
    self.learner, self.size = learner, len(configs)
    self.runs_map = side_by_side.check_mode(runs_map, "sweep: runs_map", RUNS_MAPS)
    self.threads = threads or side_by_side.cores()
    self.seeds = jnp.asarray(np.array([config.seed for config in configs], np.int32))
    self.traced = hyperparams_lib.stack(hparams, hyperparams_lib.differing(hparams))

  @property
  def threaded(self) -> bool:
    """Whether the runs go on host threads ("threads", or "auto" on the CPU)."""
    return self.runs_map == "threads" or (self.runs_map == "auto"
                                          and not side_by_side.vmaps("auto"))

  def how(self) -> str:
    """How the runs go, in words (for progress lines)."""
    if self.threaded:
      return f"each run a call of it, {min(self.threads, self.size)} at once on threads"
    return "vmapped" if side_by_side.vmaps(self.runs_map) else "one after the other"

  def init(self) -> Any:
    """The runs' initial states (`Learner.fresh` of each seed): stacked [R, ...], or with
    threads a list of R states (see `join`)."""
    if self.threaded:
      return [self.learner.init(seed) for seed in np.asarray(self.seeds).tolist()]
    return jax.lax.map(self.learner.fresh, self.seeds)

  def join(self, states: Sequence[Any]) -> Any:
    """R runs' states in the form this group's chunks take: stacked along a leading axis,
    or with threads the list itself."""
    return list(states) if self.threaded else self.stack(states)

  def train_chunk(self, states: TrainState, num_updates: int):
    """`Learner.train_chunk` of every run on stacked states, jittable: vmapped or one after
    the other ("map" also for "threads"). Returns (states, metrics {name: [R]})."""
    mode = "map" if self.runs_map == "threads" else self.runs_map
    return side_by_side.over_leading_axis(self._one(num_updates), mode)(states, self.traced)

  def compile(self, states: Any, num_updates: int) -> Callable:
    """The compiled chunk of `num_updates` updates of every run: a function of the runs'
    states (`init`, `join`) to (states, metrics), each in the group's form; `run` takes a
    run's part of either. With threads: one run's program, called for each run with its
    traced hyperparameters, `threads` runs at once."""
    config = self.learner.config
    if not self.threaded:
      return compiling.compile_chunk(self.train_chunk, states, num_updates, config)
    traced = [self.run(self.traced, index) for index in range(self.size)]
    one = compiling.compile(jax.jit(self._one(num_updates)).lower(states[0], traced[0]), config)

    def chunk(states: list) -> tuple[list, list]:
      done = side_by_side.on_threads(one, list(zip(states, traced)), self.threads)
      return [state for state, _ in done], [metrics for _, metrics in done]
    return chunk

  def _one(self, num_updates: int) -> Callable:
    """One run's chunk: (state, its traced hyperparameters) -> (state, metrics)."""
    def one(state, traced):
      return self.learner.train_chunk(state, num_updates, traced or None)
    return one

  @staticmethod
  def run(states: Any, index: int) -> Any:
    """Run `index`'s part of the runs' states (or metrics): stacked, or a list."""
    if isinstance(states, list):
      return states[index]
    return jax.tree.map(lambda x: x[index], states)

  @staticmethod
  def stack(states: Sequence[Any]) -> Any:
    """R runs' states stacked along a leading axis."""
    return jax.tree.map(lambda *xs: jnp.stack(xs), *states)

