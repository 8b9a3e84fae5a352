"""The device mesh of a run (`config.parallel`) and the data-parallel update over it.

A run's mesh has one axis, "data", of D devices (`parallel.data`; 0: every device). An
update's games are cut into S data shards (`parallel.shards`; 0: S = D), L = S / D a device:
each device rolls out, computes advantages for and shuffles its own shards, and gradients
are averaged over all of them (`jax.shard_map`, `pmean` over "data"); parameters and
optimizer states are replicated, env states sharded along their games axis (device d holds
games [d B / D, (d + 1) B / D)). The shard count, not the device count, defines what an
update computes: one device with `parallel.shards = 4` computes what 4 devices compute with
one shard each (to float tolerance), and the default (one device, one shard) is the update
as it was before sharding, bitwise. One device is the degenerate mesh: the same per-device
function, called without `shard_map` (nothing to split or reduce).

    config.parallel.data = 4                    # 4 devices, one shard each
    learner = Learner(config)                   # learner.parallel: DataParallel over them
    state = learner.init(0)                     # env states sharded, the rest replicated
    state, metrics = jax.jit(learner.update)(state)

    config.parallel.data, config.parallel.shards = 1, 4   # the same update on one device

Keys: each of an update's per-game and shuffle keys is split into S shard keys (`split_key`;
with S = 1 the key itself), shard s taking the s-th, wherever it runs.

Populations of L learners may add a second axis, "members", of M devices
(`parallel.members`; the mesh then has D x M devices): each of the M devices of a data group
holds, of its data shards, the games of its own L / M learners (`games_spec`), rolls them
out drawing for them what the whole shard's draw gives them (`Shards.first_game`), and runs
its learners' PPO epochs, whose results are then gathered (`Shards.mine`, `Shards.gather`);
the rollouts' statistics (returns, RAE baselines, the payoff matrix) are summed over both
axes. Rollouts and epochs are both split M ways, and the result is the same for any M (to
float rounding).

Self-play runs may also cut their parameters, magnet and optimizer states over the data
devices instead of holding them whole on each (`parallel.params`: FSDP-style sharding rules,
`jaxplay.parallel.fsdp`).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Sequence

import jax
from jax.sharding import AxisType, Mesh, NamedSharding, PartitionSpec

from jaxplay.core.errors import ConfigError
from jaxplay.parallel.fsdp import ParamLayout
from jaxplay.parallel.shards import MEMBERS, Shards

DATA = "data"


def check_sizes(num_envs: int, samples: int, num_minibatches: int, data: int,
                shards: int) -> None:
  """The S shards (`shards`, 0: one per device) fit the D devices (`data`) and the batch.

  Args:
    num_envs: B, the games of each game in an update; samples: the samples of an update.

  Raises:
    ConfigError: S not a multiple of D, B not a multiple of S, or a shard's samples fewer
      than the minibatches (the message names the numbers).
  """
  shards = shards or data
  if shards % data:
    raise ConfigError(f"parallel.shards ({shards}) must be a multiple of the devices on the "
                      f"data axis (parallel.data: {data})")
  if num_envs % shards:
    what = (f"parallel.shards ({shards})" if shards != data
            else f"the {shards} devices on the data axis (parallel.data)")
    raise ConfigError(f"ppo.num_envs ({num_envs}) must be divisible by {what}: every data "
                      f"shard plays num_envs / {shards} games")
  if samples // shards < num_minibatches:
    raise ConfigError(f"ppo.num_minibatches ({num_minibatches}) exceeds the samples of a data "
                      f"shard ({samples} / {shards} shards = {samples // shards})")


def make_mesh(data: int, devices: Sequence[jax.Device] | None = None,
              members: int = 1) -> Mesh:
  """A mesh of `data` x `members` devices of `devices` (default `jax.devices()`), axes
  "data" and "members"; `data` 0: all the devices `members` leaves.

  On many processes (`jaxplay.parallel.hosts`) the mesh must hold every device of every
  process: each process plays its own games on its own devices.

  Raises:
    ConfigError: more devices asked for than there are, or, on many processes, fewer.
  """
  devices = list(jax.devices() if devices is None else devices)
  if not data and len(devices) % members:
    raise ConfigError(f"parallel.members ({members}) must divide the {len(devices)} devices "
                      "when parallel.data = 0 (all of them)")
  data = data or len(devices) // members
  if data * members > len(devices):
    asked = f"parallel.data ({data})" + (f" x parallel.members ({members})" if members > 1
                                         else "")
    raise ConfigError(f"{asked} exceeds the {len(devices)} {devices[0].platform} device(s) "
                      "of this process")
  if jax.process_count() > 1 and data * members != len(devices):
    raise ConfigError(f"parallel.data ({data}): a run on {jax.process_count()} processes uses "
                      f"all {len(devices)} devices of them (parallel.data = 0)")
  return jax.make_mesh((data, members), (DATA, MEMBERS), axis_types=(AxisType.Auto,) * 2,
                       devices=devices[:data * members])


@dataclasses.dataclass(frozen=True)
class DataParallel:
  """An update's S data shards over the D devices of a mesh's "data" axis.

  Attributes:
    mesh: the mesh (axis "data", D devices).
    num_shards: S, a multiple of D.
    params: how the parameters are cut over the data devices (`jaxplay.parallel.fsdp`), or
      None: whole on every device.
  """

  mesh: Mesh
  num_shards: int
  params: ParamLayout | None = None

  @classmethod
  def from_config(cls, config, samples: int, params: Any = None) -> "DataParallel":
    """The mesh and shard count of a checked run config (`parallel`), `samples` the
    samples of an update; `params`: the parameters' shapes (a tree of arrays or
    `jax.ShapeDtypeStruct`s), laid out by the config's `parallel.params` rules (None: whole).
    Raises ConfigError (see `make_mesh`, `check_sizes`)."""
    mesh = make_mesh(config.parallel.data, members=config.parallel.members)
    devices = mesh.shape[DATA]
    ppo = config.ppo
    check_sizes(ppo.num_envs, samples, ppo.num_minibatches, devices, config.parallel.shards)
    layout = (None if params is None or not config.parallel.params else
              ParamLayout.from_rules(config.parallel.params, params, devices, DATA))
    return cls(mesh, config.parallel.shards or devices, layout)

  @property
  def shards(self) -> Shards:
    """A device's view of its shards (inside `run`). On a one-device mesh there is nothing
    to reduce across devices: no collectives (an all-reduce over one device, though an
    identity, changes how XLA fuses the gradient step, and so its rounding)."""
    devices, members = self.mesh.shape[DATA], self.mesh.shape[MEMBERS]
    return Shards(local=self.num_shards // devices, axis=DATA if devices > 1 else None,
                  members=members, params=self.params if self.cuts_params else None)

  @property
  def cuts_params(self) -> bool:
    """Whether the parameters are cut over the data devices (`params`)."""
    return self.params is not None and self.params.cuts

  def split_key(self, key: jax.Array) -> jax.Array:
    """S shard keys [S] of one key (with S = 1: the key itself)."""
    return key[None] if self.num_shards == 1 else jax.random.split(key, self.num_shards)

  def run(self, fn: Callable[[Any, Any], tuple[Any, Any]], replicated: Any, sharded: Any,
          in_specs: Any = PartitionSpec(), out_specs: Any = PartitionSpec(),
          sharded_in: Any = PartitionSpec(DATA), sharded_out: Any = PartitionSpec(DATA)):
    """`fn(replicated, sharded) -> (replicated, sharded)` on every device of the mesh: the
    `replicated` trees whole on each, the `sharded` ones (leading axis: S shards or B games)
    cut along their leading axis, device d taking the d-th of D equal pieces. `fn` must
    return replicated outputs equal on every device (reduced with `Shards.mean`/`total`).
    `in_specs`, `out_specs`: PartitionSpecs (pytree prefixes) of the replicated input and
    output, for parameters cut over the data devices (`jaxplay.parallel.fsdp`);
    `sharded_in`, `sharded_out`: those of the sharded ones (a population's games are also
    cut over its members axis: `games_spec`)."""
    if self.mesh.size == 1:  # no shard_map: its outputs would be committed to the mesh, and
      return fn(replicated, sharded)  # jitted callers would compile again for them
    # check_vma=False: JAX's replication types would have every `lax.cond` and `scan` of the
    # games and rollouts mark its constant branches and carries as varying over "data".
    return jax.shard_map(fn, mesh=self.mesh, in_specs=(in_specs, sharded_in),
                         out_specs=(out_specs, sharded_out),
                         check_vma=False)(replicated, sharded)

  @property
  def games_spec(self) -> PartitionSpec:
    """How a population's games (leading axis) are cut: over the "data" devices and, on a
    mesh with a "members" axis, over it too, device (d, m) taking the (m D + d)-th of M x D
    pieces (`Population.shard_major` lays the games out so that it holds its shards' games
    of its learners)."""
    if self.mesh.shape[MEMBERS] == 1:
      return PartitionSpec(DATA)
    return PartitionSpec((MEMBERS, DATA))

  def replicate(self, tree: Any) -> Any:
    """`tree` on every device of the mesh (a one-device mesh leaves it where it is: placing
    it would commit its arrays, and jitted functions would compile again for them)."""
    return self.put(tree, PartitionSpec())

  def put(self, tree: Any, specs: Any) -> Any:
    """`tree` on the mesh as `specs` (PartitionSpecs, a pytree prefix of it) lay it out (a
    one-device mesh leaves it where it is, see `replicate`)."""
    if self.mesh.size == 1:
      return tree
    shardings = jax.tree.map(lambda spec: NamedSharding(self.mesh, spec), specs,
                             is_leaf=lambda x: isinstance(x, PartitionSpec))
    return jax.device_put(tree, shardings)

  def shard(self, tree: Any) -> Any:
    """`tree`'s arrays cut along their leading (games) axis over the mesh's devices, as
    `games_spec` says (a one-device mesh: as it is)."""
    if self.mesh.size == 1:
      return tree
    return jax.device_put(tree, NamedSharding(self.mesh, self.games_spec))
