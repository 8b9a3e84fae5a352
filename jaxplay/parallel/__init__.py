"""Data parallelism over a device mesh: see `jaxplay.parallel.mesh` (the mesh of a run config
and the sharded update), `jaxplay.parallel.shards` (a device's view of its data shards),
`jaxplay.parallel.hosts` (joining a multi-process job; what only process 0 does), and
`jaxplay.parallel.fsdp` (parameters cut over the data devices)."""

from jaxplay.parallel.fsdp import ParamLayout
from jaxplay.parallel.mesh import DATA, MEMBERS, DataParallel, check_sizes, make_mesh
from jaxplay.parallel.shards import ONE, Shards

__all__ = ["DATA", "MEMBERS", "DataParallel", "ONE", "ParamLayout", "Shards", "check_sizes",
           "make_mesh"]
