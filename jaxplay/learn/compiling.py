"""How a run's training programs are compiled: XLA options from the run config.

    chunk = compiling.compile_chunk(learner.train_chunk, state, 10, learner.config)
    compiled = compiling.compile(jax.jit(fn).lower(*args), learner.config)   # any program

Every program that trains (`experiments.train`'s chunks, a population's, a sweep's runs, the
benchmarks' single runs) compiles through `compile` or `compile_chunk` (PSRO's `jax.jit` takes
`compiler_options`), so a run and the same run inside a sweep or a population stay the same
program and end on the same parameters, to the bit.

`run.xla_ynnpack_fusions` (default True, XLA's own default): XLA:CPU hands dots, reductions
and elementwise chains to YNNPACK. With False those run as XLA's own kernels
(`--xla_cpu_experimental_ynn_fusion_type=` for these programs only, the rest of the process
untouched). Which is faster depends on the shapes: on a 2-core AMD EPYC, a Kuhn update
(minibatches of 1,024 samples through a width-32 transformer) took 125 ms without YNNPACK
against 178 ms with it, tic-tac-toe's 10% and negotiation's 35% longer (BUILD_NOTES.md,
"Sweeps"). Results differ only by float rounding. No effect off the CPU.
"""

from __future__ import annotations

from typing import Any, Callable

import jax

YNN_FUSION_TYPES = "xla_cpu_experimental_ynn_fusion_type"


def compiler_options(config: Any) -> dict[str, str]:
  """The XLA options of a checked run config's training programs on this backend."""
  if jax.default_backend() != "cpu" or config.run.xla_ynnpack_fusions:
    return {}
  return {YNN_FUSION_TYPES: ""}  # no fusion type: YNNPACK takes nothing


def compile(lowered: jax.stages.Lowered, config: Any) -> jax.stages.Compiled:  # noqa: A001
  """`lowered.compile()` with the options of `config` (`compiler_options`)."""
  options = compiler_options(config)
  return lowered.compile(compiler_options=options) if options else lowered.compile()


def compile_chunk(train_chunk: Callable, state: Any, num_updates: int,
                  config: Any) -> jax.stages.Compiled:
  """`train_chunk(state, num_updates)` (a `train_chunk` method: state, static number of
  updates) compiled for `state`'s shapes with the options of `config`."""
  return compile(jax.jit(train_chunk, static_argnums=1).lower(state, num_updates), config)
