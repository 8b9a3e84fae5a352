"""How the training programs compile: `run.xla_ynnpack_fusions` reaches XLA."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments import run_lib
from experiments.configs import kuhn_poker
from jaxplay import config as config_lib
from jaxplay.core.errors import ConfigError
from jaxplay.learn import compiling
from jaxplay.learn.learner import Learner


def _config(ynnpack: bool):
  config = config_lib.defaults()
  config.ppo.num_envs, config.ppo.num_steps, config.total_env_steps = 8, 4, 8 * 4 * 2
  config.network.width, config.network.depth, config.network.heads = 8, 1, 2
  config.run.xla_ynnpack_fusions = ynnpack
  return config_lib.check(config)


def _layer(x, w):  # a dot, an elementwise chain and a reduction: what YNNPACK takes
  return jnp.tanh(x @ w).sum(axis=0)


def test_without_ynnpack_no_program_part_goes_to_it_and_the_result_stays():
  x = jax.random.normal(jax.random.key(0), (1024, 32))
  w = jax.random.normal(jax.random.key(1), (32, 128))
  lowered = jax.jit(_layer).lower(x, w)
  plain = compiling.compile(lowered, _config(True))
  without = compiling.compile(lowered, _config(False))
  assert compiling.compiler_options(_config(True)) == {}
  if jax.default_backend() == "cpu":
    assert compiling.compiler_options(_config(False)) == {compiling.YNN_FUSION_TYPES: ""}
    assert "__ynn_fusion" in plain.as_text()   # XLA:CPU's default hands the layer to it
  assert "__ynn_fusion" not in without.as_text()
  np.testing.assert_allclose(without(x, w), plain(x, w), rtol=1e-5, atol=1e-4)


@pytest.mark.skipif(jax.default_backend() != "cpu", reason="an XLA:CPU option")
def test_the_train_binary_compiles_its_chunks_with_the_configs_options():
  chunks = {}
  for ynnpack in (True, False):
    run = run_lib.SelfPlayRun(Learner(_config(ynnpack)))
    chunks[ynnpack] = run.compiled_chunk(run.init(0), 1).as_text()
  assert "__ynn_fusion" in chunks[True] and "__ynn_fusion" not in chunks[False]


def test_the_kuhn_config_turns_ynnpack_off_and_a_config_without_the_field_keeps_it():
  assert not config_lib.check(kuhn_poker.get_config()).run.xla_ynnpack_fusions
  assert config_lib.check({"run": {"log_every": 10}}).run.xla_ynnpack_fusions  # saved before


def test_a_non_boolean_setting_is_one_clear_error():
  with pytest.raises(ConfigError, match="run.xla_ynnpack_fusions must be True or False"):
    config_lib.check({"run": {"xla_ynnpack_fusions": "no"}})
