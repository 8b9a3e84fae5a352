"""Checkpoints: bitwise round trips, retention, metadata, and clear errors for corrupt,
incompatible, existing and missing checkpoints."""

import gc
import pathlib
import threading

import chex
import flax
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxplay.io.checkpoints import Checkpointer, CheckpointError


@flax.struct.dataclass
class EnvState:
  positions: jax.Array
  done: jax.Array


def make_state(seed: int = 0, width: int = 4) -> dict:
  rng = np.random.default_rng(seed)
  return {
      "params": {"dense": {"w": jnp.asarray(rng.normal(size=(3, width)), jnp.float32),
                           "b": jnp.asarray([np.nan, -0.0, np.inf, 1e-45][:width] +
                                            [0.5] * (width - 4), jnp.float32)}},
      "env": EnvState(positions=jnp.asarray(rng.integers(0, 9, size=(2, 2)), jnp.int32),
                      done=jnp.asarray([True, False])),
      "key": jax.random.key_data(jax.random.key(seed)),  # uint32[2]
      "step": jnp.int32(7 + seed),
      # 2 KiB: big enough that orbax stores it raw in a data file of its own.
      "replay": np.arange(512, dtype=np.uint32) * np.uint32(2654435761 + seed),
  }


@pytest.fixture
def workdir(tmp_path: pathlib.Path) -> pathlib.Path:
  return tmp_path / "run"


def saved_run(workdir: pathlib.Path, steps=(10, 20, 30)) -> dict:
  states = {step: make_state(seed=step) for step in steps}
  with Checkpointer(workdir) as checkpointer:
    for step, state in states.items():
      checkpointer.save(step, state, metadata={"step": step})
  return states


def state_files(workdir: pathlib.Path, step: int) -> list[pathlib.Path]:
  """The data files (OCDBT tree nodes and arrays) of a checkpoint."""
  return [p for p in (workdir / str(step) / "state").rglob("*")
          if p.is_file() and p.parent.name == "d"]


def replay_file(workdir: pathlib.Path, step: int) -> tuple[pathlib.Path, int]:
  """The data file that holds the raw bytes of leaf "replay" at `step`, and their offset."""
  wanted = make_state(seed=step)["replay"].tobytes()
  for path in state_files(workdir, step):
    offset = path.read_bytes().find(wanted)
    if offset >= 0:
      return path, offset
  raise AssertionError("orbax no longer stores the replay leaf raw; adapt the test")


def test_round_trip_is_bitwise_and_on_device(workdir):
  state = make_state()
  with Checkpointer(workdir) as checkpointer:
    checkpointer.save(0, state, metadata={"config": {"lr": 0.1, "sizes": [4, 4]}, "v": "x"})
    restored = checkpointer.restore(None, make_state(seed=5))
    assert checkpointer.metadata(0) == {"config": {"lr": 0.1, "sizes": [4, 4]}, "v": "x"}
  chex.assert_trees_all_equal(restored, state)  # NaN == NaN here; check the bits too:
  for got, want in zip(jax.tree.leaves(restored), jax.tree.leaves(state)):
    assert isinstance(got, jax.Array) and got.dtype == want.dtype
    assert np.asarray(got).tobytes() == np.asarray(want).tobytes()
  assert isinstance(restored["env"], EnvState)
  assert restored["key"].dtype == jnp.uint32


def test_restore_into_abstract_target(workdir):
  state = make_state()
  with Checkpointer(workdir) as checkpointer:
    checkpointer.save(3, state)
    abstract = jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype), state)
    chex.assert_trees_all_equal(checkpointer.restore(3, abstract), state)
    assert checkpointer.metadata(3) == {}


def test_arrays_of_size_zero_round_trip(workdir):
  state = {"messages": jnp.zeros((10, 0), jnp.int32), "w": jnp.arange(3.0)}
  with Checkpointer(workdir) as checkpointer:
    checkpointer.save(1, state)
    restored = checkpointer.restore(1, state)
    chex.assert_trees_all_equal(restored, state)
    chex.assert_shape(restored["messages"], (10, 0))
    with pytest.raises(CheckpointError, match="empty arrays"):
      checkpointer.restore(1, {"messages": jnp.zeros((10, 2), jnp.int32), "w": jnp.arange(3.0)})


def test_python_numbers_come_back_as_arrays(workdir):
  with Checkpointer(workdir) as checkpointer:
    checkpointer.save(0, {"episodes": 3, "lr": 0.5, "done": True})
    restored = checkpointer.restore(0, {"episodes": 0, "lr": 0.0, "done": False})
  chex.assert_trees_all_equal(restored, {"episodes": jnp.int32(3), "lr": jnp.float32(0.5),
                                         "done": jnp.asarray(True)})
  assert [x.dtype for x in jax.tree.leaves(restored)] == [jnp.bool_, jnp.int32, jnp.float32]


def test_max_to_keep_and_steps(workdir):
  with Checkpointer(workdir, max_to_keep=2) as checkpointer:
    assert checkpointer.latest_step() is None and checkpointer.all_steps() == []
    for step in (1, 2, 5):
      checkpointer.save(step, make_state(seed=step), metadata={"step": step})
    assert checkpointer.all_steps() == [2, 5]
    assert checkpointer.latest_step() == 5
  assert sorted(p.name for p in workdir.iterdir()) == ["2", "5"]
  with Checkpointer(workdir, max_to_keep=2) as checkpointer:  # A resumed run sees them.
    assert checkpointer.latest_step() == 5
    assert checkpointer.metadata(2) == {"step": 2}
    chex.assert_trees_all_equal(checkpointer.restore(None, make_state()), make_state(seed=5))


def test_saving_an_existing_or_earlier_step_raises(workdir):
  states = saved_run(workdir, steps=(10, 20))
  with Checkpointer(workdir) as checkpointer:
    with pytest.raises(CheckpointError, match=r"20 already exists.*never overwritten"):
      checkpointer.save(20, make_state(seed=99))
    with pytest.raises(CheckpointError, match="steps must increase"):
      checkpointer.save(15, make_state(seed=99))
    chex.assert_trees_all_equal(checkpointer.restore(20, make_state()), states[20])


def test_empty_directory_and_missing_step_raise(workdir):
  with Checkpointer(workdir) as checkpointer:
    with pytest.raises(CheckpointError, match="holds none"):
      checkpointer.restore(None, make_state())
    with pytest.raises(CheckpointError, match="holds none"):
      checkpointer.metadata()
  saved_run(workdir, steps=(10,))
  with Checkpointer(workdir) as checkpointer:
    with pytest.raises(CheckpointError, match=r"no checkpoint at step 11.*\[10\]"):
      checkpointer.restore(11, make_state())


# When a read fails, orbax 0.12.8 closes its event loop with other tensorstore reads still in
# flight; those later report "Event loop is closed" as unraisable exceptions. Harmless noise.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize("damage", ["truncate", "garbage", "flip_bit", "delete_data",
                                    "delete_state", "garbage_json"])
def test_corrupt_checkpoint_raises_and_keeps_everything(workdir, damage):
  saved_run(workdir)
  latest = workdir / "30"
  data, offset = replay_file(workdir, 30)
  if damage == "truncate":
    data.write_bytes(data.read_bytes()[: offset + 100])
  elif damage == "garbage":
    data.write_bytes(b"not a checkpoint" * 8)
  elif damage == "flip_bit":  # Orbax does not notice this one; the SHA-256 does.
    raw = bytearray(data.read_bytes())
    raw[offset + 1000] ^= 4
    data.write_bytes(bytes(raw))
  elif damage == "delete_data":
    for path in state_files(workdir, 30):
      path.unlink()
  elif damage == "delete_state":
    for path in sorted((latest / "state").rglob("*"), reverse=True):
      path.unlink() if path.is_file() else path.rmdir()
    (latest / "state").rmdir()
  else:
    next((latest / "jaxplay").glob("metadata*")).write_text("{oops")
  before = sorted(str(p) for p in workdir.rglob("*"))
  with Checkpointer(workdir) as checkpointer:
    with pytest.raises(CheckpointError) as error:
      checkpointer.restore(None, make_state())
    gc.collect()  # Reports orbax's abandoned reads here, under the filter above.
    assert checkpointer.all_steps() == [10, 20, 30]
    chex.assert_trees_all_equal(checkpointer.restore(20, make_state()), make_state(seed=20))
  message = str(error.value)
  assert str(latest) in message and "corrupt" in message
  assert "fall back to step 20" in message and "--workdir" in message
  if damage == "flip_bit":
    assert "bytes of leaf 'replay' differ" in message
  elif damage == "delete_state":
    assert "state/ directory is missing" in message
  else:  # Orbax's own exception, kept as the cause.
    assert error.value.__cause__ is not None
  assert sorted(str(p) for p in workdir.rglob("*")) == before


def test_incompatible_shapes_name_the_leaf(workdir):
  saved_run(workdir, steps=(1,))
  with Checkpointer(workdir) as checkpointer:
    with pytest.raises(CheckpointError) as error:
      checkpointer.restore(1, make_state(width=8))
  message = str(error.value)
  assert "does not fit" in message and str(workdir / "1") in message
  assert "params/dense/w: saved float32[3, 4], expected float32[3, 8]" in message
  assert "params/dense/b: saved float32[4], expected float32[8]" in message


def test_incompatible_dtype_and_structure_name_the_leaf(workdir):
  saved_run(workdir, steps=(1,))
  wrong_dtype = make_state()
  wrong_dtype["step"] = jnp.float32(0)
  extra = {**make_state(), "critic": {"w": jnp.zeros((2,))}}
  missing = {key: value for key, value in make_state().items() if key != "key"}
  with Checkpointer(workdir) as checkpointer:
    with pytest.raises(CheckpointError, match=r"step: saved int32\[\], expected float32\[\]"):
      checkpointer.restore(1, wrong_dtype)
    with pytest.raises(CheckpointError, match=r"critic/w: not in the checkpoint"):
      checkpointer.restore(1, extra)
    with pytest.raises(CheckpointError, match=r"7 leaves saved, 6 expected.*\n.*key: saved, "
                       "but not in the state"):
      checkpointer.restore(1, missing)


def test_bad_arguments_raise_checkpoint_errors(workdir):
  with Checkpointer(workdir) as checkpointer:
    with pytest.raises(CheckpointError, match="typed PRNG key"):
      checkpointer.save(0, {"key": jax.random.key(0)})
    with pytest.raises(CheckpointError, match="must be JSON"):
      checkpointer.save(0, make_state(), metadata={"f": object()})
    with pytest.raises(CheckpointError, match="int >= 0"):
      checkpointer.save(-1, make_state())
    assert checkpointer.all_steps() == []
  with pytest.raises(CheckpointError, match="closed"):
    checkpointer.latest_step()
  with pytest.raises(CheckpointError, match="max_to_keep"):
    Checkpointer(workdir, max_to_keep=0)


def test_no_threads_left_behind(workdir):
  before = set(threading.enumerate())
  saved_run(workdir, steps=(1, 2))
  with Checkpointer(workdir) as checkpointer:
    checkpointer.restore(None, make_state())
  # Orbax shuts its event loop's worker threads down without waiting: give them a moment.
  for thread in set(threading.enumerate()) - before:
    thread.join(timeout=5)
  assert [t.name for t in threading.enumerate() if t not in before] == []


def test_a_leaf_added_since_restores_from_the_target_and_nothing_else_does(workdir):
  states = saved_run(workdir, steps=(1,))
  newer = {**make_state(), "born": jnp.arange(3, dtype=jnp.int32)}
  with Checkpointer(workdir) as checkpointer:
    restored = checkpointer.restore(1, newer, added=("born",))
    chex.assert_trees_all_equal(restored["born"], newer["born"])
    chex.assert_trees_all_equal(restored["replay"], jnp.asarray(states[1]["replay"]))
    with pytest.raises(CheckpointError, match=r"born: not in the checkpoint"):
      checkpointer.restore(1, newer)               # not declared added: an error
    other = {**newer, "critic": jnp.zeros((2,))}
    with pytest.raises(CheckpointError, match=r"critic: not in the checkpoint"):
      checkpointer.restore(1, other, added=("born",))
    newer["born"] = jnp.full((3,), 9, jnp.int32)
    checkpointer.save(2, newer)
    chex.assert_trees_all_equal(checkpointer.restore(2, newer, added=("born",))["born"],
                                newer["born"])     # saved since: read from the checkpoint


def test_a_leaf_dropped_since_is_skipped_and_nothing_else_is(workdir):
  states = saved_run(workdir, steps=(1,))
  # An older layout: observations stored beside the state (one of them of size 0).
  older = {**make_state(), "observation": jnp.ones((2, 3), jnp.int8),
           "env": {"observation": jnp.zeros((0,), jnp.int8), "x": jnp.int32(5)}}
  now = {**make_state(), "env": {"x": jnp.int32(0)}}
  with Checkpointer(workdir) as checkpointer:
    checkpointer.save(2, older)
    with pytest.raises(CheckpointError, match=r"does not fit.*'env/observation'"):
      checkpointer.restore(2, now)                  # not declared dropped: an error
    restored = checkpointer.restore(2, now, dropped=("observation",))
    chex.assert_trees_all_equal(restored, {**make_state(), "env": {"x": jnp.int32(5)}})
    without_replay = {name: leaf for name, leaf in now.items() if name != "replay"}
    with pytest.raises(CheckpointError, match=r"replay: saved, but not in the state"):
      checkpointer.restore(2, without_replay, dropped=("observation",))  # only those names
    chex.assert_trees_all_equal(  # a checkpoint without such leaves restores as before
        checkpointer.restore(1, make_state(), dropped=("observation",)),
        jax.tree.map(jnp.asarray, states[1]))
