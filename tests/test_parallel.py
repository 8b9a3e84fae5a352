"""Data parallelism (jaxplay.parallel): an update sharded over 4 and 2 forced CPU devices
equals the one-device update with as many data shards; bad meshes fail with one clear error.

The device tests run in two subprocesses (`python -m tests.test_parallel CASE,CASE,...`) with
XLA_FLAGS=--xla_force_host_platform_device_count=4, which must be set before JAX starts;
this pytest process keeps its one device.
"""

from __future__ import annotations

import pathlib
import subprocess
import sys

import pytest

from tests import close, subprocess_env
from tests.once import once

ROOT = pathlib.Path(__file__).resolve().parents[1]
DEVICES = 4


def run_case(case: str, timeout: float = 240, module: str = "tests.test_parallel") -> str:
  """Runs `case` of `module`'s `main` with DEVICES forced CPU devices; its output."""
  done = subprocess.run([sys.executable, "-m", module, case], cwd=ROOT,
                        env=subprocess_env.with_devices(DEVICES),
                        capture_output=True, text=True, timeout=timeout)
  assert done.returncode == 0, done.stdout + done.stderr
  return done.stdout


@pytest.fixture(scope="module")
def learner_cases(tmp_path_factory, worker_id) -> str:
  """The output of the single learner's cases and the bad meshes, one subprocess for all
  (once for both pytest workers: tests/once.py)."""
  return once(tmp_path_factory, worker_id, "parallel_learner",
              lambda: run_case("transformer_4,errors,mlp_rae_distill_2"))


@pytest.fixture(scope="module")
def population_cases(tmp_path_factory, worker_id) -> str:
  """The output of the population and PSRO cases, one subprocess for both (once for both
  pytest workers)."""
  return once(tmp_path_factory, worker_id, "parallel_population",
              lambda: run_case("populations,psro", timeout=600))


def test_kuhn_on_4_devices_equals_4_shards_on_one_device(learner_cases):
  assert "equal: 4 devices x 4 shards" in learner_cases


def test_rae_and_distilled_magnet_on_2_devices_equal_one_device(learner_cases):
  """2 devices x 1 shard and 2 devices x 2 shards (vmapped on each device), against one
  device with 2 and 4 shards: the RAE baselines and the distilled magnet reduce over all."""
  assert "equal: 2 devices x 2 shards" in learner_cases
  assert "equal: 2 devices x 4 shards" in learner_cases


def test_bad_meshes_fail_with_one_clear_error(learner_cases):
  out = learner_cases
  assert "parallel.data (8) exceeds the 4 cpu device(s)" in out, out
  assert "ppo.num_envs (6) must be divisible by the 4 devices on the data axis" in out, out
  assert "ppo.num_envs (6) must be divisible by parallel.shards (4)" in out, out
  assert "parallel.data (4) x parallel.members (2) exceeds the 4 cpu device(s)" in out, out
  assert "parallel.members (3) must divide the 4 devices" in out, out


def test_population_updates_on_4_and_2_devices_equal_one_device(population_cases):
  """Fictitious self-play with a frozen snapshot (4 devices x 1 shard); two self-play
  learners with RAE baselines on 2 data devices (two shards each) x 2 member devices, each
  playing and training one learner: members, payoff matrix, games; the same with MEP's
  population-entropy bonus (every device's games scored by both learners' networks)."""
  assert "equal: population on 4 x 1 devices, 4 shards" in population_cases
  assert population_cases.count("equal: population on 2 x 2 devices, 4 shards") == 2, \
      population_cases


def test_members_must_divide_the_learners():
  from jaxplay import config as config_lib
  from jaxplay.core.errors import ConfigError
  config = kuhn_config()
  config.population.num_learners, config.population.capacity = 3, 3
  config.parallel.members = 2
  with pytest.raises(ConfigError, match=r"parallel.members \(2\) must divide population.num_"):
    config_lib.check(config)


def test_psro_on_4_devices_equals_4_shards_on_one_device(population_cases):
  """Two PSRO iterations (best responses trained on 4 devices, the meta-game measured on the
  host): every member, the meta-game and the meta-strategies as one device's with 4 shards."""
  assert "equal: PSRO on 4 devices, 2 iterations" in population_cases


def test_psro_on_a_members_axis_is_one_clear_error():
  from jaxplay import config as config_lib
  from jaxplay.core.errors import ConfigError
  config = kuhn_config()
  config.population.scheme, config.population.iterations = "psro", 2
  config.parallel.data, config.parallel.members = 2, 2
  with pytest.raises(ConfigError, match=r"parallel.members \(2\): PSRO's best responses are "
                     "not split"):
    config_lib.check(config)


def test_scripted_partners_on_a_members_axis_are_one_clear_error():
  from jaxplay import config as config_lib
  from jaxplay.core.errors import ConfigError
  from experiments.configs import overcooked
  config = overcooked.get_config("cramped_room")
  config.population.num_learners = config.population.capacity = 2
  config.population.scripted, config.population.scripted_weight = ("static",), 0.5
  config.parallel.members = 2
  with pytest.raises(ConfigError, match=r"parallel.members \(2\): scripted partners "):
    config_lib.check(config)


# --- the subprocess -----------------------------------------------------------------------------


def kuhn_config(num_envs: int = 16, kind: str = "transformer", **ppo):
  """experiments/configs/kuhn_poker.py, small: num_envs games, 8 steps, a tiny network."""
  from experiments.configs import kuhn_poker
  config = kuhn_poker.get_config()
  config.ppo.num_envs, config.ppo.num_steps = num_envs, 8
  config.ppo.update(ppo)
  config.total_env_steps = num_envs * 8 * 10
  config.network.kind = kind
  config.network.width, config.network.depth, config.network.heads = 16, 1, 2
  config.network.hidden = (16, 16)
  config.run.updates_per_call = 2
  config.run.log_every = config.run.eval_every = config.run.checkpoint_every = 2
  return config


def train(config, data: int, shards: int, updates: int = 2):
  """(state, metrics) after `updates` updates with the given mesh and shard count."""
  import jax
  from jaxplay.learn.learner import Learner
  config.parallel.data, config.parallel.shards = data, shards
  learner = Learner(config)
  state = learner.init(0)
  assert len(state.env_states[0].inner.step_count.sharding.device_set) == max(data, 1)
  return jax.jit(learner.train_chunk, static_argnums=1)(state, updates)


def assert_same_update(config, data: int, shards: int):
  """`data` devices with `shards` shards give one device's result with the same shards; that
  result's parameters (to check that the shard count matters: the comparison is not
  vacuous)."""
  import chex
  import jax
  import numpy as np
  sharded, sharded_metrics = train(config, data, shards)
  single, single_metrics = train(config, 1, shards or data)
  assert int(sharded.update) == int(single.update) == 2
  state = lambda s: (s.params, s.magnet, s.opt_state, s.magnet_opt_state, s.baselines,
                     jax.tree.leaves(s.env_states))  # (the env trees hold their own envs)
  close.assert_trees_close(state(sharded), state(single))
  np.testing.assert_array_equal(sharded.key, single.key)
  chex.assert_trees_all_close(jax.device_get(sharded_metrics), jax.device_get(single_metrics),
                              rtol=1e-4, atol=1e-6)
  print(f"equal: {data} devices x {shards or data} shards")
  return single.params


def train_population(config, data: int, shards: int, members: int, scheme: str, capacity: int,
                     num_learners: int, updates: int = 2, population_entropy: float = 0.0):
  """A population's (state, metrics) after a snapshot of learner 0 and `updates` updates,
  its games learner-major (`Population.learner_major`: the state's order depends on the
  mesh); `population_entropy`: MEP's bonus (`Population`)."""
  import jax
  from jaxplay.learn.learner import Learner
  from jaxplay.learn.population import Population
  config.parallel.data, config.parallel.shards, config.parallel.members = data, shards, members
  config.population.scheme, config.population.capacity = scheme, capacity
  config.population.num_learners = num_learners
  population = Population(Learner(config), capacity, scheme, num_learners=num_learners,
                          population_entropy=population_entropy)
  state = jax.jit(population.add_member)(population.init(0))
  games = state.env_states[0].inner.step_count
  assert len(games.sharding.device_set) == data * members
  # Each device holds its own games: its data shards' games of its block of learners.
  assert {s.data.shape[0] for s in games.addressable_shards} == {
      games.shape[0] // (data * members)}
  state, metrics = jax.jit(population.train_chunk, static_argnums=1)(state, updates)
  return state.replace(env_states=population.learner_major(state.env_states)), metrics


def assert_same_population_update(config, data: int, *population, members: int = 1,
                                  shards: int = 0, population_entropy: float = 0.0) -> None:
  """`data` x `members` devices with `shards` shards (0: one a data device) give one
  device's result with as many shards (that this is not one shard's result, the self-play
  case checks)."""
  import chex
  import jax
  (sharded, sharded_metrics), (single, single_metrics) = (
      train_population(config, d, s, m, *population, population_entropy=population_entropy)
      for d, s, m in [(data, shards, members), (1, shards or data, 1)])
  state = lambda s: (s.params, s.magnet, s.opt_state, s.payoff, s.counts, s.baselines,
                     jax.tree.leaves(s.env_states))
  close.assert_trees_close(state(sharded), state(single))
  chex.assert_trees_all_close(jax.device_get(sharded_metrics), jax.device_get(single_metrics),
                              rtol=1e-4, atol=1e-6)
  assert float(sharded.counts.sum()) > 0
  print(f"equal: population on {data} x {members} devices, {shards or data} shards")


def train_psro(config, data: int, shards: int, iterations: int = 2):
  """(state, reports) after `iterations` PSRO iterations with the given mesh and shards."""
  from jaxplay.learn.learner import Learner
  from jaxplay.learn.psro import PSRO
  config.parallel.data, config.parallel.shards = data, shards
  config.population.scheme, config.population.iterations = "psro", iterations
  psro = PSRO(Learner(config), iterations)
  state, reports = psro.init(0), []
  assert len(state.env_states[0].inner.step_count.sharding.device_set) == data
  for _ in range(iterations):
    state, report = psro.iteration(state)
    reports.append(report)
  return state, reports


def assert_same_psro(config, data: int) -> None:
  """PSRO with its best responses on `data` devices (a shard each) gives one device's
  result with `data` shards: every member, the meta-game, the meta-strategies (`config`: a
  function that makes the config, of 4 updates)."""
  import chex
  import numpy as np
  (sharded, sharded_reports), (single, single_reports) = (
      train_psro(config(), d, s) for d, s in [(data, 0), (1, data)])
  assert int(sharded.update) == int(single.update) == 4
  np.testing.assert_array_equal(sharded.live, single.live)
  np.testing.assert_array_equal(sharded.key, single.key)
  chex.assert_trees_all_close((sharded.params, sharded.magnet, sharded.payoff,
                               sharded.opponents),
                              (single.params, single.magnet, single.payoff, single.opponents),
                              rtol=1e-5, atol=1e-6)
  for a, b in zip(sharded_reports, single_reports):
    chex.assert_trees_all_close((a.payoff, a.weights, a.exploitability),
                                (b.payoff, b.weights, b.exploitability), rtol=1e-4, atol=1e-5)
  print(f"equal: PSRO on {data} devices, {len(sharded_reports)} iterations")


def check_errors() -> None:
  from jaxplay.core.errors import ConfigError
  from jaxplay.learn.learner import Learner
  cases = [(kuhn_config(), 8, 0, 1), (kuhn_config(num_envs=6), 4, 0, 1),
           (kuhn_config(num_envs=6), 0, 0, 1), (kuhn_config(num_envs=6), 1, 4, 1),
           (kuhn_config(), 4, 0, 2), (kuhn_config(), 0, 0, 3)]
  for config, data, shards, members in cases:
    config.parallel.data, config.parallel.shards = data, shards
    config.parallel.members = config.population.num_learners = members
    config.population.scheme, config.population.capacity = "self_play", 4
    try:
      Learner(config)
    except ConfigError as error:
      print(error)
    else:
      raise AssertionError(f"no ConfigError for data={data}, shards={shards}")


def main(cases: str) -> None:
  """Runs each of the comma-separated `cases`."""
  import jax
  assert jax.device_count() == DEVICES, jax.devices()
  for case in cases.split(","):
    run_one(case)


def run_one(case: str) -> None:
  import jax
  import numpy as np
  if case == "transformer_4":
    assert_same_update(kuhn_config(), 4, 0)
  elif case == "mlp_rae_distill_2":
    config = lambda: kuhn_config(kind="mlp", advantage="rae", magnet_update="distill")
    two_shards = assert_same_update(config(), 2, 0)
    four_shards = assert_same_update(config(), 2, 4)
    # The result depends on the shard count (each shard rolls out with its own keys), so
    # equal results with equal shard counts are not vacuous.
    assert not jax.tree.all(jax.tree.map(np.array_equal, two_shards, four_shards))
  elif case == "populations":
    assert_same_population_update(kuhn_config(kind="mlp"), 4, "fictitious", 3, 1)
    # Two local shards a data device, each member device playing its learner's part of both.
    assert_same_population_update(kuhn_config(kind="mlp", advantage="rae", num_envs=32), 2,
                                  "self_play", 2, 2, members=2, shards=4)
    # MEP's bonus: each device's games scored by every learner's network.
    assert_same_population_update(kuhn_config(kind="mlp", num_envs=32), 2, "self_play", 2, 2,
                                  members=2, shards=4, population_entropy=0.1)
  elif case == "psro":
    def config():
      config = kuhn_config(kind="mlp")
      config.total_env_steps = 16 * 8 * 4  # 2 updates an iteration
      return config
    assert_same_psro(config, 4)
  elif case == "errors":
    check_errors()
  else:
    raise ValueError(case)


if __name__ == "__main__":
  main(sys.argv[1])
