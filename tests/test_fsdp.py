"""Parameters cut over the data devices (jaxplay.parallel.fsdp, `config.parallel.params`): each
device stores a slice of every cut leaf (parameters, magnet, Adam moments), and the update
equals the one-device update with as many data shards (clipping by the global norm included);
a run saved with cut parameters on 4 devices restores whole on one device and continues there as on
the 4; bad rules are one clear error.

The device cases run in a subprocess (`python -m tests.test_fsdp CASE`) with 4 forced CPU
devices (see tests/test_parallel.py); the layout and error tests run here, on one device.
"""

from __future__ import annotations

import pathlib
import sys

import jax
import jax.numpy as jnp
import pytest
from jax.sharding import PartitionSpec

from jaxplay.parallel import fsdp
from tests import close
from tests.test_parallel import DEVICES, kuhn_config, run_case as _run_parallel_case

CUT_ALL = ((".*", "fsdp"),)


def run_case(case: str, timeout: float = 400) -> str:
  """`case` of this module's `main` with DEVICES forced CPU devices; its output."""
  return _run_parallel_case(case, timeout=timeout, module="tests.test_fsdp")


def test_cut_update_on_4_devices_equals_4_shards_on_one_device_and_resumes_whole():
  out = run_case("update_and_resume")
  assert "stored: 1/4" in out, out
  assert "equal after 2 updates" in out, out
  assert "resumed on one device: equal after 4 updates" in out, out


# --- the layout, on one device ------------------------------------------------------------------


SHAPES = {"params": {"Dense_0": {"kernel": jax.ShapeDtypeStruct((6, 8), jnp.float32),
                                 "bias": jax.ShapeDtypeStruct((8,), jnp.float32)},
                     "LayerNorm_0": {"scale": jax.ShapeDtypeStruct((6,), jnp.float32)},
                     "Embed_0": {"embedding": jax.ShapeDtypeStruct((12, 4), jnp.float32)}}}


def test_layout_cuts_the_largest_divisible_dimension_of_matched_leaves():
  rules = fsdp.check_rules("parallel.params", [(".*/kernel", "fsdp"), (".*Embed.*", "fsdp"),
                                               (".*", "replicate")])
  layout = fsdp.ParamLayout.from_rules(rules, SHAPES, devices=4, axis="data")
  specs = layout.specs(SHAPES)["params"]
  assert specs["Dense_0"]["kernel"] == PartitionSpec(None, "data")  # 8 (not 6) divides by 4
  assert specs["Embed_0"]["embedding"] == PartitionSpec("data")     # 12 x 4: the larger
  assert specs["Dense_0"]["bias"] == PartitionSpec()                # replicate rule
  assert specs["LayerNorm_0"]["scale"] == PartitionSpec()
  assert layout.cut_leaves() == 2 and layout.cuts


def test_layout_leaves_what_no_device_count_divides_whole():
  layout = fsdp.ParamLayout.from_rules(CUT_ALL, SHAPES, devices=4, axis="data")
  specs = layout.specs(SHAPES)["params"]
  assert specs["LayerNorm_0"]["scale"] == PartitionSpec()           # 6 % 4
  assert specs["Dense_0"]["bias"] == PartitionSpec("data")


def test_one_device_cuts_nothing():
  layout = fsdp.ParamLayout.from_rules(CUT_ALL, SHAPES, devices=1, axis="data")
  assert not layout.cuts and layout.axis is None
  params = jax.tree.map(lambda s: jnp.ones(s.shape), SHAPES)
  assert layout.gather(params) is params


def test_optimizer_states_follow_the_parameters():
  import optax
  layout = fsdp.ParamLayout.from_rules(CUT_ALL, SHAPES, devices=4, axis="data")
  params = jax.tree.map(lambda s: jnp.zeros(s.shape), SHAPES)
  state = optax.chain(optax.clip_by_global_norm(1.0), optax.adam(1e-3)).init(params)
  specs = layout.state_specs(state)
  adam = specs[1][0]
  assert adam.count == PartitionSpec()
  assert adam.mu == layout.specs(params) == adam.nu


@pytest.mark.parametrize("rules, message", [
    ("fsdp", r"parallel.params must be a tuple of \(regex, strategy\) pairs"),
    (((".*",),), r"each rule must be a \(regex, strategy\) pair of strings"),
    (((".*", "shard"),), r"strategy 'shard' of rule '\.\*' must be one of \('fsdp', "
                         r"'replicate'\)"),
    ((("(", "fsdp"),), r"'\(' is not a regular expression"),
])
def test_bad_rules_are_one_config_error(rules, message):
  from jaxplay import config as config_lib
  from jaxplay.core.errors import ConfigError
  config = kuhn_config().to_dict()  # (a ConfigDict would refuse the string itself)
  config["parallel"]["params"] = rules
  with pytest.raises(ConfigError, match=message):
    config_lib.check(config)


def test_populations_keep_their_members_whole():
  from jaxplay import config as config_lib
  from jaxplay.core.errors import ConfigError
  config = kuhn_config()
  config.parallel.params = CUT_ALL
  config.population.scheme, config.population.capacity = "pfsp", 3
  with pytest.raises(ConfigError, match=r"parallel.params: parameters are cut over the devices "
                                        r"\(\"fsdp\"\) in self-play runs only"):
    config_lib.check(config)


# --- the subprocess -----------------------------------------------------------------------------


def cut_config(**ppo):
  config = kuhn_config(**ppo)
  config.parallel.params = CUT_ALL
  return config


def check_storage(state) -> None:
  """A cut kernel, its magnet and its Adam moments: each device holds a quarter."""
  kernel = lambda tree: tree["params"]["Block_0"]["Dense_0"]["kernel"]
  adam = state.opt_state[1][0]
  for leaf in (kernel(state.params), kernel(state.magnet), kernel(adam.mu), kernel(adam.nu)):
    assert leaf.sharding.spec == PartitionSpec(None, "data"), leaf.sharding
    assert leaf.addressable_shards[0].data.shape == (leaf.shape[0], leaf.shape[1] // 4)
  print("stored: 1/4 of each cut leaf a device")


def check_update_and_resume(workdir: pathlib.Path) -> None:
  """2 updates on 4 devices with cut parameters equal 2 on one device with 4 shards; the
  4-device state, saved, restores whole onto the one device, and 2 more updates there end
  where 2 more on the 4 devices end."""
  import chex
  from jaxplay.io.checkpoints import Checkpointer
  from jaxplay.learn.learner import Learner
  # Clipped at every step (the norm of the whole gradient, from the slices), RAE baselines
  # and a distilled magnet (its own gathers and reduce-scatters).
  cut, whole = (cut_config(max_grad_norm=0.05, advantage="rae", magnet_update="distill")
                for _ in range(2))
  cut.parallel.data = 4
  whole.parallel.params, whole.parallel.shards = (), 4
  learners = Learner(cut), Learner(whole)
  chunks = [jax.jit(learner.train_chunk, static_argnums=1) for learner in learners]
  starts = [learner.init(0) for learner in learners]
  check_storage(starts[0])
  (cut_2, cut_metrics), (whole_2, whole_metrics) = (chunk(start, 2)
                                                    for chunk, start in zip(chunks, starts))
  state = lambda s: jax.device_get((s.params, s.magnet, s.opt_state, s.magnet_opt_state,
                                    s.baselines, jax.tree.leaves(s.env_states)))
  close.assert_trees_close(state(cut_2), state(whole_2))
  chex.assert_trees_all_close(jax.device_get(cut_metrics), jax.device_get(whole_metrics),
                              rtol=1e-4, atol=1e-6)
  print("equal after 2 updates")
  with Checkpointer(workdir / "checkpoints") as checkpoints:
    checkpoints.save(2, cut_2)
    restored = checkpoints.restore(2, starts[1])
  assert restored.params["params"]["Block_0"]["Dense_0"]["kernel"].sharding.is_fully_replicated
  chex.assert_trees_all_equal(state(restored), state(cut_2))
  cut_4, resumed_4 = chunks[0](cut_2, 2)[0], chunks[1](restored, 2)[0]
  close.assert_trees_close(state(resumed_4), state(cut_4))
  print("resumed on one device: equal after 4 updates")


def main(case: str) -> None:
  import tempfile
  assert jax.device_count() == DEVICES, jax.devices()
  if case == "update_and_resume":
    with tempfile.TemporaryDirectory() as workdir:
      check_update_and_resume(pathlib.Path(workdir))
  else:
    raise SystemExit(f"unknown case {case!r}")


if __name__ == "__main__":
  main(sys.argv[1])
