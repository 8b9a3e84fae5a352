"""Checkpoints of a training run's whole state, for experiment binaries that resume.

A state is any pytree of arrays (params, optimizer state, environment states, PRNG key data as
uint32 arrays, counters). `Checkpointer` keeps the last few in a workdir with orbax:

    <directory>/<step>/state/     the arrays (orbax's OCDBT format)
    <directory>/<step>/jaxplay/   JSON: the user's metadata, the jaxplay version and the SHA-256
                                  of every leaf's bytes

Saving is synchronous and atomic (orbax writes to a temporary directory and renames it), and a
step is never overwritten. Restoring checks, before orbax reads any array, that the saved tree
has the target's leaves, shapes and dtypes (orbax would otherwise cast or fail deep inside), and
afterwards that every leaf has the bytes that were saved (orbax does not notice a flipped bit in
its data files). Every problem a user can cause, a corrupt or incompatible checkpoint included,
is a `CheckpointError` that names the checkpoint and says what to do; nothing is ever deleted or
replaced to recover from one, and no older step is used in place of a broken one.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import pathlib
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np
import orbax.checkpoint as ocp

from jaxplay.core.errors import JaxplayError
from jaxplay.parallel import hosts

_STATE = "state"
_INFO = "jaxplay"
_FORMAT = 1
_SHOWN = 5  # Mismatching leaves listed in an error.


class CheckpointError(JaxplayError):
  """A checkpoint that cannot be saved or restored: corrupt, incompatible with the state to
  restore, already present, or absent."""


def _version() -> str:
  import jaxplay  # Here, not at the top: jaxplay's own imports may still be running.
  return jaxplay.__version__


def _leaf_name(path: tuple) -> str:
  return jax.tree_util.keystr(path, simple=True, separator="/") or "<root>"


def _spec(shape: tuple, dtype: Any) -> str:
  return f"{np.dtype(dtype).name}[{', '.join(str(n) for n in shape)}]"


def _check_leaf(name: str, leaf: Any) -> None:
  """Rejects leaves that are not arrays or numbers, and typed PRNG keys."""
  dtype = getattr(leaf, "dtype", None)
  if dtype is not None and jax.dtypes.issubdtype(dtype, jax.dtypes.prng_key):
    raise CheckpointError(f"leaf {name!r} is a typed PRNG key; store "
                          "jax.random.key_data(key) (uint32) in the state instead and rebuild "
                          "the key with jax.random.wrap_key_data")
  if dtype is None and not isinstance(leaf, (bool, int, float, complex, np.generic)):
    raise CheckpointError(f"leaf {name!r} is a {type(leaf).__name__}; checkpoints hold "
                          "arrays and numbers only")


def _abstract(name: str, leaf: Any) -> jax.ShapeDtypeStruct:
  """Shape and dtype of a leaf; Python numbers get the dtype `jnp.asarray` gives them."""
  _check_leaf(name, leaf)
  if hasattr(leaf, "dtype") and hasattr(leaf, "shape"):
    return jax.ShapeDtypeStruct(tuple(leaf.shape), np.dtype(leaf.dtype))
  return jax.ShapeDtypeStruct((), jax.dtypes.canonicalize_dtype(np.result_type(leaf)))


def _to_host(name: str, leaf: Any) -> np.ndarray:
  """The leaf's values on this host (gathered from other processes where it is sharded
  over them)."""
  if isinstance(leaf, jax.ShapeDtypeStruct):
    raise CheckpointError(f"leaf {name!r} is a ShapeDtypeStruct, which holds no values to save")
  dtype = _abstract(name, leaf).dtype  # (rejects leaves that are not arrays or numbers)
  return np.asarray(hosts.to_host(leaf), dtype=dtype)


def _sharding(leaf: Any, default: jax.sharding.Sharding) -> jax.sharding.Sharding:
  """Where a target leaf's restored values go: its own sharding (an array's, or a
  ShapeDtypeStruct's if it has one), else `default`."""
  sharding = getattr(leaf, "sharding", None)
  return sharding if isinstance(sharding, jax.sharding.Sharding) else default


def _digest(array: np.ndarray) -> str:
  return hashlib.sha256(np.ascontiguousarray(array).reshape(-1).view(np.uint8)).hexdigest()


def _specs_by_name(tree: Any) -> dict[str, tuple[tuple, np.dtype | None]]:
  """{leaf name: (shape, dtype)} of a tree of arrays or of orbax array metadata."""
  leaves = jax.tree_util.tree_flatten_with_path(tree)[0]
  return {_leaf_name(path): (tuple(getattr(leaf, "shape", ()) or ()),
                             getattr(leaf, "dtype", None)) for path, leaf in leaves}


def _mismatches(saved: dict, expected: dict) -> list[str]:
  """One line per leaf that differs between the saved tree and the target, in target order."""
  lines = []
  for name, (shape, dtype) in expected.items():
    if name not in saved:
      lines.append(f"{name}: not in the checkpoint, expected {_spec(shape, dtype)}")
      continue
    saved_shape, saved_dtype = saved[name]
    if saved_dtype is None:
      lines.append(f"{name}: saved as a non-array value, expected {_spec(shape, dtype)}")
    elif saved_shape != shape or np.dtype(saved_dtype) != np.dtype(dtype):
      lines.append(f"{name}: saved {_spec(saved_shape, saved_dtype)}, "
                   f"expected {_spec(shape, dtype)}")
  return lines + [f"{name}: saved, but not in the state to restore"
                  for name in saved if name not in expected]


def _target_specs(target: Any) -> list[tuple[str, jax.ShapeDtypeStruct]]:
  """(leaf name, shape and dtype) of every leaf of the target, in flattening order."""
  leaves = jax.tree_util.tree_flatten_with_path(target)[0]
  if not leaves:
    raise CheckpointError("the target to restore into has no arrays")
  return [(_leaf_name(path), _abstract(_leaf_name(path), leaf)) for path, leaf in leaves]


def _check_metadata(metadata: dict | None) -> dict:
  metadata = {} if metadata is None else metadata
  if not isinstance(metadata, dict):
    raise CheckpointError(f"checkpoint metadata must be a dict, not {type(metadata).__name__}")
  try:
    json.dumps(metadata)
  except (TypeError, ValueError) as error:
    raise CheckpointError(f"checkpoint metadata must be JSON: {error}") from None
  return metadata


def _default_device() -> jax.Device:
  """The device new arrays go to (honours `jax.default_device`)."""
  return next(iter(jnp.zeros((), jnp.int8).devices()))


def _registry() -> ocp.handlers.DefaultCheckpointHandlerRegistry:
  registry = ocp.handlers.DefaultCheckpointHandlerRegistry()
  registry.add(_STATE, ocp.args.StandardSave, ocp.handlers.StandardCheckpointHandler)
  registry.add(_STATE, ocp.args.StandardRestore, ocp.handlers.StandardCheckpointHandler)
  registry.add(_INFO, ocp.args.JsonSave, ocp.handlers.JsonCheckpointHandler)
  registry.add(_INFO, ocp.args.JsonRestore, ocp.handlers.JsonCheckpointHandler)
  return registry


class Checkpointer:
  """Saves and restores the state of a training run in `directory`, one subdirectory per step,
  keeping the newest `max_to_keep`. Use it as a context manager, or call `close`."""

  def __init__(self, directory: str | os.PathLike, *, max_to_keep: int = 3) -> None:
    if isinstance(max_to_keep, bool) or not isinstance(max_to_keep, int) or max_to_keep < 1:
      raise CheckpointError(f"max_to_keep must be a positive int, not {max_to_keep!r}")
    self.directory = pathlib.Path(directory).absolute()
    self.max_to_keep = max_to_keep
    options = ocp.CheckpointManagerOptions(max_to_keep=max_to_keep, create=True,
                                           enable_async_checkpointing=False)
    try:
      self._manager: ocp.CheckpointManager | None = ocp.CheckpointManager(
          self.directory, options=options, handler_registry=_registry())
    except Exception as error:
      raise CheckpointError(f"cannot use {self.directory} as a checkpoint directory: {error}; "
                            "pass a writable directory as the workdir") from error

  # Steps.

  def all_steps(self) -> list[int]:
    """The steps that have a checkpoint, in increasing order (read from the directory)."""
    manager = self._open()
    manager.reload()  # The directory may have been changed by hand since the last look.
    return sorted(int(step) for step in manager.all_steps())

  def latest_step(self) -> int | None:
    """The newest step with a checkpoint, or None if there is none."""
    steps = self.all_steps()
    return steps[-1] if steps else None

  def path(self, step: int) -> pathlib.Path:
    """The directory of the checkpoint at `step`."""
    return self.directory / str(step)

  # Save.

  def save(self, step: int, state: Any, *, metadata: dict | None = None) -> None:
    """Writes `state` (a pytree of arrays and numbers) and `metadata` (a JSON object) as the
    checkpoint at `step`, and returns once it is committed; then drops the oldest checkpoints
    beyond `max_to_keep`. Steps must increase, and an existing step is never overwritten."""
    step = self._check_new_step(step)
    info = {"format": _FORMAT, "jaxplay_version": _version(), "step": step,
            "metadata": _check_metadata(metadata)}
    leaves, treedef = jax.tree_util.tree_flatten_with_path(state)
    if not leaves:
      raise CheckpointError("the state to save has no arrays")
    host = [_to_host(_leaf_name(path), leaf) for path, leaf in leaves]
    info["sha256"] = {_leaf_name(path): _digest(array)
                      for (path, _), array in zip(leaves, host)}
    # Orbax cannot save arrays of size 0 (e.g. a game's message log when it has no messages):
    # they hold no values, so only their shapes are recorded, and restored as empty arrays.
    info["empty"] = {_leaf_name(path): _spec(array.shape, array.dtype)
                     for (path, _), array in zip(leaves, host) if array.size == 0}
    # A jax array goes to orbax as it is: every process writes its own shards.
    kept = [None if array.size == 0 else leaf if isinstance(leaf, jax.Array) else array
            for (_, leaf), array in zip(leaves, host)]
    args = ocp.args.Composite(**{
        _STATE: ocp.args.StandardSave(jax.tree_util.tree_unflatten(treedef, kept)),
        _INFO: ocp.args.JsonSave(info)})
    manager = self._open()
    try:
      saved = manager.save(step, args=args, force=True)
      manager.wait_until_finished()
    except Exception as error:
      raise CheckpointError(f"could not save checkpoint {self.path(step)}: {error}") from error
    if not saved:
      raise CheckpointError(f"orbax declined to save checkpoint {self.path(step)}")

  def _check_new_step(self, step: int) -> int:
    if isinstance(step, bool) or not isinstance(step, (int, np.integer)) or step < 0:
      raise CheckpointError(f"a checkpoint step must be an int >= 0, not {step!r}")
    step, steps = int(step), self.all_steps()
    if step in steps:
      raise CheckpointError(f"checkpoint {self.path(step)} already exists and is never "
                            "overwritten; save under a new step, delete it by hand, or use a "
                            "new --workdir")
    if steps and step < steps[-1]:
      raise CheckpointError(f"cannot save step {step} in {self.directory}: it already holds "
                            f"the later step {steps[-1]} and steps must increase; use a new "
                            "--workdir")
    return step

  # Restore.

  def restore(self, step: int | None, target: Any, *, added: tuple[str, ...] = (),
              dropped: tuple[str, ...] = ()) -> Any:
    """The state saved at `step` (None: the latest), as jax arrays in the structure of
    `target`, a tree with the saved leaves' shapes and dtypes (a freshly initialized state, or
    `jax.eval_shape` of one). The values are bitwise the saved ones. Each leaf is placed as
    the target's is (its sharding: e.g. env states cut over a mesh of another size than the
    one that saved them, which is how a run resumes on another device count), or on the
    default device where the target's leaf has no sharding.

    `added`: names of leaves added to the state's structure after checkpoints were written
    (e.g. "born"); a checkpoint without such a leaf restores with the target's value of it
    (so `target` must then be a real state, not shapes). `dropped`: last parts of the names of
    leaves removed from the structure since (e.g. "observation" and "legal_action_mask",
    which env states stored until 2026-12); a checkpoint's leaves of those names, where the
    target has none, are skipped: not restored, not an error. Any other difference is an
    error."""
    step = self._existing_step(step)
    specs = _target_specs(target)
    info = self._info(step)
    targeted = {name for name, _ in specs}
    is_dropped = lambda name: name.rsplit("/", 1)[-1] in dropped and name not in targeted
    empty = {name: _spec(s.shape, s.dtype) for name, s in specs if math.prod(s.shape) == 0}
    self._check_empty(step, {name: spec for name, spec in info.get("empty", {}).items()
                             if not is_dropped(name)}, empty)
    absent = {name for name, _ in specs if name in added and name not in info["sha256"]}
    saved_tree = self._check_compatible(step, {name: (s.shape, s.dtype) for name, s in specs
                                               if name not in empty and name not in absent},
                                        is_dropped)
    device = jax.sharding.SingleDeviceSharding(_default_device())
    given = jax.tree.leaves(target)
    by_name = dict(specs)
    placed = {name: _sharding(leaf, device) for (name, _), leaf in zip(specs, given)}
    spec = lambda name: (None if name in empty or is_dropped(name) else jax.ShapeDtypeStruct(
        by_name[name].shape, by_name[name].dtype, sharding=placed[name]))
    # Read in the saved tree's own structure (which lacks the `absent` leaves), then placed
    # into the target's by leaf name.
    abstract = jax.tree_util.tree_map_with_path(
        lambda path, _: spec(_leaf_name(path)), saved_tree)
    try:
      restored = self._open().restore(
          step, args=ocp.args.Composite(**{_STATE: ocp.args.StandardRestore(abstract)}))[_STATE]
    except Exception as error:
      raise self._corrupt(step, f"orbax cannot read its arrays ({error})") from error
    values = {_leaf_name(path): value
              for path, value in jax.tree_util.tree_flatten_with_path(restored)[0]}
    restored = jax.tree_util.tree_unflatten(jax.tree.structure(target), [
        jax.device_put(jnp.zeros(s.shape, s.dtype), placed[name]) if name in empty
        else jax.device_put(jnp.asarray(given[i]), placed[name]) if name in absent
        else values[name] for i, (name, s) in enumerate(specs)])
    self._check_digests(step, restored, info["sha256"], skip=absent)
    return restored

  def saved_shapes(self, step: int | None = None) -> dict[str, tuple[int, ...]]:
    """{leaf name: shape} of the state saved at `step` (None: the latest), read from orbax's
    metadata without reading any array (arrays of size 0 are not listed)."""
    tree = self._saved_tree(self._existing_step(step))
    return {name: shape for name, (shape, _) in _specs_by_name(tree).items()}

  def _saved_tree(self, step: int) -> Any:
    """orbax's metadata tree of the state saved at `step` (shapes, dtypes; no arrays)."""
    if not (self.path(step) / _STATE).is_dir():
      raise self._corrupt(step, f"its {_STATE}/ directory is missing")
    try:
      tree = self._open().item_metadata(step)[_STATE]
    except Exception as error:
      raise self._corrupt(step, f"orbax cannot read its metadata ({error})") from error
    if tree is None:
      raise self._corrupt(step, "the state's metadata is missing")
    return tree

  def metadata(self, step: int | None = None) -> dict:
    """The metadata saved with the checkpoint at `step` (None: the latest), as JSON reads it
    back (tuples become lists)."""
    return self._info(self._existing_step(step))["metadata"]

  def _existing_step(self, step: int | None) -> int:
    steps = self.all_steps()
    if not steps:
      raise CheckpointError(f"no checkpoint to restore: {self.directory} holds none; start the "
                            "run from scratch, or pass the workdir of the run to resume")
    if step is None:
      return steps[-1]
    if isinstance(step, bool) or not isinstance(step, (int, np.integer)) or step not in steps:
      raise CheckpointError(f"no checkpoint at step {step!r} in {self.directory}; it holds "
                            f"steps {steps}")
    return int(step)

  def _check_empty(self, step: int, saved: dict, expected: dict) -> None:
    """The arrays of size 0 (not in orbax's files) must be the same in both trees."""
    if saved != expected:
      raise CheckpointError(
          f"checkpoint {self.path(step)} does not fit the state to restore: its empty arrays "
          f"are {saved or 'none'}, the state's are {expected or 'none'}. Resume with the "
          "configuration it was saved with, or use a new --workdir")

  def _check_compatible(self, step: int, expected: dict,
                        is_dropped: Callable[[str], bool]) -> Any:
    """Compares the saved tree (orbax's metadata, no array read), less its dropped leaves,
    with the target's leaves; returns that metadata tree."""
    tree = self._saved_tree(step)
    saved = {name: spec for name, spec in _specs_by_name(tree).items() if not is_dropped(name)}
    lines = _mismatches(saved, expected)
    if lines:
      shown = "\n  ".join(lines[:_SHOWN])
      more = f"\n  ... and {len(lines) - _SHOWN} more" if len(lines) > _SHOWN else ""
      raise CheckpointError(
          f"checkpoint {self.path(step)} does not fit the state to restore "
          f"({len(saved)} leaves saved, {len(expected)} expected; {len(lines)} differ):\n  "
          f"{shown}{more}\nIt was written with another configuration (e.g. a network of another "
          "size): resume with the configuration it was saved with (see its metadata), or use a "
          "new --workdir")
    return tree

  def _info(self, step: int) -> dict:
    """The JSON saved beside the state: metadata, version, digests."""
    try:
      info = self._open().restore(
          step, args=ocp.args.Composite(**{_INFO: ocp.args.JsonRestore()}))[_INFO]
    except Exception as error:
      raise self._corrupt(step, f"its {_INFO}/ JSON cannot be read ({error})") from error
    if (not isinstance(info, dict) or not isinstance(info.get("sha256"), dict)
        or not isinstance(info.get("metadata"), dict)):
      raise self._corrupt(step, f"its {_INFO}/ JSON lacks the metadata or the digests")
    return info

  def _check_digests(self, step: int, restored: Any, digests: dict, skip=()) -> None:
    for path, leaf in jax.tree_util.tree_flatten_with_path(restored)[0]:
      name = _leaf_name(path)
      if name not in skip and digests.get(name) != _digest(hosts.to_host(leaf)):
        raise self._corrupt(step, f"the bytes of leaf {name!r} differ from those saved")

  def _corrupt(self, step: int, what: str) -> CheckpointError:
    path, older = self.path(step), [s for s in self.all_steps() if s < step]
    fallback = f"fall back to step {older[-1]}" if older else "start the run from scratch"
    return CheckpointError(f"checkpoint {path} is corrupt or incomplete: {what}. Nothing was "
                           f"deleted. Delete {path} to {fallback}, or use a new --workdir")

  # Lifetime.

  def _open(self) -> ocp.CheckpointManager:
    if self._manager is None:
      raise CheckpointError(f"the Checkpointer of {self.directory} is closed")
    return self._manager

  def close(self) -> None:
    """Waits for orbax to finish and releases it; closing twice is harmless."""
    if self._manager is not None:
      manager, self._manager = self._manager, None
      manager.close()

  def __enter__(self) -> Checkpointer:
    return self

  def __exit__(self, *exc_info: object) -> None:
    self.close()
