"""Leagues that keep taking snapshots once full (`population.when_full = "replace_oldest"`):
the oldest frozen member makes room, its slot starts as a new member's, adding compiles once,
a resumed run evicts the same slots, and a bad value is one clear error."""

import chex
import jax
import numpy as np
import pytest

from experiments import run_lib
from jaxplay import config as config_lib
from jaxplay.core.errors import ConfigError
from jaxplay.learn import population as population_lib
from jaxplay.learn.learner import Learner


def league_config(when_full="replace_oldest"):
  """A Kuhn poker PFSP league of capacity 3 (the learner and 2 snapshots) over 9 updates,
  a snapshot every 2: at updates 2, 4, 6 and 8."""
  config = config_lib.defaults()
  config.games = ("kuhn_poker",)
  config.network.kind, config.network.hidden = "mlp", (16,)
  config.ppo.num_envs, config.ppo.num_steps = 16, 4
  config.ppo.num_epochs, config.ppo.num_minibatches = 1, 2
  config.ppo.advantage = "rae"  # baselines per (member, seat): the evicted ones start at 0
  config.total_env_steps = 16 * 4 * 9
  config.run.updates_per_call = 1
  config.run.log_every, config.run.eval_every, config.run.checkpoint_every = 1, 9, 3
  config.eval.num_games = 8
  config.population.scheme, config.population.capacity = "pfsp", 3
  config.population.snapshot_start = config.population.snapshot_every = 2
  config.population.when_full = when_full
  return config


def test_the_oldest_frozen_member_makes_room_as_a_new_member():
  learner = Learner(league_config())
  population = population_lib.Population(learner, capacity=3, scheme="pfsp")
  add, update = jax.jit(population.add_member), jax.jit(population.update)
  state = population.init(0)
  for _ in range(2):  # member 1 born at update 1, member 2 at update 2
    state, _ = update(state)
    state = add(state, 0, replace_oldest=True)
  assert state.live.all() and state.born.tolist() == [0, 1, 2]
  for _ in range(2):
    state, _ = update(state)
  before = state
  assert np.asarray(before.counts)[0, 1:].min() > 0
  assert np.abs(np.asarray(before.baselines).reshape(1, 3, 2)[0, 1]).sum() > 0
  chex.assert_trees_all_equal(add(before), before)  # "stop": a full population stays
  chex.assert_trees_all_equal(add(before, 0, replace_oldest=False), before)
  state = add(before, 0, replace_oldest=True)     # member 1 (born 1) leaves
  assert state.born.tolist() == [0, 4, 2] and state.live.all()
  mine = lambda tree, i: jax.tree.map(lambda x: x[i], tree)
  chex.assert_trees_all_equal(mine(state.params, 1), mine(before.params, 0))
  chex.assert_trees_all_equal(mine(state.opt_state, 1), mine(before.opt_state, 0))
  chex.assert_trees_all_equal(mine(state.params, 2), mine(before.params, 2))  # the others stay
  chex.assert_trees_all_equal(mine(state.params, 0), mine(before.params, 0))
  payoff, counts = np.asarray(state.payoff), np.asarray(state.counts)
  old_payoff, old_counts = np.asarray(before.payoff), np.asarray(before.counts)
  # Its row and column start at the learner's, as a free slot's would; nothing counted yet.
  np.testing.assert_array_equal(payoff[1, [0, 2]], old_payoff[0, [0, 2]])
  np.testing.assert_array_equal(payoff[[0, 2], 1], old_payoff[[0, 2], 0])
  assert payoff[1, 1] == 0.0 and not counts[1].any() and not counts[:, 1].any()
  np.testing.assert_array_equal(np.delete(np.delete(counts, 1, 0), 1, 1),
                                np.delete(np.delete(old_counts, 1, 0), 1, 1))
  chex.assert_trees_all_equal(state.training_games, state.counts)  # all of them training games
  baselines = np.asarray(state.baselines).reshape(1, 3, 2)
  old_baselines = np.asarray(before.baselines).reshape(1, 3, 2)
  assert not baselines[0, 1].any()
  np.testing.assert_array_equal(baselines[0, [0, 2]], old_baselines[0, [0, 2]])
  # Then member 2 (born 2), then member 1 again: first in, first out.
  state, _ = update(state)
  state = add(state, 0, replace_oldest=True)
  assert state.born.tolist() == [0, 4, 5]
  state = add(state, 0, replace_oldest=True)
  assert state.born.tolist() == [0, 5, 5]
  assert add._cache_size() == 2  # the calls with replace_oldest, and those without


def test_learners_are_never_replaced():
  config = league_config(when_full="stop")
  config.population.scheme, config.population.num_learners = "self_play", 2
  population = population_lib.Population(Learner(config), capacity=2, num_learners=2)
  state = population.init(0)  # full of learners: nothing to replace
  chex.assert_trees_all_equal(jax.jit(population.add_member)(state, 1, replace_oldest=True),
                              state)


def test_a_league_replaces_its_oldest_snapshots_and_resumes_exactly(tmp_path):
  silent = lambda _: None
  whole = run_lib.train(league_config(), tmp_path / "whole", print_fn=silent)
  # Snapshots at 2 (slot 1), 4 (slot 2), 6 (slot 1 again), 8 (slot 2 again).
  assert np.asarray(whole.born).tolist() == [0, 6, 8]
  # Killed at update 7 (its last checkpoint at 6, after the first replacement) and resumed:
  # the same slot is replaced at 8, and everything ends where the uninterrupted run did.
  run_lib.train(league_config(), tmp_path / "again", stop_after=7, print_fn=silent)
  resumed = run_lib.train(league_config(), tmp_path / "again", print_fn=silent)
  assert np.asarray(resumed.born).tolist() == [0, 6, 8]
  chex.assert_trees_all_equal(jax.tree.leaves(resumed), jax.tree.leaves(whole))  # (env
  #   states hold their game's bound methods: equal games, not the same objects)


@pytest.mark.parametrize("change, message", [
    (dict(when_full="oldest"),
     r"population.when_full must be one of \('stop', 'replace_oldest'\), got 'oldest'"),
    (dict(scheme="self_play"), r"population.when_full 'replace_oldest' replaces the snapshots "
     r"of the schemes fictitious and pfsp .*not of scheme 'self_play' with 1 learner"),
])
def test_a_bad_when_full_is_one_clear_error(change, message):
  config = league_config()
  config.population.update(change)
  with pytest.raises(ConfigError, match=message):
    config_lib.check(config)
