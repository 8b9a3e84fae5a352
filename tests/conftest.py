"""Test set-up: a persistent compilation cache, so that repeated local runs skip compiling what
they compiled before (CI starts with an empty one), and XLA:CPU flags that compile faster:
the backend at its lowest optimization level (about a quarter faster) and the older
elemental emitters instead of the MLIR fusion emitters (about a third faster again). The
suite mostly compiles small programs and runs them a few times. Both reach the tests'
subprocesses through the environment (tests/subprocess_env.py). Training and benchmarks
outside the tests keep XLA's defaults."""

import os

# Before JAX starts its backend; the tests' own subprocesses inherit them.
FAST_COMPILE = ("--xla_backend_optimization_level=0", "--xla_cpu_use_fusion_emitters=false")
for flag in FAST_COMPILE:
  if flag.split("=")[0] not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {flag}".strip()

import jax  # pylint: disable=wrong-import-position

jax.config.update("jax_compilation_cache_dir",
                  os.environ.get("JAXPLAY_TEST_CACHE", os.path.expanduser("~/.cache/jaxplay-jax")))
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)
