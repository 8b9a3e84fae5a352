"""R self-play runs in one compiled program: runs that differ only in their seed and in
shape-keeping hyperparameters (`jaxplay.learn.hyperparams`) share one `Learner`'s program,
mapped over their stacked states and their traced hyperparameters: `jax.vmap`ped on
accelerators, one after the other (`lax.map`) on the CPU, where the vmapped program ran slower
than the runs one by one (`jaxplay.learn.side_by_side`; BUILD_NOTES.md, "Sweeps"). Either way
the program compiles once for all R runs.

    group = VmappedRuns(Learner(configs[0]), configs)
    states = group.init()                                  # TrainState, every leaf [R, ...]
    states, metrics = jax.jit(group.train_chunk, static_argnums=1)(states, 10)   # metrics [R]
    group.run(states, 2)                                   # run 2's TrainState

Run r computes what a single run of `configs[r]` computes (`Learner(configs[r])`, its seed), to
float tolerance: only the hyperparameters that differ among the runs are traced, the others
are compiled in as in a single run. Initial states come from `jax.lax.map` over the seeds, not
`vmap` (network initializers are never vmapped: XLA:CPU deadlocks in a vmapped QR of the
orthogonal initializer).
"""

from __future__ import annotations

from typing import Any, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from jaxplay import config as config_lib
from jaxplay.core.errors import ConfigError
from jaxplay.learn import hyperparams as hyperparams_lib
from jaxplay.learn import side_by_side
from jaxplay.learn.learner import Learner, TrainState


def vmappable(config) -> bool:
  """Whether runs of a checked config can train vmapped: self-play, one learner, no scripted
  partners, on one device (populations, PSRO and data-parallel runs cannot)."""
  return config_lib.plain_self_play(config.population) and config.parallel.data == 1


class VmappedRuns:
  """Runs of `configs` (checked configs equal but for the seed and the `Hyperparams`
  fields, agreeing on `hyperparams.structure`) as one program of `learner`'s (a `Learner` of
  any of them), the runs vmapped or one after the other as `runs_map` says
  (`side_by_side.MODES`; "auto": one after the other on the CPU, else vmapped).

  Attributes:
    traced: {field: float32[R] or [R, G]} the hyperparameters that differ among the runs.
    seeds: int32[R] the runs' seeds.

  Raises:
    ConfigError: a config that cannot vmap (`vmappable`), runs whose zero coefficients
      differ (the loss leaves a term out where its coefficient is 0), or an unknown
      `runs_map`.
  """

  def __init__(self, learner: Learner, configs: Sequence[Any], runs_map: str = "auto"):
    hparams = [hyperparams_lib.from_config(config) for config in configs]
    if not all(vmappable(config) for config in configs):
      raise ConfigError("vmapped runs are self-play runs of one learner on one device")
    if len({hyperparams_lib.structure(h) for h in hparams}) > 1:
      raise ConfigError(f"runs vmapped together must agree on which of "
                        f"{hyperparams_lib.STRUCTURAL} are 0")
    self.learner, self.size = learner, len(configs)
    self.runs_map = side_by_side.check_mode(runs_map, "sweep: runs_map")
    self.seeds = jnp.asarray(np.array([config.seed for config in configs], np.int32))
    self.traced = hyperparams_lib.stack(hparams, hyperparams_lib.differing(hparams))

  def init(self) -> TrainState:
    """The runs' initial states, stacked [R, ...] (`Learner.fresh` of each seed)."""
    return jax.lax.map(self.learner.fresh, self.seeds)

  def train_chunk(self, states: TrainState, num_updates: int):
    """`Learner.train_chunk` of every run. Returns (states, metrics {name: [R]})."""
    def one(state, traced):
      return self.learner.train_chunk(state, num_updates, traced or None)
    return side_by_side.over_leading_axis(one, self.runs_map)(states, self.traced)

  @staticmethod
  def run(states: Any, index: int) -> Any:
    """Run `index`'s part of stacked states (or metrics)."""
    return jax.tree.map(lambda x: x[index], states)

  @staticmethod
  def stack(states: Sequence[Any]) -> Any:
    """R runs' states stacked along a leading axis."""
    return jax.tree.map(lambda *xs: jnp.stack(xs), *states)
