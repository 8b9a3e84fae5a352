"""Data parallelism over a device mesh: see `jaxplay.parallel.mesh` (the mesh of a run config
and the sharded update) and `jaxplay.parallel.shards` (a device's view of its data shards)."""

from jaxplay.parallel.mesh import DATA, DataParallel, check_sizes, make_mesh
from jaxplay.parallel.shards import ONE, Shards

__all__ = ["DATA", "DataParallel", "ONE", "Shards", "check_sizes", "make_mesh"]
