"""Data shards as a device sees them: the per-shard work and the reductions over all shards.

An update's B games (of each game) are cut into S equal data shards of B / S games. Each shard
rolls out with its own PRNG key and shuffles its own samples for the minibatches; minibatch m
is the m-th slice of every shard, and its loss is the mean over the shards of each shard's
loss. A device of a mesh's "data" axis (D devices) holds L = S / D shards: `Shards` is that
view, inside the device's program (`DataParallel.run`), and `ONE` the view of code that runs
outside any mesh (one shard, nothing to reduce: a population's update).

    shards = Shards(local=2, axis="data")            # inside a shard_map over "data"
    losses = shards.map(per_shard_loss, minibatch)   # [L]: vmapped over the local shards
    grads = shards.mean(jax.grad(...))               # pmean over the devices of "data"

With one local shard `map` calls the function directly instead of vmapping it over an axis of
size 1, so that a one-shard run compiles to the program it did before sharding existed (a
vmap of size 1 can round differently) and its results stay bitwise the same.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import jax
import jax.numpy as jnp

MEMBERS = "members"  # the mesh axis that splits a population's learners (`Shards.mine`)


@dataclasses.dataclass(frozen=True)
class Shards:
  """L data shards of a device, and the mesh axis over which shards of other devices live.

  Attributes:
    local: L, the shards this device holds (a leading axis of size L on per-shard arrays).
    axis: the mesh axis name of the devices that share an update (None: no other devices).
    members: M, the devices of the mesh's "members" axis that split a population's learners
      (1: none; see `mine`): each plays and trains its block of them.
    params: how the parameters are cut over `axis` (`jaxplay.parallel.fsdp.ParamLayout`), or
      None: whole on every device.
  """

  local: int = 1
  axis: str | None = None
  members: int = 1
  params: Any = None

  def gather_params(self, params: Any) -> Any:
    """The whole parameters from this device's slices of them (`params`: a
    `jaxplay.parallel.fsdp.ParamLayout`; None: parameters are whole already)."""
    return params if self.params is None else self.params.gather(params)

  def mean_gradients(self, grads: Any) -> Any:
    """Gradients of the whole parameters -> their mean over the devices of `axis`: whole
    (`mean`), or with a parameter layout this device's slices of it (a reduce-scatter)."""
    return self.mean(grads) if self.params is None else self.params.mean_gradients(grads)

  def mine(self, tree: Any) -> Any:
    """Of per-learner arrays [K, ...], the K / M learners this device trains [K / M, ...]:
    member device m takes the m-th block."""
    if self.members == 1:
      return tree
    index = jax.lax.axis_index(MEMBERS)
    return jax.tree.map(lambda x: jax.lax.dynamic_slice_in_dim(
        x, index * (x.shape[0] // self.members), x.shape[0] // self.members), tree)

  def gather(self, tree: Any) -> Any:
    """The inverse of `mine`: every member device's blocks [K / M, ...] -> [K, ...]."""
    if self.members == 1:
      return tree
    return jax.tree.map(lambda x: jax.lax.all_gather(x, MEMBERS, tiled=True), tree)

  def map(self, fn: Callable, *args):
    """`fn` on each local shard: args with a leading axis [L, ...] -> outputs [L, ...]."""
    if self.local == 1:
      out = fn(*jax.tree.map(lambda x: x[0], args))
      return jax.tree.map(lambda x: x[None], out)
    return jax.vmap(fn)(*args)

  def split(self, tree: Any) -> Any:
    """Per-device games [B_d, ...] -> per-shard games [L, B_d / L, ...] (shard l: the l-th
    run of B_d / L games)."""
    return jax.tree.map(  # explicit sizes: a -1 cannot be solved for empty arrays
        lambda x: x.reshape((self.local, x.shape[0] // self.local) + x.shape[1:]), tree)

  def merge(self, tree: Any, axis: int = 0) -> Any:
    """The inverse of `split` for arrays whose games axis is `axis` after the shard axis:
    [L, ..., B_d / L, ...] -> [..., B_d, ...] (e.g. a time-major trajectory, axis=1)."""
    def one(x):
      x = jnp.moveaxis(x, 0, axis)
      return x.reshape(x.shape[:axis] + (x.shape[axis] * x.shape[axis + 1],)
                       + x.shape[axis + 2:])
    return jax.tree.map(one, tree)

  def total(self, tree: Any) -> Any:
    """Sums over every device's games: those of `axis` and, where a population's learners
    are split over it, of the "members" axis (values already summed over the local
    shards)."""
    axes = ((self.axis,) if self.axis is not None else ()) + (
        (MEMBERS,) if self.members > 1 else ())
    return jax.lax.psum(tree, axes) if axes else tree

  def first_game(self, games: int) -> jax.Array | None:
    """Where a population's learners are split over the "members" axis, this device plays
    member block m's `games` of each of its shards: the first of them among the shard's
    games of all blocks (m x games), so that its random draws are the whole shard's for
    them (`rollout`'s first_game). None: this device plays its shards' every game."""
    if self.members == 1:
      return None
    return jax.lax.axis_index(MEMBERS) * games

  def mean(self, tree: Any) -> Any:
    """Means over the devices of `axis` (each device's value a mean over its L shards, so
    this is the mean over all S shards)."""
    return tree if self.axis is None else jax.lax.pmean(tree, self.axis)


ONE = Shards()
