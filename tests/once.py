"""A module fixture's result built once per test session, not once per pytest-xdist worker.

With `-n 2` pytest-xdist may hand a module's tests to both workers, and each then builds the
module's fixtures: for the fixtures that run subprocesses (the multi-host driver, the
multi-device cases, the sweep binary) that is the same minutes of work twice (the sweep
binary's 38 s in one run of the suite, the multi-host driver's four minutes in another,
BUILD_NOTES.md "Tests"). `once` builds the result in the first worker that asks and leaves
it, pickled, in the session's temporary folder, which every worker shares; a worker that
asks while it is being built waits for it.

    @pytest.fixture(scope="module")
    def swept(tmp_path_factory, worker_id):
      return once(tmp_path_factory, worker_id, "swept", lambda: run_the_binary(...))

The result must pickle (strings, paths, numbers), and the tests must only read what the
build wrote: a test that changes a file copies it first, since another worker's tests read
the same files. Without xdist (`worker_id` "master") it just builds. A build that fails
leaves nothing behind, so a second worker tries it again and fails alike.
"""

from __future__ import annotations

import fcntl
import pickle
from typing import Any, Callable


def once(tmp_path_factory, worker_id: str, name: str, build: Callable[[], Any]) -> Any:
  """`build()`'s result, built by one worker of this session (see the module docstring)."""
  if worker_id == "master":
    return build()
  shared = tmp_path_factory.getbasetemp().parent     # the session's folder, above the workers'
  result = shared / f"once_{name}.pickle"
  with open(shared / f"once_{name}.lock", "w") as lock:
    fcntl.flock(lock, fcntl.LOCK_EX)                # held while one worker builds
    if not result.exists():
      value = build()
      partial = result.with_suffix(".partial")
      partial.write_bytes(pickle.dumps(value))
      partial.rename(result)
    return pickle.loads(result.read_bytes())
