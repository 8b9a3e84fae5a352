"""Parameters sharded over the data devices (FSDP / ZeRO-3 style; `config.parallel.params`).

By default every device of a run's mesh holds the whole parameters, magnet and optimizer
states (replicated). Sharding rules, big_vision style, cut some of them instead: a tuple of
(regex, strategy) pairs, the first whose regex matches a leaf's path ("params/Dense_0/kernel",
`re.fullmatch`) deciding, unmatched leaves replicated:

    config.parallel.data = 4
    config.parallel.params = ((".*", "fsdp"),)         # every leaf that can be cut
    config.parallel.params = ((".*/kernel", "fsdp"), (".*", "replicate"))

"fsdp" cuts a leaf along its largest dimension that the D devices of the "data" axis divide
(none: the leaf stays whole); "replicate" keeps it whole. A cut leaf's Adam moments (and the
magnet, and the distilled magnet's moments) are cut the same way, so a device stores 1 / D of
each. Inside an update (`DataParallel.run`) a device gathers the whole parameters for its
rollout and for each minibatch's gradient (`gather`: an all-gather over "data"), reduces the
gradients by a reduce-scatter (`mean_gradients`: each device receives the mean of its own
slice) and runs Adam on its slices; the global norm of gradient clipping sums the squares of
every slice over the devices (`global_norm`). The update computes what the replicated update
computes (to float rounding); on one device nothing is cut and nothing changes.

What is saved is storage: 1 / D of the parameters, magnet and Adam moments a device. The
gathered parameters exist whole on each device while it plays and while it takes a gradient
(one gather of the whole network, which XLA may schedule layer by layer; no per-layer remat).
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any, Sequence

import jax
import jax.numpy as jnp
import optax
from jax.sharding import PartitionSpec

from jaxplay.core.errors import ConfigError

STRATEGIES = ("fsdp", "replicate")


def check_rules(path: str, rules: Any) -> tuple[tuple[str, str], ...]:
  """`rules` as a tuple of (regex, strategy) pairs, or one ConfigError naming what is wrong
  (`path`: the config field)."""
  if not isinstance(rules, (tuple, list)):
    raise ConfigError(f"{path} must be a tuple of (regex, strategy) pairs, got {rules!r}")
  checked = []
  for rule in rules:
    if (not isinstance(rule, (tuple, list)) or len(rule) != 2
        or not all(isinstance(part, str) for part in rule)):
      raise ConfigError(f"{path}: each rule must be a (regex, strategy) pair of strings, got "
                        f"{rule!r}")
    pattern, strategy = rule
    if strategy not in STRATEGIES:
      raise ConfigError(f"{path}: strategy {strategy!r} of rule {pattern!r} must be one of "
                        f"{STRATEGIES}")
    try:
      re.compile(pattern)
    except re.error as error:
      raise ConfigError(f"{path}: {pattern!r} is not a regular expression ({error})") from None
    checked.append((pattern, strategy))
  return tuple(checked)


def leaf_path(path: Sequence[Any]) -> str:
  """A leaf's key path as the rules see it: "params/Dense_0/kernel"."""
  return "/".join(str(getattr(key, "key", getattr(key, "idx", getattr(key, "name", key))))
                  for key in path)


@dataclasses.dataclass(frozen=True)
class ParamLayout:
  """Which dimension of each parameter leaf is cut over the data devices.

  Attributes:
    treedef: the parameters' tree structure.
    dims: per leaf, the dimension cut over the D devices, or None (whole on every device).
    devices: D, the devices of the mesh's "data" axis.
    axis: the mesh axis name ("data"), or None on one device (nothing is cut).
  """

  treedef: Any
  dims: tuple[int | None, ...]
  devices: int
  axis: str | None

  @classmethod
  def from_rules(cls, rules: Sequence[tuple[str, str]], params: Any, devices: int,
                 axis: str) -> "ParamLayout":
    """The layout of parameters shaped as `params` (arrays or `jax.ShapeDtypeStruct`s)
    under checked `rules` (`check_rules`) on a data axis of `devices` devices."""
    leaves, treedef = jax.tree_util.tree_flatten_with_path(params)
    dims = []
    for path, leaf in leaves:
      name = leaf_path(path)
      strategy = next((s for pattern, s in rules if re.fullmatch(pattern, name)), "replicate")
      divisible = [d for d in range(len(leaf.shape)) if leaf.shape[d] % devices == 0]
      dims.append(max(divisible, key=lambda d: (leaf.shape[d], -d))
                  if strategy == "fsdp" and divisible and devices > 1 else None)
    return cls(treedef, tuple(dims), devices, axis if devices > 1 else None)

  @property
  def cuts(self) -> bool:
    """Whether any leaf is cut (else every method is the identity)."""
    return self.axis is not None and any(d is not None for d in self.dims)

  def cut_leaves(self) -> int:
    """How many leaves are cut."""
    return sum(d is not None for d in self.dims) if self.axis else 0

  def specs(self, params: Any) -> Any:
    """PartitionSpecs of a parameters-shaped tree (its leaves cut along their dims)."""
    return self.treedef.unflatten([
        PartitionSpec() if d is None or self.axis is None
        else PartitionSpec(*([None] * d + [self.axis])) for d in self.dims])

  def state_specs(self, tree: Any) -> Any:
    """PartitionSpecs of a tree holding parameters-shaped subtrees (optimizer states: Adam's
    moments), those cut like the parameters, every other leaf whole."""
    is_params = lambda node: jax.tree.structure(node) == self.treedef
    return jax.tree.map(lambda node: self.specs(node) if is_params(node) else PartitionSpec(),
                        tree, is_leaf=is_params)

  def _map(self, fn, tree: Any) -> Any:
    leaves = self.treedef.flatten_up_to(tree)
    return self.treedef.unflatten([x if d is None else fn(x, d)
                                   for x, d in zip(leaves, self.dims)])

  def gather(self, params: Any) -> Any:
    """Inside a device's program: its slices of the parameters -> the whole parameters."""
    if not self.cuts:
      return params
    return self._map(lambda x, d: jax.lax.all_gather(x, self.axis, axis=d, tiled=True), params)

  def mean_gradients(self, grads: Any) -> Any:
    """Inside a device's program: whole gradients of its shards -> the mean over the devices,
    of each cut leaf only this device's slice (a reduce-scatter), whole ones averaged."""
    if self.axis is None:
      return grads
    leaves = self.treedef.flatten_up_to(grads)
    return self.treedef.unflatten([
        jax.lax.pmean(x, self.axis) if d is None
        else jax.lax.psum_scatter(x, self.axis, scatter_dimension=d, tiled=True) / self.devices
        for x, d in zip(leaves, self.dims)])

  def global_norm(self, grads: Any) -> jax.Array:
    """The L2 norm of the whole gradients from this device's slices (cut leaves' squares
    summed over the devices, whole leaves counted once)."""
    leaves = self.treedef.flatten_up_to(grads)
    whole = sum((jnp.sum(jnp.square(x)) for x, d in zip(leaves, self.dims) if d is None),
                jnp.float32(0.0))
    cut = sum((jnp.sum(jnp.square(x)) for x, d in zip(leaves, self.dims) if d is not None),
              jnp.float32(0.0))
    return jnp.sqrt(whole + jax.lax.psum(cut, self.axis))

  def clip_by_global_norm(self, max_norm) -> optax.GradientTransformation:
    """optax's `clip_by_global_norm` on sliced gradients (the norm: `global_norm`); replicated
    layouts use optax's own."""
    if not self.cuts:
      return optax.clip_by_global_norm(max_norm)

    def update(updates, state, params=None):
      del params
      norm = self.global_norm(updates)
      scale = jnp.where(norm < max_norm, 1.0, max_norm / norm)
      return jax.tree.map(lambda g: g * scale.astype(g.dtype), updates), state

    return optax.GradientTransformation(lambda params: optax.EmptyState(), update)

