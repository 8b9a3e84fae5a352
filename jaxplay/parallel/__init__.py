"""Data parallelism over a device mesh: see `jaxplay.parallel.mesh` (the mesh of a run config
and the sharded update), `jaxplay.parallel.shards` (a device's view of its data shards) and
`jaxplay.parallel.hosts` (joining a multi-process job; what only process 0 does)."""

from jaxplay.parallel.mesh import DATA, MEMBERS, DataParallel, check_sizes, make_mesh
from jaxplay.parallel.shards import ONE, Shards

__all__ = ["DATA", "MEMBERS", "DataParallel", "ONE", "Shards", "check_sizes", "make_mesh"]
