"""Scripted Overcooked partners as training partners of a population's learner: games against
them seat the learner and one partner, the partner's actors play its scripted actions and
weigh nothing in the learner's batch, the learner learns from its own seat, a population
without them is unchanged, bad configs are one clear error, and the best-response config
trains and evaluates through the binaries' libraries."""

import functools

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments import evaluate_lib, run_lib
from experiments.configs import br_overcooked, e3t_overcooked, psro_kuhn_poker
from jaxplay import config as config_lib
from jaxplay.agents import agent as agent_lib
from jaxplay.agents import scripted
from jaxplay.agents.policy import split_keys
from jaxplay.core.errors import ConfigError
from jaxplay.games.overcooked.dynamics import STAY
from jaxplay.learn import population as population_lib
from jaxplay.learn import rollout as rollout_lib
from jaxplay.learn.learner import Learner

NUM_UPDATES = 3


def tiny(config, horizon=16):
  """The config cut to a few updates of 4 games x 8 steps on cramped_room."""
  config.game_options.overcooked.layout = "cramped_room"
  config.game_options.overcooked.horizon = horizon
  config.network.hidden = (16, 16)
  config.ppo.num_envs, config.ppo.num_steps = 4, 8
  config.ppo.num_epochs, config.ppo.num_minibatches = 1, 2
  config.total_env_steps = 4 * 8 * NUM_UPDATES
  config.run.updates_per_call, config.run.log_every = 1, 1
  config.run.eval_every = config.run.checkpoint_every = NUM_UPDATES
  config.eval.num_games = 4
  return config


@pytest.fixture(scope="module")
def learner():
  return Learner(tiny(br_overcooked.get_config("cramped_room,static")))


@pytest.fixture(scope="module")
def static():
  return scripted.static_partner()


def best_response(learner, partner, weight=1.0):
  return population_lib.Population(learner, 1, "self_play", scripted=(partner,),
                                   scripted_weight=weight)


def collected(population, state):
  """The update's games as `Population.update` plays them: (members per game, batch [1, S],
  trajectories). (Jitted: op by op, each operation would be compiled on its own.)"""
  learner = population.learner

  @jax.jit
  def collect(state):
    key = jax.random.wrap_key_data(state.key)
    members, _ = population._matchmake(state, jax.random.fold_in(key, 1))
    batch, _, _, trajectories, _ = learner.collect(
        state.params, state.env_states, state.baselines, jax.random.split(key, 1),
        learner.schedules(state.update), members, scripted=population.scripted)
    return members, batch, trajectories
  return collect(state)


def test_every_game_seats_the_learner_and_a_scripted_partner_whose_samples_weigh_nothing(
    learner, static):
  population = best_response(learner, static)
  state = population.init(0)
  members, batch, (traj,) = collected(population, state)
  (seats,) = members                                              # [B, 2]: ids 0 and 1
  np.testing.assert_array_equal(np.sort(np.asarray(seats), axis=1),
                                np.tile([0, 1], (seats.shape[0], 1)))
  assert len(set(np.asarray(seats[:, 0]).tolist())) == 2          # the learner in either seat
  partner = np.asarray(traj.member) == 1                          # [T, B, K]
  np.testing.assert_array_equal(partner, np.asarray(seats)[None].repeat(8, 0) == 1)
  # The learner's weights (`Population.update`: its member's samples only) vanish exactly on
  # the partner's actors, and are positive on its own.
  mine = np.asarray(batch.member[0] == state.learners[0])
  weight = np.asarray(batch.policy_weight[0]) * mine
  np.testing.assert_array_equal(mine, ~partner.reshape(-1))
  assert (weight[partner.reshape(-1)] == 0).all()
  assert (weight[~partner.reshape(-1)] > 0).any()
  assert (np.asarray(traj.action)[partner] == STAY).all()         # the static partner waits
  assert np.isfinite(np.asarray(traj.log_prob)).all()


def test_scripted_actors_play_the_scripted_agents_actions(learner):
  """One rollout step: the cook's actors take `cook.act` on the games' states with the
  step's agent key; the learner's actors the network's sample."""
  cook = scripted.independent_cook(learner.games.raw[0])
  population = best_response(learner, cook)
  state = population.init(1)
  states = state.env_states[0]
  members = jnp.stack([jnp.array([0, 1, 1, 0], jnp.int32),
                       jnp.array([1, 0, 0, 1], jnp.int32)], axis=1)
  key = jax.random.key(7)

  def rollout(members, scripted):
    """The trajectory of one rollout step with these seats and scripted partners (jitted:
    op by op is slower)."""
    return jax.jit(lambda members: rollout_lib.rollout(
        learner.games, 0, learner.model, state.params, states, key, 1, members=members,
        scripted=scripted)[1])(members)

  traj = rollout(members, (cook,))
  agent_key = split_keys(split_keys(key, 1)[0], 3)[2]  # the rollout's: action, env, agent
  want = jax.jit(lambda: cook.act(
      cook.params, agent_key, agent_lib.actors(states, True, jnp.full((4,), -1, jnp.int32))))()
  np.testing.assert_array_equal(np.asarray(traj.action[0])[np.asarray(members) == 1],
                                np.asarray(want)[np.asarray(members) == 1])
  plain = rollout(jnp.zeros_like(members), ())
  np.testing.assert_array_equal(np.asarray(traj.action[0])[np.asarray(members) == 0],
                                np.asarray(plain.action[0])[np.asarray(members) == 0])


def test_a_scripted_share_mixes_the_partner_with_the_learners_own_policy(learner, static):
  """E3T's partner: with share 0 the static partner's actors take the learner's sampled
  actions, exactly those of self-play with the same key; with share 1 the static action
  (STAY) everywhere; with 0.5 each actor one or the other, both present. One rollout step of
  64 games (the 4 start states tiled), the partner in seat 1 of half of them."""
  state = best_response(learner, static).init(2)
  states = jax.tree.map(lambda x: jnp.tile(x, (16,) + (1,) * (x.ndim - 1)), state.env_states[0])
  members = jnp.stack([jnp.zeros(64, jnp.int32), jnp.arange(64, dtype=jnp.int32) % 2], axis=1)
  partner = np.asarray(members) == 1                                    # [64, 2]

  @functools.partial(jax.jit, static_argnums=1)
  def actions(members, share):
    return rollout_lib.rollout(learner.games, 0, learner.model, state.params, states,
                               jax.random.key(5), 1, members=members, scripted=(static,),
                               scripted_share=share)[1].action[0]

  own, half, scripted_only = (np.asarray(actions(members, share)) for share in (0.0, 0.5, 1.0))
  plain = np.asarray(actions(jnp.zeros_like(members), 1.0))             # self-play
  np.testing.assert_array_equal(own, plain)
  np.testing.assert_array_equal(scripted_only[partner], STAY)
  np.testing.assert_array_equal(scripted_only[~partner], plain[~partner])
  np.testing.assert_array_equal(half[~partner], plain[~partner])
  mixed = half[partner & (plain != STAY)]
  assert set(mixed.tolist()) - {STAY} and STAY in mixed                 # both kinds occur
  np.testing.assert_array_equal(half[partner][half[partner] != STAY],
                                plain[partner][half[partner] != STAY])


def test_member_noise_mixes_a_members_actions_with_uniformly_random_ones(learner):
  """`member_noise` (E3T's mixture for frozen partners): all-zero noise samples exactly what
  no noise does; member 1 at noise 1 acts uniformly at random (every one of the 6 actions
  occurs, none of its network's draws kept beyond chance) while member 0 keeps its actions;
  at 0.5 member 1's actions are its network's where it was not drawn. One step of 256 games,
  member 1 in seat 1 of half of them."""
  state = population_lib.Population(learner, 2, "fictitious").init(4)
  states = jax.tree.map(lambda x: jnp.tile(x, (64,) + (1,) * (x.ndim - 1)), state.env_states[0])
  members = jnp.stack([jnp.zeros(256, jnp.int32), jnp.arange(256, dtype=jnp.int32) % 2], axis=1)
  partner = np.asarray(members) == 1                                    # [256, 2]

  @jax.jit
  def actions(noise):
    return rollout_lib.rollout(learner.games, 0, learner.model, state.params, states,
                               jax.random.key(9), 1, members=members,
                               member_noise=noise)[1].action[0]

  plain = np.asarray(jax.jit(lambda: rollout_lib.rollout(
      learner.games, 0, learner.model, state.params, states, jax.random.key(9), 1,
      members=members)[1].action[0])())
  none, random, half = (np.asarray(actions(jnp.array(noise, jnp.float32)))
                        for noise in ([0.0, 0.0], [0.0, 1.0], [0.0, 0.5]))
  np.testing.assert_array_equal(none, plain)
  np.testing.assert_array_equal(random[~partner], plain[~partner])
  assert set(random[partner].tolist()) == set(range(6))
  assert (random[partner] != plain[partner]).mean() > 0.5               # 5/6 expected
  np.testing.assert_array_equal(half[~partner], plain[~partner])
  kept = half[partner] == plain[partner]
  assert 0.3 < kept.mean() < 0.95                                       # 1/2 + 1/12 expected
  with pytest.raises(ValueError, match="member_noise needs members"):
    rollout_lib.rollout(learner.games, 0, learner.model, state.params, states,
                        jax.random.key(9), 1, member_noise=jnp.zeros(2))


def test_a_population_with_partner_noise_trains_its_learner_only(learner):
  """`Population(partner_noise=...)`: the frozen member acts noisily (the learner's update
  differs from the one without noise on the same start), the learner learns, the frozen
  member's parameters stay; the config option reaches the run's population; a noise of 1 or
  more, or below 0, is refused, and so is the config option where no frozen member plays (one
  self-play learner, psro)."""
  train = lambda population: jax.jit(population.train_chunk, static_argnums=1)(start, 2)[0]
  population = population_lib.Population(learner, 2, "fictitious", partner_noise=0.5)
  start = population.add_member(population.init(5))  # a frozen copy of the learner: slot 1
  assert bool(start.live.all())
  state = train(population)
  quiet = train(population_lib.Population(learner, 2, "fictitious"))
  assert not jax.tree.all(jax.tree.map(jnp.array_equal, state.params, quiet.params))
  learner_slot = int(start.learners[0])
  frozen = 1 - learner_slot
  changed = jax.tree.map(lambda a, b: not np.array_equal(a[learner_slot], b[learner_slot]),
                         state.params, start.params)
  assert any(jax.tree.leaves(changed))
  chex.assert_trees_all_equal(jax.tree.map(lambda x: x[frozen], state.params),
                              jax.tree.map(lambda x: x[frozen], start.params))
  for noise in (1.0, 1.5, -0.1):
    with pytest.raises(ConfigError, match="partner_noise"):
      population_lib.Population(learner, 2, "fictitious", partner_noise=noise)
  config = tiny(br_overcooked.get_config("cramped_room,static"))
  config.population.scheme, config.population.capacity = "fictitious", 2
  config.population.partner_noise = 0.25
  assert run_lib.make_run(Learner(config_lib.check(config))).population.partner_noise == 0.25
  config = br_overcooked.get_config("cramped_room")
  config.population.partner_noise = 0.5
  with pytest.raises(ConfigError, match="partner_noise.*'self_play' with 1 learner"):
    config_lib.check(config)
  config.population.partner_noise = 1.5
  with pytest.raises(ConfigError, match="partner_noise"):
    config_lib.check(config)
  config = psro_kuhn_poker.get_config()
  config.population.partner_noise = 0.5
  with pytest.raises(ConfigError, match="partner_noise.*'psro'"):
    config_lib.check(config)


def test_a_learner_trains_against_the_static_partner_which_has_nothing_to_train(
    learner, static):
  population = best_response(learner, static)
  start = population.init(0)
  state, metrics = jax.jit(population.train_chunk, static_argnums=1)(start, NUM_UPDATES)
  assert not jax.tree.all(jax.tree.map(jnp.array_equal, state.params, start.params))
  assert static.params is None
  assert jax.tree.leaves(state.params)[0].shape[0] == 1           # no slot for the partner
  assert float(state.counts.sum()) == 0                           # no network pair played
  assert "population/scripted_return_0" in metrics
  assert float(metrics["population/scripted_episodes_0"]) == 4    # each game ends at step 16
  assert np.isfinite(float(metrics["population/scripted_return_0"]))


def test_a_population_without_scripted_partners_is_unchanged(learner, static):
  """Weight 0: partners never drawn, so the update is that of no partners: the same games,
  and parameters equal to float rounding (the two programs are compiled apart, and XLA may
  fuse the observation into the first layer differently in each)."""
  plain = population_lib.Population(learner, 1, "self_play")
  unused = best_response(learner, static, weight=0.0)
  step = lambda population: jax.jit(population.train_chunk, static_argnums=1)(
      population.init(3), 2)
  (want, want_metrics), (got, got_metrics) = step(plain), step(unused)
  chex.assert_trees_all_close(got.params, want.params, rtol=1e-5, atol=1e-9)
  chex.assert_trees_all_equal(got.env_states, want.env_states)
  for key, value in want_metrics.items():
    np.testing.assert_allclose(got_metrics[key], value, rtol=1e-4, atol=1e-7, err_msg=key)


def test_bad_scripted_configs_are_one_clear_error(learner, static):
  config = br_overcooked.get_config("cramped_room,cook")
  with pytest.raises(ConfigError, match="unknown scripted partner.*'independent_cook'"):
    config_lib.check(config)
  config = config_lib.defaults()
  config.games = ("kuhn_poker",)
  config.population.scripted = ("static",)
  with pytest.raises(ConfigError, match="overcooked"):
    config_lib.check(config)
  config = br_overcooked.get_config("cramped_room")
  config.population.scripted = ()
  with pytest.raises(ConfigError, match="scripted_weight"):
    config_lib.check(config)
  with pytest.raises(ConfigError, match="scripted_weight"):
    population_lib.Population(learner, 1, scripted=(static,), scripted_weight=1.5)
  # A share below 1 mixes in the learner's own policy: one self-play learner, scripted games.
  config = e3t_overcooked.get_config("cramped_room")
  config.population.scripted_weight = 0.0
  with pytest.raises(ConfigError, match="scripted_share.*scripted_weight > 0"):
    config_lib.check(config)
  config = e3t_overcooked.get_config("cramped_room")
  config.population.num_learners = 2
  with pytest.raises(ConfigError, match="scripted_share.*num_learners 1"):
    config_lib.check(config)
  config.population.num_learners, config.population.scripted_share = 1, 1.5
  with pytest.raises(ConfigError, match="scripted_share"):
    config_lib.check(config)
  with pytest.raises(ConfigError, match="scripted_share.*capacity 1"):
    population_lib.Population(learner, 2, "fictitious", scripted=(static,), scripted_weight=0.5,
                              scripted_share=0.5)


@pytest.mark.parametrize("get_config, partner, described", [
    (lambda: br_overcooked.get_config("cramped_room,onion_fetcher"), "onion_fetcher",
     "against onion_fetcher in 100% of its games"),
    (lambda: e3t_overcooked.get_config("cramped_room"), "random",
     "against random in 100% of its games (acting at 50% of the steps, the learner's own "
     "policy at the rest: E3T)")], ids=["best_response", "e3t"])
def test_the_configs_with_a_scripted_partner_train_and_evaluate(tmp_path, get_config, partner,
                                                                described):
  """The best response (the partner at every step) and E3T (the partner mixed with the
  learner's own policy) train through the binary's library and evaluate with the partner."""
  lines = []
  state = run_lib.train(tiny(get_config()), tmp_path / "run", print_fn=lines.append)
  assert lines[0].endswith(described), lines[0]                  # no self-play games left
  assert int(state.update) == NUM_UPDATES
  metrics = evaluate_lib.evaluate(tmp_path / "run", plot="", print_fn=lambda _: None)
  assert np.isfinite(metrics["overcooked/return_0"])
  # Its return with its partner, both seats pooled and by seat: printed in training too.
  with_partner = f"overcooked/with_{partner}/return"
  by_seat = [metrics[f"{with_partner}_seat{seat}"] for seat in range(2)]
  assert metrics[with_partner] == pytest.approx(np.mean(by_seat)) and np.isfinite(by_seat).all()
  assert any(line.startswith("eval @") and f"with_{partner}/return" in line
             for line in lines), lines
