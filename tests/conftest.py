"""Test set-up: a persistent compilation cache, so that repeated local runs skip compiling what
they compiled before (CI starts with an empty one), and XLA's CPU backend at its lowest
optimization level, which compiles about a quarter faster: the suite mostly compiles small
programs and runs them a few times. Both reach the tests' subprocesses through the
environment (tests/subprocess_env.py)."""

import os

# Before JAX starts its backend; the tests' own subprocesses inherit it.
FAST_COMPILE = "--xla_backend_optimization_level=0"
if FAST_COMPILE not in os.environ.get("XLA_FLAGS", ""):
  os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {FAST_COMPILE}".strip()

import jax  # pylint: disable=wrong-import-position

jax.config.update("jax_compilation_cache_dir",
                  os.environ.get("JAXPLAY_TEST_CACHE", os.path.expanduser("~/.cache/jaxplay-jax")))
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)
