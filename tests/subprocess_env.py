"""The environment of a test's subprocess: this process's (with the suite's XLA flags,
conftest.py), forced CPU devices, and optionally this session's compilation cache."""

from __future__ import annotations

import os

import jax


def with_devices(devices: int, share_cache: bool = True) -> dict[str, str]:
  """os.environ with `devices` forced CPU devices added to XLA_FLAGS and, if `share_cache`,
  the compilation cache of this pytest session (for single-process runs: the multi-process
  ones keep their own)."""
  flags = os.environ.get("XLA_FLAGS", "")
  env = dict(os.environ, JAX_PLATFORMS="cpu",
             XLA_FLAGS=f"{flags} --xla_force_host_platform_device_count={devices}".strip())
  if share_cache:
    env.update(JAX_COMPILATION_CACHE_DIR=jax.config.jax_compilation_cache_dir,
               JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS=str(
                   jax.config.jax_persistent_cache_min_compile_time_secs))
  return env
