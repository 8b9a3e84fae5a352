"""Test set-up: a persistent compilation cache, so that repeated local runs skip compiling what
they compiled before (CI starts with an empty one)."""

import os

import jax

jax.config.update("jax_compilation_cache_dir",
                  os.environ.get("JAXPLAY_TEST_CACHE", os.path.expanduser("~/.cache/jaxplay-jax")))
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)
