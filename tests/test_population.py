"""The population learner: self-play is a population of one (its update is the Learner's),
members act only for their own seats and only the learner learns, adding a member compiles
nothing, the payoff matrix follows the training games, and bad schemes are one clear error."""

import dataclasses
import json

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from tensorboard.backend.event_processing import event_accumulator

from experiments import evaluate_lib, run_lib
from jaxplay import config as config_lib
from jaxplay.core.errors import ConfigError
from jaxplay.learn import population as population_lib
from jaxplay.learn import rollout as rollout_lib
from jaxplay.io.metrics import read_metrics
from jaxplay.io.tensorboard import read_scalars
from jaxplay.learn.learner import Learner


def kuhn_learner(num_updates=3):
  return Learner(kuhn_config(num_updates))


def kuhn_config(num_updates=3):
  config = config_lib.defaults()
  config.network.kind, config.network.hidden = "mlp", (16,)
  config.ppo.num_envs, config.ppo.num_steps = 32, 4
  config.ppo.num_epochs, config.ppo.num_minibatches = 2, 2
  config.ppo.magnet_coef = 0.3
  config.total_env_steps = 32 * 4 * num_updates
  return config


@pytest.fixture(scope="module")
def learner():
  return kuhn_learner()


def test_self_play_is_a_population_of_one(learner):
  """Three updates of a one-member population equal three Learner updates."""
  population = population_lib.Population(learner, capacity=1)
  single, pop = learner.init(0), population.init(0)
  single, single_metrics = jax.jit(learner.train_chunk, static_argnums=1)(single, 3)
  pop, pop_metrics = jax.jit(population.train_chunk, static_argnums=1)(pop, 3)
  chex.assert_trees_all_close(jax.tree.map(lambda x: x[0], pop.params), single.params,
                              rtol=1e-5, atol=1e-6)
  chex.assert_trees_all_close(jax.tree.map(lambda x: x[0], pop.magnet), single.magnet,
                              rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(pop_metrics["kuhn_poker/return_0"],
                             single_metrics["kuhn_poker/return_0"], rtol=1e-5)
  assert float(pop.counts[0, 0]) > 0  # it played itself


def test_each_actor_takes_its_own_members_output(learner):
  """Member 1 is a copy of member 0 whose policy head is changed: the actors in its seats get
  its logits, the others member 0's."""
  state = learner.init(0)
  other = jax.tree.map(lambda x: x + 0.5, state.params)
  stacked = jax.tree.map(lambda a, b: jnp.stack([a, b]), state.params, other)
  observation = learner.games.pad_observation(state.env_states[0].observation)  # [B, P, L, F]
  member = jnp.tile(jnp.array([[0, 1]], jnp.int32), (observation.shape[0], 1))
  logits, value, _ = rollout_lib.member_forward(learner.model, stacked, observation, 0, member)
  want0 = rollout_lib.forward(learner.model, state.params, observation, 0)
  want1 = rollout_lib.forward(learner.model, other, observation, 0)
  chex.assert_trees_all_close((logits[:, 0], value[:, 0]), (want0[0][:, 0], want0[1][:, 0]))
  chex.assert_trees_all_close((logits[:, 1], value[:, 1]), (want1[0][:, 1], want1[1][:, 1]))


def test_frozen_members_act_and_only_the_learner_learns(learner):
  population = population_lib.Population(learner, capacity=4, scheme="fictitious")
  update = jax.jit(population.update)
  add = jax.jit(population.add_member)
  state = add(population.init(0))                 # member 1: a frozen copy of the learner
  assert state.live.tolist() == [True, True, False, False]
  frozen_before = jax.tree.map(lambda x: x[1], state.params)
  for _ in range(2):
    state, metrics = update(state)
  chex.assert_trees_all_equal(jax.tree.map(lambda x: x[1], state.params), frozen_before)
  assert not jax.tree.all(jax.tree.map(jnp.array_equal,
                                       jax.tree.map(lambda x: x[0], state.params),
                                       frozen_before))
  # Every game had the learner against member 1: the payoff matrix knows both entries, and
  # as a zero-sum game they are opposite.
  counts = np.asarray(state.counts)
  assert counts[0, 1] > 0 and counts[1, 0] == counts[0, 1] and counts[2:].sum() == 0
  np.testing.assert_allclose(state.payoff[0, 1], -state.payoff[1, 0], atol=1e-5)
  # Adding members changes data, not shapes: nothing compiles again.
  state = add(add(state))
  assert state.live.all()
  state, _ = update(state)
  assert update._cache_size() == 1 and add._cache_size() == 1
  assert bool(jnp.array_equal(add(state).live, state.live))  # a full population stays full


def test_an_unknown_scheme_or_option_is_one_clear_error(learner):
  with pytest.raises(ConfigError, match="scheme must be one of .*, got .league."):
    population_lib.Population(learner, capacity=2, scheme="league")
  with pytest.raises(ConfigError, match="meta_solver"):
    population_lib.Population(learner, capacity=2, scheme="psro", meta_solver="alpharank")


def test_threads_are_for_independent_learners_only(learner):
  """Learners that play each other cannot run as separate programs: one clear error."""
  assert population_lib.Population(learner, 3, num_learners=2, learner_map="threads").threaded
  assert not population_lib.Population(learner, 3, num_learners=2, learner_map="map").threaded
  with pytest.raises(ConfigError, match="'threads' trains independent learners"):
    population_lib.Population(learner, capacity=3, scheme="pfsp", learner_map="threads")
  with pytest.raises(ConfigError, match="learner_map must be one of .*'threads'.*, got 'pool'"):
    population_lib.Population(learner, capacity=3, learner_map="pool")


def test_a_schedule_period_restarts_the_schedules_every_period():
  config = kuhn_learner(num_updates=4).config.to_dict()
  config["ppo"].update(entropy_coef=0.04, final_entropy_coef=0.0)
  learner = Learner(config)
  population = population_lib.Population(learner, capacity=2, schedule_period=2)
  update, state, coefs = jax.jit(population.update), population.init(0), []
  for _ in range(4):
    state, metrics = update(state)
    coefs.append(float(metrics["kuhn_poker/entropy_coef"]))
  np.testing.assert_allclose(coefs, [0.04, 0.02, 0.04, 0.02], rtol=1e-6)
  with pytest.raises(ConfigError, match=r"schedule_period must be in 1..4"):
    population_lib.Population(learner, capacity=2, schedule_period=5)


def test_grouped_apply_equals_each_rows_own_member():
  """Uneven shares, a member without rows, chunks smaller and larger than a share."""
  params = {"w": jnp.arange(5.0)[:, None] + 1.0, "b": -jnp.arange(5.0)}   # 5 members
  apply = lambda p, x: (x * p["w"] + p["b"], x.sum(-1))
  inputs = jax.random.normal(jax.random.key(0), (37, 3))
  member = jnp.array([0] * 20 + [4] * 9 + [1] * 8, jnp.int32)[jax.random.permutation(
      jax.random.key(1), 37)]
  want = jax.vmap(lambda m, x: apply(jax.tree.map(lambda a: a[m], params), x))(member, inputs)
  grouped = jax.jit(rollout_lib.grouped_apply, static_argnums=(0, 4))
  for chunk in (None, 1, 4, 64):
    chex.assert_trees_all_close(grouped(apply, params, inputs, member, chunk), want, atol=1e-6)
  # more members than rows, each row its own member: every chunk is one row and its padding
  params = {"w": jnp.arange(40.0)[:, None] + 1.0, "b": -jnp.arange(40.0)}   # 40 members
  inputs, member = inputs[:7], jnp.array([39, 3, 17, 0, 22, 8, 31], jnp.int32)
  want = jax.vmap(lambda m, x: apply(jax.tree.map(lambda a: a[m], params), x))(member, inputs)
  for chunk in (None, 2, 3):
    chex.assert_trees_all_close(grouped(apply, params, inputs, member, chunk), want, atol=1e-6)


def test_learners_side_by_side_each_play_their_own_games(learner):
  """Two self-play learners in one program: each plays only itself, in its own games, and
  learns from its own decisions."""
  population = population_lib.Population(learner, capacity=3, num_learners=2)
  state = population.init(0)
  assert state.live.tolist() == [True, True, False]
  chex.assert_shape(state.env_states[0].current_player, (2 * 32,))
  start = state.params
  state, metrics = jax.jit(population.update)(state)
  counts = np.asarray(state.counts)
  assert counts[0, 0] > 0 and counts[1, 1] > 0 and counts[0, 1] == counts[1, 0] == 0
  moved = [not jax.tree.all(jax.tree.map(lambda a, b: jnp.array_equal(a[i], b[i]),
                                         state.params, start)) for i in range(3)]
  assert moved == [True, True, False]
  assert np.isfinite(metrics["entropy"])
  with pytest.raises(ConfigError, match="num_learners must be in 1..capacity"):
    population_lib.Population(learner, capacity=1, num_learners=2)


def _laid_out(ids, learners: int, shards: int, members: int):
  """Learner-major game ids as a population of `learners` with S = `shards` data shards and M =
  `members` member devices holds them, [M, S, L / M, B / S] flattened (written out here, not
  taken from `Population`)."""
  return ids.reshape(members, learners // members, shards, -1).swapaxes(1, 2).reshape(-1)


def test_a_resume_with_other_shards_or_members_keeps_each_learners_games(tmp_path):
  """Two learners' games saved in one layout and restored by a population with another keep
  their learners: recorded in the checkpoint, inferred from an older checkpoint's config, and
  an impossible recorded layout is one clear error."""
  from jaxplay.io.checkpoints import CheckpointError, Checkpointer

  def population(shards):
    config = kuhn_config()
    config.parallel.shards = shards
    config.population.num_learners = config.population.capacity = 2
    return population_lib.Population(Learner(config), capacity=2, num_learners=2)

  now, before = population(4), population(2)
  assert now.games_layout == {"shards": 4, "members": 1}
  fresh = now.init(0)
  ids = np.arange(2 * 32, dtype=np.int32)   # learner-major: learner 0's 32 games, then 1's
  tagged = lambda order: fresh.replace(env_states=jax.tree_util.tree_map_with_path(
      lambda path, x: jnp.asarray(order) if "current_player" in jax.tree_util.keystr(path)
      else x, fresh.env_states))
  restored_games = lambda directory: np.asarray(run_lib.restore_or_init(
      now.learner, Checkpointer(directory), fresh, now).env_states[0].current_player)

  # Saved by a run with 2 shards (the layout in the metadata), restored with 4.
  with Checkpointer(tmp_path / "recorded") as checkpoints:
    run_lib.save(checkpoints, 1, tagged(_laid_out(ids, 2, 2, 1)), before.learner, before)
    assert checkpoints.metadata(1)["games_layout"] == {"shards": 2, "members": 1}
  np.testing.assert_array_equal(restored_games(tmp_path / "recorded"), _laid_out(ids, 2, 4, 1))
  assert not np.array_equal(_laid_out(ids, 2, 2, 1), _laid_out(ids, 2, 4, 1))

  # Saved on 2 data x 2 member devices (recorded), and by an older version (none recorded:
  # the layout its config fixed).
  config = json.loads(config_lib.to_json(before.learner.config))
  with Checkpointer(tmp_path / "members") as checkpoints:
    checkpoints.save(1, tagged(_laid_out(ids, 2, 2, 2)), metadata={
        "config": config, "games_layout": {"shards": 2, "members": 2}})
  np.testing.assert_array_equal(restored_games(tmp_path / "members"), _laid_out(ids, 2, 4, 1))
  with Checkpointer(tmp_path / "older") as checkpoints:
    checkpoints.save(1, tagged(_laid_out(ids, 2, 2, 1)), metadata={"config": config})
  np.testing.assert_array_equal(restored_games(tmp_path / "older"), _laid_out(ids, 2, 4, 1))

  with pytest.raises(CheckpointError, match="laid out for 3 data shards and 1 member devices"):
    now.relaid(fresh, shards=3, members=1)


def test_a_checkpoint_saved_before_training_games_were_counted_restores_them_as_zero(
    learner, tmp_path):
  """A population's training games equal its counts when nothing else is measured; a state
  saved before `training_games` existed restores with them at 0 and everything else as saved."""
  from jaxplay.io.checkpoints import Checkpointer

  population = population_lib.Population(learner, capacity=2)
  state, _ = jax.jit(population.update)(population.init(0))
  chex.assert_trees_all_equal(state.training_games, state.counts)
  assert float(state.counts.sum()) > 0
  older = {field.name: getattr(state, field.name) for field in dataclasses.fields(state)
           if field.name != "training_games"}
  with Checkpointer(tmp_path) as checkpoints:
    checkpoints.save(1, older)
  with Checkpointer(tmp_path) as checkpoints:
    restored = population_lib.restore_saved(checkpoints, 1, population.init(0))
  chex.assert_trees_all_equal(restored.training_games, jnp.zeros((2, 2), jnp.float32))
  chex.assert_trees_all_equal(restored.replace(training_games=state.training_games), state)


def test_per_seat_populations_grow_in_lockstep_and_play_across_seats(learner):
  """PSRO's shape: one population per seat of Kuhn, one learner a seat against the other
  seat's meta-strategy; a new generation freezes both learners and continues from copies."""
  population = population_lib.Population(learner, capacity=3, scheme="psro",
                                         meta_solver="nash", per_seat=True)
  update, advance = jax.jit(population.update), jax.jit(population.next_generation)
  state = population.init(0)
  assert state.learners.tolist() == [0, 3] and state.live.tolist() == [1, 0, 0, 1, 0, 0]
  state, _ = update(state)
  state = advance(state)
  assert state.learners.tolist() == [1, 4]
  assert state.live.tolist() == [True, True, False, True, True, False]
  frozen = jax.tree.map(lambda x: x[jnp.array([0, 3])], state.params)
  state, _ = update(state)
  chex.assert_trees_all_equal(jax.tree.map(lambda x: x[jnp.array([0, 3])], state.params),
                              frozen)
  counts = np.asarray(state.counts)
  # Seat-0 members only ever met seat-1 members; the learners met the other seat's frozen
  # member (its own counterpart, the other learner, is not an opponent).
  assert counts[:3, :3].sum() == 0 and counts[3:, 3:].sum() == 0
  assert counts[1, 3] > 0 and counts[4, 0] > 0 and counts[1, 4] == 0
  chex.assert_trees_all_equal(state.training_games, state.counts)   # no other games measured
  assert update._cache_size() == 1
  with pytest.raises(ConfigError, match="one two-player game"):
    population_lib.Population(Learner(_three_player_config()), 2, per_seat=True)


def _three_player_config():
  config = config_lib.defaults()
  config.game_options.kuhn_poker.num_players = 3
  config.ppo.num_envs, config.ppo.num_steps = 8, 4
  config.total_env_steps = 8 * 4
  return config


def league_config(scheme="pfsp"):
  config = config_lib.defaults()
  config.games = ("tic_tac_toe",)
  config.network.kind, config.network.hidden = "mlp", (16,)
  config.ppo.num_envs, config.ppo.num_steps = 16, 4
  config.ppo.num_epochs, config.ppo.num_minibatches = 1, 2
  config.total_env_steps = 16 * 4 * 6
  config.run.updates_per_call = 1
  config.run.log_every, config.run.eval_every, config.run.checkpoint_every = 1, 3, 2
  config.eval.num_games = 16
  config.population.scheme, config.population.capacity = scheme, 3
  config.population.snapshot_start, config.population.snapshot_every = 2, 2
  return config


def test_a_league_trains_through_the_binaries_with_snapshots_elo_and_resume(tmp_path):
  lines = []
  state = run_lib.train(league_config(), tmp_path / "run", print_fn=lines.append)
  assert "pfsp against up to 2 snapshots" in lines[0]
  assert np.asarray(state.live).tolist() == [True, True, True]  # snapshots at 2 and 4
  rows = [r for r in read_metrics(tmp_path / "run") if "population/members" in r]
  assert [(r["step"], r["population/members"]) for r in rows] == [(3, 2), (6, 3)]
  assert np.isfinite(rows[-1]["population/learner_elo"])
  scalars = {tag for tag, _, _ in read_scalars(tmp_path / "run" / "tensorboard")}
  assert "population/elo_1" in scalars
  events = event_accumulator.EventAccumulator(str(tmp_path / "run" / "tensorboard"),
                                              size_guidance={event_accumulator.IMAGES: 0})
  events.Reload()
  assert [image.step for image in events.Images("population/payoff")] == [3, 6]
  # A run killed at update 3 and resumed ends where the uninterrupted one did.
  run_lib.train(league_config(), tmp_path / "again", stop_after=3, print_fn=lambda _: None)
  resumed = run_lib.train(league_config(), tmp_path / "again", print_fn=lambda _: None)
  chex.assert_trees_all_equal(resumed.params, state.params)
  lines = []
  metrics = evaluate_lib.evaluate(tmp_path / "run", plot="", print_fn=lines.append)
  shown = [line for line in lines if line.startswith("  member ")]
  assert [line.split()[1] for line in shown] == ["0", "1", "2"]
  trained = np.asarray(state.training_games)[int(state.learners[0])]
  assert [float(line.split()[5]) for line in shown] == trained.tolist()
  assert trained[0] > 0 and trained[1] > 0
  assert "tic_tac_toe/member_0/vs_perfect/seat0_loss" in metrics
  with pytest.raises(ConfigError, match="--meta_solver measures a PSRO run's members; .* is a "
                     "pfsp run"):
    evaluate_lib.evaluate(tmp_path / "run", plot="", meta_solver="nash",
                          print_fn=lambda _: None)
