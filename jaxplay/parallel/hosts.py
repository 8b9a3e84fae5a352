"""Many hosts: joining a multi-process JAX job, and what only one process does.

A run on many hosts (a GPU cluster, a TPU pod, or two processes on one machine) is one
program on every process: each process holds its own devices of one global mesh, plays its
own shard of the games, and gradients are averaged across all devices by the collectives of
the update (`DataParallel.run`). `initialize` joins the job before anything touches a device:

    initialize("10.0.0.1:1234", num_processes=2, process_id=0)   # on host 0; id 1 on host 1
    initialize("auto")          # a TPU pod, Slurm, Open MPI, or JAX_COORDINATOR_ADDRESS & co.

Only process 0 writes logs, metrics and config files (`is_writer`); checkpoints are written
and read by all processes together (orbax), each its own shards. On CPU the collectives run
over gloo.
"""

from __future__ import annotations

import socket
import time
from typing import Any

import jax
import numpy as np
from jax.experimental import multihost_utils

from jaxplay.core.errors import ConfigError, JaxplayError

AUTO = "auto"


class DistributedError(JaxplayError):
  """A process that cannot join the multi-process job (e.g. an unreachable coordinator)."""


def _check_args(coordinator: str, num_processes: int, process_id: int) -> tuple[str, int]:
  """(host, port) of a `host:port` coordinator. Raises ConfigError for bad values."""
  host, _, port = coordinator.rpartition(":")
  if not host or not port.isdigit():
    raise ConfigError(f"--coordinator={coordinator!r}: expected host:port (e.g. "
                      f"10.0.0.1:1234) or {AUTO!r} (TPU pods, Slurm, Open MPI)")
  if num_processes < 2:
    raise ConfigError(f"--num_processes={num_processes}: a coordinator needs 2 or more "
                      "processes (one process needs no --coordinator)")
  if not 0 <= process_id < num_processes:
    raise ConfigError(f"--process_id={process_id}: must be in [0, {num_processes}) "
                      f"(--num_processes={num_processes})")
  return host, int(port)


def wait_for_coordinator(host: str, port: int, timeout_s: float) -> None:
  """Returns once `host:port` accepts a TCP connection, retrying for `timeout_s` seconds.

  Raises:
    DistributedError: it did not within `timeout_s` (JAX itself would abort the process).
  """
  deadline, reason = time.monotonic() + timeout_s, "no answer"
  while True:
    try:
      with socket.create_connection((host, port), timeout=min(2.0, timeout_s)):
        return
    except OSError as error:
      reason = error.strerror or type(error).__name__
    if time.monotonic() >= deadline:
      raise DistributedError(
          f"cannot reach the coordinator {host}:{port} within {timeout_s:g} s ({reason}): "
          "start process 0 (it hosts the coordinator) with the same --coordinator, and check "
          "the address, the port and the firewall; raise --coordinator_timeout to wait longer")
    time.sleep(0.2)


def initialize(coordinator: str = "", num_processes: int = 1, process_id: int = 0,
               timeout_s: int = 300) -> None:
  """Joins a multi-process job (call before any JAX computation); does nothing for one
  process (`coordinator` ""). `coordinator` "auto": JAX's cluster detection supplies the
  address, process count and id. A process other than 0 first checks that it can reach the
  coordinator (JAX would abort the process without a Python error).

  Raises:
    ConfigError: a malformed address, a process count under 2, an id out of range.
    DistributedError: the coordinator cannot be reached within `timeout_s`.
  """
  if not coordinator:
    if num_processes > 1:
      raise ConfigError(f"--num_processes={num_processes} needs --coordinator=host:port "
                        f"(or {AUTO!r})")
    return
  jax.config.update("jax_cpu_collectives_implementation", "gloo")  # CPU only; else unused
  if coordinator == AUTO:
    jax.distributed.initialize(initialization_timeout=timeout_s)
    return
  host, port = _check_args(coordinator, num_processes, process_id)
  if process_id:
    wait_for_coordinator(host, port, timeout_s)
  jax.distributed.initialize(coordinator, num_processes=num_processes, process_id=process_id,
                             initialization_timeout=timeout_s)


def is_writer() -> bool:
  """Whether this process writes logs, metrics and config files (process 0)."""
  return jax.process_index() == 0


def to_host(leaf: Any) -> np.ndarray:
  """A whole array's values on this host, also when its shards live on other processes
  (gathered from them: every process must call this for the same array)."""
  if isinstance(leaf, jax.Array) and not leaf.is_fully_addressable:
    if leaf.is_fully_replicated:
      return np.asarray(leaf.addressable_data(0))
    return np.asarray(multihost_utils.process_allgather(leaf, tiled=True))
  return np.asarray(jax.device_get(leaf))


def to_local(tree: Any) -> Any:
  """`tree` with arrays of a multi-process mesh replaced by this process's copy of their
  values (`to_host`, on this process's default device: for per-process work such as
  evaluation); tracers and other leaves as they are."""
  return jax.tree.map(lambda x: (jax.numpy.asarray(to_host(x)) if isinstance(x, jax.Array)
                                 and not isinstance(x, jax.core.Tracer)
                                 and not x.is_fully_addressable else x), tree)

