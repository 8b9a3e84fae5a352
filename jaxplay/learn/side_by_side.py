"""One function over the leading axis of stacked arguments — a population's learners, a
sweep's runs — inside one compiled program: vmapped, or one after the other (`lax.map`).

    train_all = side_by_side.over_leading_axis(train_one, "auto")
    states, metrics = train_all(states, hyperparams)     # every leaf [R, ...] in and out

On the CPU "auto" runs them one after the other: there the vmapped program (batched
matmuls) ran slower than separate updates (BUILD_NOTES.md, "Populations" and "Sweeps"); on
accelerators it vmaps them. Either way the program is compiled once for all of them. (A
sweep's runs and a population's independent learners, separate programs, go on host threads
on the CPU instead: `on_threads`, `jaxplay.learn.sweep`, `Population(learner_map="threads")`.)
"""

from __future__ import annotations

import concurrent.futures
import os
from typing import Any, Callable, Sequence

import jax

from jaxplay.core.errors import ConfigError

MODES = ("auto", "vmap", "map")
WITH_THREADS = MODES + ("threads",)  # where the items are independent programs


def check_mode(mode: str, what: str, modes: tuple[str, ...] = MODES) -> str:
  """`mode` if it is one of `modes`, else one ConfigError naming `what` and the modes."""
  if mode not in modes:
    raise ConfigError(f"{what} must be one of {modes}, got {mode!r}")
  return mode


def vmaps(mode: str) -> bool:
  """Whether `mode` vmaps on this backend ("auto": on every backend but the CPU)."""
  return mode == "vmap" or (mode == "auto" and jax.default_backend() != "cpu")


def over_leading_axis(fn: Callable, mode: str = "auto") -> Callable:
  """`fn` mapped over the leading axis (size R) of all its arguments' leaves, its outputs
  stacked [R, ...]: `jax.vmap` or `jax.lax.map` as `mode` says (`vmaps`). With R = 1, `fn` is
  called directly on the one slice."""
  check_mode(mode, "mode")

  def mapped(*args):
    if jax.tree.leaves(args)[0].shape[0] == 1:
      out = fn(*jax.tree.map(lambda x: x[0], args))
      return jax.tree.map(lambda x: x[None], out)
    if vmaps(mode):
      return jax.vmap(fn)(*args)
    return jax.lax.map(lambda a: fn(*a), args)
  return mapped


def on_threads(call: Callable, items: Sequence[Any], workers: int = 0,
               wait: bool = True) -> list:
  """`[call(*item) for item in items]`, `workers` calls at once (0: one a CPU core), each from
  its own host thread and, with `wait`, waited for there (`block_until_ready`: `call` returns
  arrays), so that `workers` compiled programs run at once (JAX runs them, and XLA compiles,
  outside Python's lock). On the CPU, where XLA runs a small program's kernels one after the
  other, this fills cores that one program leaves idle (BUILD_NOTES.md, "Sweeps")."""
  workers = min(workers or cores(), len(items))
  finish = jax.block_until_ready if wait else (lambda out: out)
  with concurrent.futures.ThreadPoolExecutor(workers) as pool:
    return list(pool.map(lambda item: finish(call(*item)), items))


def cores() -> int:
  """The CPU cores this process may run on (all of them where the OS cannot say)."""
  if hasattr(os, "sched_getaffinity"):   # Linux
    return len(os.sched_getaffinity(0))
  return os.cpu_count() or 1
