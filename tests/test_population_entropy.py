"""MEP's population-entropy reward: log pibar is the log of the learners' mean probability of
the action (a learner with a copy of itself: its own log-probability as the rollout recorded
it), a bonus goes into the seat that acted and into the rewards before the advantages, and a
population of self-play learners trains with it in one program, alpha switched on where its
ramp says; misuse is one clear error."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxplay import config as config_lib
from jaxplay.agents.policy import masked_logits
from jaxplay.core.errors import ConfigError
from jaxplay.learn import population as population_lib
from jaxplay.learn import population_entropy
from jaxplay.learn.learner import Learner
from tests.test_population import kuhn_config


@pytest.fixture(scope="module")
def learner():
  return Learner(kuhn_config())


def _collect(learner, bonus=None):
  """One rollout of the self-play state of seed 0: (batch, trajectory, metrics), jitted."""
  @jax.jit
  def collect(state):
    batch, _, _, (traj,), metrics = learner.collect(
        state.params, state.env_states, state.baselines, jax.random.split(jax.random.key(3), 1),
        learner.schedules(state.update), reward_bonus=bonus)
    return batch, traj, metrics
  return collect(learner.init(0))


@pytest.fixture(scope="module")
def plain(learner):
  return _collect(learner)


def test_a_seat_gets_the_bonus_of_its_acting_slots():
  per_actor = jnp.array([[[1.0, 2.0]], [[4.0, 8.0]]])              # [T=2, B=1, K=2]
  seat = jnp.array([[[1, 0]], [[0, 1]]], jnp.int32)
  acted = jnp.array([[[True, False]], [[True, True]]])
  np.testing.assert_array_equal(population_entropy.seat_rewards(per_actor, seat, acted, 2),
                                [[[0.0, 1.0]], [[4.0, 8.0]]])


def test_log_pibar_is_the_log_of_the_mean_probability(learner, plain):
  _, traj, _ = plain
  params = learner.init(0).params
  other = jax.tree.map(lambda x: x + 0.3 * jnp.sign(x), params)
  stack = lambda *trees: jax.tree.map(lambda *xs: jnp.stack(xs), *trees)
  acted = np.asarray(traj.acted)
  # A population of two copies: the rollout's own log-probabilities.
  same = population_entropy.mean_policy_log_prob(
      learner.model, stack(params, params), traj.inputs, traj.legal, traj.action, 0)
  np.testing.assert_allclose(np.asarray(same)[acted], np.asarray(traj.log_prob)[acted],
                             atol=1e-5)
  # Two different networks: the mean of their probabilities, computed here directly.
  def probability(p):
    flat = traj.inputs.reshape((-1,) + traj.inputs.shape[3:])
    logits, _ = learner.model.apply(p, flat, jnp.zeros(flat.shape[:1], jnp.int32))
    probs = jax.nn.softmax(masked_logits(logits, traj.legal.reshape(-1, traj.legal.shape[-1])))
    return jnp.take_along_axis(probs, traj.action.reshape(-1, 1), -1).reshape(traj.action.shape)
  want = np.log((np.asarray(probability(params)) + np.asarray(probability(other))) / 2)
  for mode in ("map", "vmap"):
    got = population_entropy.mean_policy_log_prob(
        learner.model, stack(params, other), traj.inputs, traj.legal, traj.action, 0, mode)
    np.testing.assert_allclose(np.asarray(got)[acted], want[acted], rtol=1e-5, atol=1e-5)
  assert not np.allclose(want[acted], np.asarray(traj.log_prob)[acted], atol=1e-3)


def test_the_bonus_goes_into_the_rewards_before_the_advantages(learner, plain):
  """The same rollout (same keys) with 0.5 for every decision: rewards up by 0.5 a decision
  in the acting seat, the metric its mean, the value targets changed."""
  batch, traj, metrics = plain
  half = lambda t, game: population_entropy.seat_rewards(
      jnp.full(t.action.shape, 0.5), t.seat, t.acted, learner.num_players)
  bonus_batch, bonus_traj, bonus_metrics = _collect(learner, half)
  chex.assert_trees_all_equal(bonus_traj.action, traj.action)
  added = np.asarray(half(traj, 0))
  np.testing.assert_allclose(bonus_traj.reward, np.asarray(traj.reward) + added, atol=1e-6)
  np.testing.assert_allclose(bonus_metrics["kuhn_poker/reward_bonus"], added.mean(), rtol=1e-6)
  assert "kuhn_poker/reward_bonus" not in metrics
  valid = np.asarray(batch.value_weight) > 0
  assert valid.any()
  assert not np.allclose(np.asarray(bonus_batch.target)[valid], np.asarray(batch.target)[valid])


def test_learners_train_with_the_population_entropy_in_one_program(learner):
  population = population_lib.Population(learner, 3, num_learners=2, population_entropy=0.05)
  assert not population.threaded and not population.independent
  plain = population_lib.Population(learner, 3, num_learners=2, learner_map="map")
  (state, metrics), (plain_state, plain_metrics) = (
      jax.jit(p.update)(p.init(0)) for p in (population, plain))
  bonus = float(metrics["kuhn_poker/reward_bonus"])
  assert 0 < bonus < 0.05 * np.log(2) * 2   # -alpha log pibar a decision (2 legal moves)
  assert "kuhn_poker/reward_bonus" not in plain_metrics
  # The same games (the bonus changes no draw), other learning.
  np.testing.assert_array_equal(state.counts, plain_state.counts)
  assert not np.allclose(jax.tree.leaves(state.params)[0], jax.tree.leaves(plain_state.params)[0])


def test_alpha_follows_its_ramp():
  at = lambda ramp, steps: float(population_entropy.weight_at(0.2, ramp, steps))
  np.testing.assert_allclose([at((0, 0), s) for s in (0, 10**9)], [0.2, 0.2], rtol=1e-6)
  np.testing.assert_allclose([at((100, 100), s) for s in (0, 99, 100, 5000)],
                             [0.0, 0.0, 0.2, 0.2], rtol=1e-6)
  np.testing.assert_allclose([at((100, 300), s) for s in (0, 100, 150, 200, 300, 400)],
                             [0.0, 0.0, 0.05, 0.1, 0.2, 0.2], rtol=1e-6)


def test_a_bonus_not_yet_switched_on_trains_as_without_it(learner):
  """Ramp (1, 1): alpha is 0 at the first update (0 env steps done), so the update is the
  plain population's; the alpha in force is a metric."""
  ramped = population_lib.Population(learner, 3, num_learners=2, population_entropy=0.05,
                                     population_entropy_ramp=(1, 1))
  plain = population_lib.Population(learner, 3, num_learners=2, learner_map="map")
  (state, metrics), (plain_state, _) = (jax.jit(p.update)(p.init(0)) for p in (ramped, plain))
  assert float(metrics["population/population_entropy"]) == 0.0
  assert float(metrics["kuhn_poker/reward_bonus"]) == 0.0
  chex.assert_trees_all_close(state.params, plain_state.params, atol=1e-6)
  _, metrics = jax.jit(ramped.update)(state)
  assert float(metrics["population/population_entropy"]) == pytest.approx(0.05)
  assert float(metrics["kuhn_poker/reward_bonus"]) > 0


def test_population_entropy_misuse_is_one_clear_error(learner):
  with pytest.raises(ConfigError, match="population_entropy must be a number in"):
    population_lib.Population(learner, 3, num_learners=2, population_entropy=-0.1)
  with pytest.raises(ConfigError, match=r"population_entropy \(MEP\) rewards several self-play"):
    population_lib.Population(learner, 3, "fictitious", population_entropy=0.1)
  with pytest.raises(ConfigError, match="no population_entropy"):
    population_lib.Population(learner, 3, num_learners=2, learner_map="threads",
                              population_entropy=0.1)
  config = kuhn_config()
  config.population.population_entropy = 0.1
  with pytest.raises(ConfigError, match=r"population.population_entropy \(0.1\) rewards the "
                                        r"diversity .* got scheme 'self_play' with 1 learner"):
    config_lib.check(config)
  config.population.num_learners = config.population.capacity = 2
  config_lib.check(config)
  with pytest.raises(ConfigError, match=r"population_entropy_ramp must be two ints \(start, "
                                        r"end\) .* got \(5, 2\)"):
    population_lib.Population(learner, 3, num_learners=2, population_entropy=0.1,
                              population_entropy_ramp=(5, 2))
  config.population.population_entropy_ramp = (5, 2)
  with pytest.raises(ConfigError, match=r"population.population_entropy_ramp must be two ints"):
    config_lib.check(config)
  config.population.population_entropy_ramp = (config.total_env_steps,) * 2
  with pytest.raises(ConfigError, match="the bonus would never be paid"):
    config_lib.check(config)
  run_steps = learner.num_updates * learner.steps_per_update
  with pytest.raises(ConfigError, match=f"starts at {run_steps} env steps.*never be paid"):
    population_lib.Population(learner, 3, num_learners=2, population_entropy=0.1,
                              population_entropy_ramp=(run_steps, run_steps))
  config.population.population_entropy, config.population.population_entropy_ramp = 0.0, (0, 9)
  with pytest.raises(ConfigError, match=r"population_entropy_ramp \(\(0, 9\)\) schedules "
                                        r"MEP's alpha: set population.population_entropy > 0"):
    config_lib.check(config)
