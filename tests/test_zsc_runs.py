"""Zero-shot coordination runs through the experiment binaries, on a tiny Overcooked config:
fictitious co-play's stage 1 (self-play runs side by side with frozen snapshots) and stage 2
(one learner against stage 1's frozen pool), COLE's generations, and cross-play of runs with
held-out partners (`experiments.crossplay`)."""

import csv
import json
import os
import pathlib
import shutil
import subprocess
import sys

import chex
import jax
import numpy as np
import pytest

from experiments import crossplay_lib, evaluate_lib, pool_report_lib, run_lib
from experiments.configs import cole_overcooked, fcp_overcooked, fcp_partners_overcooked
from jaxplay.core.errors import ConfigError
from jaxplay.eval.crossplay import CrossPlay
from jaxplay.io.checkpoints import CheckpointError
from jaxplay.io.metrics import read_metrics
from jaxplay.learn.cole_generations import ColeGenerations
from jaxplay.learn.learner import Learner
from jaxplay.learn.population import Population
from jaxplay import config as config_lib
from jaxplay.learn import partner_pool

UPDATES = 4


def silent(_):
  pass


def tiny(config):
  """A few small updates of the config on an 8-step cramped room."""
  config.game_options.overcooked.horizon = 8
  config.network.hidden = (16, 16)
  config.ppo.num_envs, config.ppo.num_steps = 4, 8
  config.total_env_steps = UPDATES * 4 * 8
  config.run.updates_per_call = config.run.log_every = 1
  config.run.eval_every = config.run.checkpoint_every = 2
  config.eval.num_games = 2
  return config


def stage_one_config(learners=2):
  config = tiny(fcp_partners_overcooked.get_config())
  config.population.num_learners = learners
  config.population.capacity = 3 * learners     # untrained, at update 2, final
  config.population.snapshot_every = config.population.snapshot_start = 2
  return config


def stage_two_config(partners):
  config = tiny(fcp_overcooked.get_config())
  config.population.partners = str(partners)
  return config


@pytest.fixture(scope="module")
def stage_one(tmp_path_factory):
  workdir = tmp_path_factory.mktemp("fcp") / "partners"
  state = run_lib.train(stage_one_config(), workdir, print_fn=silent)
  return workdir, state


@pytest.fixture(scope="module")
def stage_two(stage_one, tmp_path_factory):
  workdir = tmp_path_factory.mktemp("fcp") / "fcp"
  lines = []
  state = run_lib.train(stage_two_config(stage_one[0]), workdir, print_fn=lines.append)
  return workdir, state, lines


def test_stage_one_keeps_start_middle_and_end_of_each_run(stage_one):
  _, state = stage_one
  chex.assert_trees_all_equal(np.asarray(state.live), np.ones(6, bool))
  learner = Learner(config_lib.check(stage_one_config()))
  first = lambda tree: jax.tree.leaves(tree)[0]
  for run in range(2):
    start = learner.init(run).params   # run l starts as `Learner.init(seed + l)`
    # Slots: learners 0, 1; their untrained copies 2, 3; their copies at update 2 in 4, 5.
    chex.assert_trees_all_equal(jax.tree.map(lambda x: x[2 + run], state.params), start)
    assert not np.allclose(first(state.params)[run], first(start))
    assert not np.allclose(first(state.params)[4 + run], first(state.params)[run])


def test_stage_one_runs_on_threads_are_their_seeds_self_play_runs(stage_one):
  """On the CPU ("auto") stage 1's learners are independent programs on threads: each run,
  its middle snapshot and its end, is the self-play run of its seed to the bit."""
  _, state = stage_one
  learner = Learner(config_lib.check(stage_one_config()))
  chunk = jax.jit(learner.train_chunk, static_argnums=1)
  member = lambda slot: jax.tree.map(lambda x: x[slot], state.params)
  for run in range(2):
    middle, _ = chunk(learner.init(run), UPDATES // 2)
    end, _ = chunk(middle, UPDATES // 2)
    chex.assert_trees_all_equal(member(4 + run), middle.params)
    chex.assert_trees_all_equal(member(run), end.params)
    chex.assert_trees_all_equal(state.run_keys[run], end.key)


def test_stage_one_resumes_to_the_same_result(stage_one, tmp_path):
  run_lib.train(stage_one_config(), tmp_path, stop_after=UPDATES // 2, print_fn=silent)
  resumed = run_lib.train(stage_one_config(), tmp_path, print_fn=silent)
  chex.assert_trees_all_equal(resumed, stage_one[1])


def test_stage_two_trains_against_the_frozen_pool_only(stage_one, stage_two):
  _, stage_one_state = stage_one
  workdir, state, lines = stage_two
  assert any("against 6 frozen partners" in line for line in lines)
  pool = lambda tree: jax.tree.map(lambda x: x[1:], tree)
  chex.assert_trees_all_equal(pool(state.params), stage_one_state.params)
  chex.assert_trees_all_equal(np.asarray(state.live), np.ones(7, bool))
  counts = np.asarray(state.counts)
  assert counts[0, 0] == 0 and (counts[0, 1:] > 0).sum() >= 4  # games with partners only
  np.testing.assert_array_equal(np.asarray(state.training_games), counts)  # none measured
  metrics = evaluate_lib.evaluate(workdir, plot="", print_fn=silent)
  assert np.isfinite(metrics["population/partner_return"])
  assert "population/learner_elo" not in metrics   # no Elo in a common-payoff game
  # Fictitious co-play: every game with the pool, its 6 members drawn alike.
  assert metrics["population/pool_share"] == pytest.approx(1.0)
  assert metrics["population/self_play_share"] == 0.0
  assert metrics["population/effective_partners"] == pytest.approx(6.0)


def test_stage_two_loads_without_stage_one(stage_one, stage_two, tmp_path):
  """Evaluating or cross-playing a finished stage-2 run reads its own checkpoint only (it holds
  the partners): stage 1's workdir may be gone."""
  partners, _ = stage_one
  workdir, state, _ = stage_two
  moved = tmp_path / "stage_two"
  shutil.copytree(workdir, moved)
  config = json.loads((moved / "config.json").read_text())
  config["population"]["partners"] = str(tmp_path / "gone")
  (moved / "config.json").write_text(json.dumps(config))
  _, run, restored = evaluate_lib.load_run(moved)
  assert run.num_partners == 6 and run.pool is None
  chex.assert_trees_all_equal(restored.params, state.params)


def test_stage_two_resumes_to_the_same_result(stage_one, tmp_path):
  partners, _ = stage_one
  config = stage_two_config(partners)
  whole = run_lib.train(config, tmp_path / "whole", print_fn=silent)
  run_lib.train(config, tmp_path / "resumed", stop_after=2, print_fn=silent)
  resumed = run_lib.train(config, tmp_path / "resumed", print_fn=silent)
  chex.assert_trees_all_close(resumed.params, whole.params)


def test_a_config_is_built_once_and_a_retrained_pool_is_read_again(stage_one, tmp_path):
  """`run_lib.built_run` keeps a config's learner and run (their compiled programs): the same
  config gets the same ones, another config new ones, and so does a stage 2 whose pool's
  checkpoints changed on disk (stage 1 trained again there)."""
  copy = tmp_path / "partners"
  shutil.copytree(stage_one[0], copy)
  config = stage_two_config(copy)
  learner, run = run_lib.built_run(config)
  assert run_lib.built_run(stage_two_config(copy)) == (learner, run)
  other = stage_two_config(copy)
  other.ppo.learning_rate /= 2
  assert run_lib.built_run(other)[1] is not run
  step = max((copy / "checkpoints").iterdir(), key=lambda path: path.stat().st_mtime_ns)
  os.utime(step, ns=(0, 0))   # as if written again
  again = run_lib.built_run(config)[1]
  assert again is not run and again.pool.workdirs == (copy,)


def test_stage_two_refuses_a_missing_pool(tmp_path):
  with pytest.raises(ConfigError, match="holds no run .no config.json.; run stage 1 there"):
    run_lib.train(stage_two_config(tmp_path / "nowhere"), tmp_path / "fcp", print_fn=silent)
  assert not (tmp_path / "fcp").exists()


def test_stage_two_refuses_a_pool_of_other_networks(stage_one, tmp_path):
  config = stage_two_config(stage_one[0])
  config.network.hidden = (8, 8)      # narrower than the pool's (16, 16): wider ones play it
  with pytest.raises(ConfigError, match=r"network.hidden: \[16, 16\] -> \[8, 8\]"):
    run_lib.train(config, tmp_path / "fcp", print_fn=silent)
  config.network.hidden = (32,)
  with pytest.raises(ConfigError, match=r"network.hidden: \[16, 16\] -> \[32\]"):
    run_lib.train(config, tmp_path / "fcp", print_fn=silent)
  config = stage_two_config(stage_one[0])
  config.game_options.overcooked.layout = "counter_circuit"
  with pytest.raises(ConfigError, match="game_options.overcooked.layout: 'cramped_room' -> "
                                        "'counter_circuit'"):
    run_lib.train(config, tmp_path / "fcp", print_fn=silent)


def test_stage_two_refuses_an_unfinished_pool(tmp_path):
  run_lib.train(stage_one_config(), tmp_path / "partners", stop_after=2, print_fn=silent)
  with pytest.raises(ConfigError, match="is not finished .its last checkpoint is at update 2 "
                                        "of 4."):
    run_lib.train(stage_two_config(tmp_path / "partners"), tmp_path / "fcp", print_fn=silent)


def test_bad_fcp_configs_raise_one_clear_error():
  config = tiny(fcp_overcooked.get_config())   # no partners named
  with pytest.raises(ConfigError, match="population.scheme 'fcp' trains against a frozen pool: "
                                        "set population.partners"):
    config_lib.check(config)
  config = tiny(fcp_partners_overcooked.get_config())
  config.population.capacity = 3
  with pytest.raises(ConfigError, match=r"population.capacity \(3\) must hold the 8 learners"):
    config_lib.check(config)


def test_several_learners_are_self_play_only():
  config = tiny(fcp_partners_overcooked.get_config())
  config.population.scheme = "pfsp"
  with pytest.raises(ConfigError, match="num_learners > 1 runs self-play side by side"):
    config_lib.check(config)


def test_cole_runs_generations_that_join_and_resume(tmp_path):
  config = tiny(cole_overcooked.get_config())
  config.population.capacity = 3
  config.population.snapshot_every = 1   # a generation an update: joins at updates 1, 2, 3
  config.population.cole_games = 2
  whole = run_lib.train(config, tmp_path / "whole", print_fn=silent)
  # Admitted in the first three generations: slots 1 and 2 fill, then one of the oldest
  # frozen members is replaced (born at the update it joined).
  chex.assert_trees_all_equal(np.asarray(whole.live), np.ones(3, bool))
  born = np.asarray(whole.born)
  assert born[0] == 0 and sorted(born[1:].tolist()) in ([2, 3], [1, 3])
  assert (np.asarray(whole.counts)[0, 1:] > 0).all()
  # The learner's counts hold its generation measurements beside its training games: 2 games
  # (cole_games) with each member at the end of every generation (update) since it joined.
  trained, counts = np.asarray(whole.training_games), np.asarray(whole.counts)
  np.testing.assert_array_equal(counts[0] - trained[0], 2.0 * (UPDATES - born))
  assert trained[0].sum() > 0
  run_lib.train(config, tmp_path / "resumed", stop_after=2, print_fn=silent)
  resumed = run_lib.train(config, tmp_path / "resumed", print_fn=silent)
  chex.assert_trees_all_close(resumed.params, whole.params)
  chex.assert_trees_all_equal(resumed.born, whole.born)


def test_cole_with_two_learners_keeps_both_lineages(tmp_path):
  config = tiny(cole_overcooked.get_config())
  config.population.num_learners, config.population.capacity = 2, 5
  config.population.snapshot_every = 1   # admitted in the first three generations
  config.population.cole_games = 2
  state = run_lib.train(config, tmp_path / "cole2", print_fn=silent)
  chex.assert_trees_all_equal(np.asarray(state.learners), np.array([0, 1]))
  chex.assert_trees_all_equal(np.asarray(state.live), np.ones(5, bool))
  # Update 1: both copies join (slots 2, 3); update 2: learner 0's takes the last free slot,
  # learner 1's one of the oldest frozen members; update 3 replaces two more. The learners
  # are never replaced, and were measured with each other and every frozen member.
  born = np.asarray(state.born)
  assert born[0] == born[1] == 0 and (born[2:] >= 1).all() and (born[2:] == 3).sum() == 2
  counts = np.asarray(state.counts)
  assert (counts[:2] > 0).all() and (counts[:, :2] > 0).all()
  # Two lineages: the learners are two seeds' networks.
  first = lambda tree: np.asarray(jax.tree.leaves(tree)[0])
  params = first(state.params)
  assert not np.allclose(params[0], params[1])


def cole_from_pool_config(partners, capacity=8):
  config = tiny(cole_overcooked.get_config())
  config.population.partners = str(partners)
  config.population.capacity = capacity
  config.population.snapshot_every = 1   # a generation an update: joins at updates 1, 2, 3
  config.population.cole_games = 2
  return config


def test_cole_starts_from_a_stage_one_pool_and_resumes(stage_one, tmp_path):
  """COLE with `population.partners`: stage 1's six members are its first frozen members
  (slots 1 .. 6, born 0), their cross-play with each other measured before the first
  generation; the learner's copies join beside them, the third (the population full) in the
  slot of one of the oldest, a pool member."""
  _, stage_one_state = stage_one
  config = cole_from_pool_config(stage_one[0])
  lines = []
  whole = run_lib.train(config, tmp_path / "whole", print_fn=lines.append)
  assert any("COLE generations of 1 updates, up to 8 members, the first 6 frozen ones from"
             in line for line in lines)
  learner, run = run_lib.built_run(config)
  start = run.init(config.seed)
  chex.assert_trees_all_equal(jax.tree.map(lambda x: x[1:7], start.params),
                              stage_one_state.params)
  chex.assert_trees_all_equal(np.asarray(start.live), np.arange(8) < 7)
  counts = np.asarray(start.counts)
  assert (counts[1:7, 1:7] == 4).all() and counts[0].sum() == counts[:, 0].sum() == 0
  chex.assert_trees_all_equal(np.asarray(whole.live), np.ones(8, bool))
  # Update 1's copy takes the free slot 7; updates 2 and 3 each replace one of the frozen
  # members at random (the 10 oldest: all of them), a pool member or an earlier copy.
  born = np.asarray(whole.born)
  assert born[0] == 0 and born[7] >= 1 and 3 in born and born.max() == 3
  kept = 1 + np.flatnonzero(born[1:7] == 0)
  assert len(kept) >= 4 and len(kept) + (born > 0).sum() == 7
  chex.assert_trees_all_equal(jax.tree.map(lambda x: x[kept], whole.params),
                              jax.tree.map(lambda x: x[kept - 1], stage_one_state.params))
  run_lib.train(config, tmp_path / "resumed", stop_after=2, print_fn=silent)
  resumed = run_lib.train(config, tmp_path / "resumed", print_fn=silent)
  chex.assert_trees_all_close(resumed.params, whole.params)
  chex.assert_trees_all_equal(resumed.born, whole.born)
  # Evaluated from its own checkpoint alone: stage 1's workdir may be gone.
  saved = json.loads((tmp_path / "whole" / "config.json").read_text())
  saved["population"]["partners"] = str(tmp_path / "gone")
  (tmp_path / "whole" / "config.json").write_text(json.dumps(saved))
  _, run, restored = evaluate_lib.load_run(tmp_path / "whole")
  assert run.pool is None
  chex.assert_trees_all_equal(restored.params, whole.params)


def test_cole_can_keep_the_pool_it_starts_from(stage_one, tmp_path):
  """With `cole_keep_partners` the pool's members are never replaced: once the population is
  full, the copies of updates 2 and 3 take the slot of the only other frozen member, update
  1's copy. (Half the partners drawn uniformly here: the option reaches the run.)"""
  config = cole_from_pool_config(stage_one[0])
  config.population.cole_keep_partners = True
  config.population.cole_uniform = 0.5
  config.population.cole_visits = "generation"
  lines = []
  state = run_lib.train(config, tmp_path / "kept", print_fn=lines.append)
  assert any("members, 50% of the partners drawn uniformly from the members, visits counted a "
             "generation, the first 6 frozen ones from" in line
             and line.endswith(", never replaced") for line in lines)
  chex.assert_trees_all_equal(np.asarray(state.born), np.array([0, 0, 0, 0, 0, 0, 0, 3]))
  chex.assert_trees_all_equal(jax.tree.map(lambda x: x[1:7], state.params),
                              stage_one[1].params)
  # The last evaluation's spread: half the games in self-play (the config's share); of the
  # rest, half uniform over the 7 others, so the pool's 6 get at least 0.5 x 0.5 x 6 / 7.
  rows = [json.loads(line) for line in (tmp_path / "kept" / "metrics.jsonl").open()]
  last = [row for row in rows if "population/pool_share" in row][-1]
  assert last["population/self_play_share"] == pytest.approx(0.5)
  assert 0.5 * 0.5 * 6 / 7 - 1e-6 <= last["population/pool_share"] <= 0.5 + 1e-6
  assert 1.0 < last["population/effective_partners"] <= 7.0 + 1e-4
  # The learner's mean return with the pool it keeps (slots 1-6), as FCP's with its partners.
  played = np.asarray(state.training_games)[0, 1:7] > 0   # counts: zeroed a generation
  assert played.any() and last["population/partner_return"] == pytest.approx(
      float(np.asarray(state.payoff)[0, 1:7][played].mean()))


def test_cole_measures_the_pools_cross_play_into_its_graph(monkeypatch):
  """`ColeGenerations.measure_frozen` sets the payoffs among the given slots to their
  cross-play, i's with j and j's with i averaged, and leaves the other entries."""
  config = tiny(cole_overcooked.get_config())
  learner = Learner(config_lib.check(config))
  population = Population(learner, 4, "cole", self_play=0.5)
  generations = ColeGenerations(population, generation_updates=1, num_games=2)
  measured = np.array([[1, 2, 3], [4, 5, 6], [7, 8, 9]], np.float32)

  def fake_cross_play(env, learner, agents, key, *, partners, num_games):
    assert num_games == 2 and jax.tree.leaves(agents)[0].shape[0] == 3
    return CrossPlay(returns=measured, returns_by_seat=None, game_returns=None)

  monkeypatch.setattr("jaxplay.learn.cole_generations.cross_play", fake_cross_play)
  state = population.init(0)
  state = state.replace(payoff=state.payoff.at[0].set(-1.0))
  after = generations.measure_frozen(state, np.array([1, 2, 3]))
  expected = np.full((4, 4), -1.0, np.float32)
  expected[1:, 1:] = (measured + measured.T) / 2
  expected[1:, 0] = 0.0
  np.testing.assert_array_equal(np.asarray(after.payoff), expected)
  np.testing.assert_array_equal(np.asarray(after.counts)[1:, 1:], np.full((3, 3), 4.0))
  assert np.asarray(after.counts)[0].sum() == 0


def test_cole_refuses_a_pool_it_cannot_hold_and_other_schemes_a_pool(stage_one, tmp_path):
  config = cole_from_pool_config(stage_one[0], capacity=6)
  with pytest.raises(ConfigError, match=r"population.capacity \(6\) must hold the 1 learner\(s\) "
                                        r"and the 6 members of population.partners that COLE "
                                        r"starts from: at least 7"):
    run_lib.train(config, tmp_path / "cole", print_fn=silent)
  assert not (tmp_path / "cole").exists()
  config = tiny(cole_overcooked.get_config())
  config.population.scheme = "pfsp"
  config.population.partners = str(stage_one[0])
  with pytest.raises(ConfigError, match="population.partners .* is a pool of frozen partners "
                                        "for the schemes 'fcp' and 'cole', not 'pfsp'"):
    config_lib.check(config)
  config = tiny(cole_overcooked.get_config())
  config.population.cole_keep_partners = True
  with pytest.raises(ConfigError, match="population.cole_keep_partners keeps the members of "
                                        "the pool COLE starts from: it needs"):
    config_lib.check(config)
  config = tiny(cole_overcooked.get_config())
  config.population.scheme = "pfsp"
  config.population.cole_uniform = 0.5
  with pytest.raises(ConfigError, match=r"population.cole_uniform \(0.5\) mixes uniform draws "
                                        "into COLE's partner priority: it needs the scheme "
                                        "'cole', got 'pfsp'"):
    config_lib.check(config)
  config.population.cole_uniform = 1.5
  with pytest.raises(ConfigError, match=r"population.cole_uniform must be .*1.5"):
    config_lib.check(config)


def test_cole_judges_each_learner_among_the_frozen_members():
  # Slots 0, 1 learners, 2, 3 frozen (born 9 and 8), generation 10, a join one generation
  # ago: only the admission rule admits. Every member's best partner is learner 1; without
  # it, members 2 and 3 prefer learner 0. Judged among the frozen members and itself,
  # learner 0 is the most preferred and joins; counted as a member, learner 1 (born 0, the
  # oldest) would be the most preferred and learner 0 would not join.
  config = tiny(cole_overcooked.get_config())
  config.population.num_learners, config.population.capacity = 2, 4
  learner = Learner(config_lib.check(config))
  population = Population(learner, 4, "cole", num_learners=2, self_play=0.5)
  state = population.init(0)
  payoff = np.array([[1, 20, 10, 10], [20, 1, 20, 20], [10, 20, 1, 1], [10, 20, 1, 1]],
                    np.float32)
  state = state.replace(live=np.ones(4, bool), born=np.array([0, 0, 9, 8], np.int32),
                        update=np.int32(10), payoff=payoff)
  generations = ColeGenerations(population, generation_updates=1)
  after, joined = jax.jit(generations.admit_and_join)(state, jax.random.key(0))
  assert bool(joined[0])
  # Learner 1, among 2, 3 and itself, is the most preferred too: both join, into the two
  # frozen slots (the learners stay).
  assert bool(joined[1])
  chex.assert_trees_all_equal(np.sort(np.asarray(after.born)[2:]), np.array([10, 10]))
  chex.assert_trees_all_equal(np.asarray(after.learners), np.array([0, 1]))


def test_cole_can_count_visits_a_generation():
  """With visits="generation" a generation's end forgets the learners' game counts (rows
  and columns), so the next generation's UCB bonus counts its own games, as COLE-Platform
  counts its draws afresh each iteration; the counts among frozen members stay."""
  config = tiny(cole_overcooked.get_config())
  config.population.num_learners, config.population.capacity = 2, 4
  learner = Learner(config_lib.check(config))
  population = Population(learner, 4, "cole", num_learners=2, self_play=0.5)
  counts = np.arange(16, dtype=np.float32).reshape(4, 4) + 1
  state = population.init(0).replace(counts=counts)
  forgot = ColeGenerations(population, 1, visits="generation").forget_visits(state)
  expected = np.zeros((4, 4), np.float32)
  expected[2:, 2:] = counts[2:, 2:]
  np.testing.assert_array_equal(np.asarray(forgot.counts), expected)
  np.testing.assert_array_equal(np.asarray(forgot.payoff), np.asarray(state.payoff))
  with pytest.raises(ConfigError, match="cole: visits must be one of run, generation"):
    ColeGenerations(population, 1, visits="iteration")
  config.population.cole_visits = "iteration"
  with pytest.raises(ConfigError, match="population.cole_visits"):
    config_lib.check(config)
  config = tiny(fcp_partners_overcooked.get_config())
  config.population.cole_visits = "generation"
  with pytest.raises(ConfigError, match="needs the scheme 'cole'"):
    config_lib.check(config)


def test_a_generations_end_forgets_visits_only_when_asked(monkeypatch):
  """`end_generation` measures (the learner's counts grow by the games) and, with
  visits="generation" only, then forgets the learner's counts."""
  config = tiny(cole_overcooked.get_config())
  learner = Learner(config_lib.check(config))
  population = Population(learner, 3, "cole", self_play=0.5)

  def fake_cross_play(env, learner, agents, key, *, partners, num_games):
    return CrossPlay(returns=np.ones((1, 3), np.float32), returns_by_seat=None,
                     game_returns=None)

  monkeypatch.setattr("jaxplay.learn.cole_generations.cross_play", fake_cross_play)
  state = population.init(0)
  state = state.replace(live=jax.numpy.array([True, True, False]), update=jax.numpy.int32(7),
                        counts=jax.numpy.full((3, 3), 5.0), born=jax.numpy.array([0, 1, 0]),
                        training_games=jax.numpy.full((3, 3), 3.0))
  ended = lambda visits: ColeGenerations(population, 1, num_games=2, visits=visits
                                         ).end_generation(state)[0]
  # Slot 2 was free: a copy joining there starts with no games; the live ones grow by 2.
  np.testing.assert_array_equal(np.asarray(ended("run").counts)[0, :2], np.full(2, 7.0))
  forgot = np.asarray(ended("generation").counts)
  np.testing.assert_array_equal(forgot[0], np.zeros(3))
  np.testing.assert_array_equal(forgot[:, 0], np.zeros(3))
  # The measurement's games are not training games, and forgetting visits keeps those; the
  # copy in slot 2 starts with none.
  trained = np.full((3, 3), 3.0, np.float32)
  trained[2] = trained[:, 2] = 0.0
  for visits in ("run", "generation"):
    np.testing.assert_array_equal(np.asarray(ended(visits).training_games), trained)


def test_cole_needs_a_common_payoff_game():
  config = config_lib.defaults()   # kuhn_poker
  config.population.scheme = "cole"
  with pytest.raises(ConfigError, match="population.scheme 'cole' trains one common-payoff"):
    config_lib.check(config)
  config = tiny(cole_overcooked.get_config())
  config.population.cole_games = 3
  with pytest.raises(ConfigError, match="population.cole_games"):
    config_lib.check(config)


def test_cross_play_of_runs_with_held_out_and_scripted_partners(stage_one, stage_two, tmp_path):
  partners, stage_one_state = stage_one
  matrix = crossplay_lib.cross_play_runs(
      {"fcp": stage_two[0], "sp": partners}, heldout=partners, scripted=("static", "random"),
      num_games=2, bounds={"static": stage_two[0]})
  assert matrix.agents == ["fcp", "sp/0", "sp/1", "br:static"]
  assert matrix.partners == ["heldout/0", "heldout/1", "static", "random"]
  chex.assert_shape(matrix.returns, (4, 4))
  assert matrix.bound[2] == matrix.returns[3, 2] and np.isnan(matrix.bound[[0, 1, 3]]).all()
  paths = crossplay_lib.write(matrix, tmp_path / "out")
  # These tiny runs deliver nothing, so the bound is under one soup: no ratio heatmap.
  assert matrix.bound[2] < crossplay_lib.MIN_BOUND
  assert [p.name for p in paths] == ["table.txt", "crossplay.csv", "crossplay.png"]
  rows = list(csv.reader(paths[1].open()))
  assert rows[0] == ["agent", *matrix.partners] and [r[0] for r in rows[1:]] == [
      *matrix.agents, "bound"]
  text = paths[0].read_text()
  assert "no return / bound table" in text and "\nsp (2 agents): mean return " in text
  # The bound measured here, read back from the CSV, scores the same agents again without
  # the best-response run (the same shapes as above: no new compilation).
  recorded = crossplay_lib.read_bounds(paths[1])
  assert list(recorded) == ["static"]
  # With each partner's return with itself (its own key: the agents' games unchanged) and
  # the best-known rule: the bound is the larger of the recorded one and that.
  again = crossplay_lib.cross_play_runs(
      {"fcp": stage_two[0], "sp": partners, "again": stage_two[0]}, heldout=partners,
      scripted=("static", "random"), num_games=2, recorded=recorded, bound_rule="best_known")
  np.testing.assert_array_equal(again.returns[:3], matrix.returns[:3])
  chex.assert_shape(again.partner_self, (4,))
  np.testing.assert_array_equal(again.bound[2], max(matrix.bound[2], again.partner_self[2]))
  assert np.isnan(again.bound[[0, 1, 3]]).all()
  assert "\npartner with itself: heldout/0=" in crossplay_lib.table(again)
  with pytest.raises(ConfigError, match="unknown bound rule 'best'"):
    crossplay_lib.cross_play_runs({"fcp": stage_two[0]}, heldout=partners, bound_rule="best")
  with pytest.raises(ConfigError, match="both a best-response run and a recorded bound"):
    crossplay_lib.cross_play_runs({"fcp": stage_two[0]}, heldout=partners, recorded=recorded,
                                  bounds={"static": stage_two[0]})
  with pytest.raises(ConfigError, match="none of them among the partners"):
    crossplay_lib.cross_play_runs({"fcp": stage_two[0]}, heldout=partners, recorded=recorded)
  with pytest.raises(ConfigError, match="no recorded cross-play CSV"):
    crossplay_lib.read_bounds(tmp_path / "missing.csv")
  (tmp_path / "other.csv").write_text("agent,static\nfcp,1.0\n")
  with pytest.raises(ConfigError, match="not a cross-play CSV with one bound row"):
    crossplay_lib.read_bounds(tmp_path / "other.csv")
  crossplay_lib.log_to_workdirs(matrix)
  logged = [json.loads(line) for line in (stage_two[0] / "metrics.jsonl").open()]
  assert logged[-1]["crossplay/static"] == pytest.approx(float(matrix.returns[0, 2]))
  assert "sp/1/crossplay/heldout/0" in [json.loads(line) for line in
                                        (partners / "metrics.jsonl").open()][-1]


def test_cross_play_scores_a_run_at_an_earlier_checkpoint(stage_one, stage_two, tmp_path):
  """`workdir@update` plays the run's checkpoint at that update; its row is logged at that
  update after the run's later rows, which all stay."""
  workdir = tmp_path / "fcp"
  shutil.copytree(stage_two[0], workdir)   # its metrics are written below
  learner_params = lambda step: evaluate_lib.load_run(workdir, step)[2].params
  _, early, names, update = crossplay_lib.learned_networks(f"{workdir}@2", "fcp")
  assert (names, update) == (["fcp"], 2)
  chex.assert_trees_all_equal(early, jax.tree.map(lambda x: x[:1], learner_params(2)))
  assert not np.allclose(jax.tree.leaves(early)[0], jax.tree.leaves(learner_params(4))[0][:1])
  before = read_metrics(workdir)
  matrix = crossplay_lib.cross_play_runs(
      {"early": f"{workdir}@2", "late": workdir, "sp": stage_one[0]}, heldout=stage_one[0],
      scripted=("static", "random"), num_games=2)
  assert matrix.updates == [2, UPDATES, UPDATES, UPDATES]
  assert matrix.workdirs[:2] == [workdir, workdir]
  crossplay_lib.log_to_workdirs(matrix)
  after = read_metrics(workdir)
  assert [row["step"] for row in after] == [row["step"] for row in before] + [2, UPDATES]
  assert after[-2]["crossplay/static"] == pytest.approx(float(matrix.returns[0, 2]))
  assert after[: len(before)] == before
  assert crossplay_lib.checkpoint_of("/runs/a@b/fcp") == (pathlib.Path("/runs/a@b/fcp"), None)
  with pytest.raises(ConfigError, match="workdir@update with the update of one of its"):
    crossplay_lib.learned_networks(f"{workdir}@two", "fcp")
  with pytest.raises(CheckpointError, match="no checkpoint at step 3"):
    crossplay_lib.learned_networks(f"{workdir}@3", "fcp")


def test_returns_over_bounds_leave_out_bounds_below_one_soup(tmp_path):
  """A best response that averages under one soup (a random partner's 0.9) is no bound: left
  out of the table's ratios, the heatmap and the mean over bounds, as a partner without one."""
  matrix = crossplay_lib.Matrix(
      returns=np.array([[10.0, 1.8, 40.0], [5.0, 0.9, 20.0]], np.float32),
      bound=np.array([20.0, 0.9, np.nan], np.float32), agents=["a", "br:b"],
      partners=["a_partner", "b", "c"], workdirs=[tmp_path, tmp_path], updates=[0, 0])
  assert crossplay_lib.metrics_of(matrix, 0)["crossplay/normalized_mean"] == pytest.approx(0.5)
  text = crossplay_lib.table(matrix)
  assert text.splitlines()[-2].split()[1:] == ["0.50", "nan", "nan", "0.50"]
  # No bound reaches one soup: no ratios anywhere, said once, not an all-NaN table.
  weak = matrix._replace(bound=np.array([5.0, 0.9, np.nan], np.float32))
  assert "crossplay/normalized_mean" not in crossplay_lib.metrics_of(weak, 0)
  text = crossplay_lib.table(weak)
  assert "no return / bound table" in text and "return / bound:" not in text
  names = [p.name for p in crossplay_lib.write(weak, tmp_path / "weak")]
  assert names == ["table.txt", "crossplay.csv", "crossplay.png"]
  assert "crossplay_normalized.png" in [p.name for p in crossplay_lib.write(matrix, tmp_path)]


def test_best_known_bounds_and_a_written_table_scored_again(tmp_path):
  """`with_bound_rule("best_known")` raises each bound to the partner's return with itself
  (partners without a bound keep none); a written table reads back (returns, bound,
  partner_self and standard errors, to the CSV's 4 decimals), and `rebound` / `--rescore`
  score it again with another CSV's bounds, no game played."""
  matrix = crossplay_lib.Matrix(
      returns=np.array([[10.0, 30.0, 5.0], [20.0, 60.0, 5.0]], np.float32),
      bound=np.array([40.0, 50.0, np.nan], np.float32), agents=["a", "b"],
      partners=["p", "q", "r"], workdirs=[tmp_path] * 2, updates=[0, 0],
      stderr=np.array([[4.0, 3.0, 12.0], [0.0, 0.0, 0.0]], np.float32),
      partner_self=np.array([20.0, 100.0, 7.0], np.float32))
  assert crossplay_lib.with_bound_rule(matrix, "best_response") is matrix
  known = crossplay_lib.with_bound_rule(matrix, "best_known")
  np.testing.assert_array_equal(known.bound, [40.0, 100.0, np.nan])
  np.testing.assert_allclose(crossplay_lib.row_means(known)["over_bound"], [0.275, 0.55])
  with pytest.raises(ConfigError, match="needs each partner's return with itself"):
    crossplay_lib.with_bound_rule(matrix._replace(partner_self=None), "best_known")
  with pytest.raises(ConfigError, match="unknown bound rule"):
    crossplay_lib.with_bound_rule(matrix, "oracle")

  paths = crossplay_lib.write(matrix, tmp_path / "table")
  rows = list(csv.reader(paths[1].open()))
  assert [r[0] for r in rows] == ["agent", "a", "b", "bound", "partner_self"]
  back = crossplay_lib.read_matrix(paths[1])
  for field in ("returns", "bound", "stderr", "partner_self"):
    np.testing.assert_array_equal(getattr(back, field), getattr(matrix, field))
  assert (back.agents, back.partners, back.workdirs) == (matrix.agents, matrix.partners, [])
  other = tmp_path / "bounds.csv"
  other.write_text("agent,q,s\nbound,80.0,9.0\n")
  again = crossplay_lib.rebound(back, crossplay_lib.read_bounds(other))
  np.testing.assert_array_equal(again.bound, [40.0, 80.0, np.nan])
  with pytest.raises(ConfigError, match="none of them among the partners"):
    crossplay_lib.rebound(back, {"s": 9.0})
  (tmp_path / "table" / "crossplay_stderr.csv").write_text("agent,p,q,r\nz,1,1,1\n")
  with pytest.raises(ConfigError, match="does not have the agents and partners"):
    crossplay_lib.read_matrix(paths[1])

  paths[1].with_name("crossplay_stderr.csv").unlink()
  out = tmp_path / "rescored"
  result = subprocess.run(
      [sys.executable, "-m", "experiments.crossplay", f"--rescore={paths[1]}",
       f"--bounds_from={other}", "--bound_rule=best_known", f"--out={out}"],
      capture_output=True, text=True, timeout=300, check=False)
  assert result.returncode == 0, result.stderr[-2000:]
  assert "bound: p=40.0 q=100.0 r=nan" in result.stdout    # max(80 recorded, 100 itself)
  np.testing.assert_array_equal(crossplay_lib.read_matrix(out / "crossplay.csv").bound,
                                [40.0, 100.0, np.nan])
  result = subprocess.run(
      [sys.executable, "-m", "experiments.crossplay", f"--rescore={paths[1]}",
       "--agents=a=nowhere", f"--out={out}"],
      capture_output=True, text=True, timeout=300, check=False)
  assert result.returncode != 0 and "error: --rescore reads a written table" in result.stderr


def test_rows_get_standard_errors_over_games(tmp_path):
  """Each agent's mean return and mean return over bound get a standard error (the pairs'
  errors combined, the bounds exact), in the table, a CSV and the metrics."""
  matrix = crossplay_lib.Matrix(
      returns=np.array([[10.0, 30.0, 5.0], [20.0, 60.0, 5.0]], np.float32),
      bound=np.array([40.0, 60.0, np.nan], np.float32), agents=["a", "b"],
      partners=["p", "q", "r"], workdirs=[tmp_path] * 2, updates=[0, 0],
      stderr=np.array([[4.0, 3.0, 12.0], [0.0, 0.0, 0.0]], np.float32))
  means = crossplay_lib.row_means(matrix)
  np.testing.assert_allclose(means["return"], [15.0, 85.0 / 3])
  np.testing.assert_allclose(means["return_stderr"], [13.0 / 3, 0.0])     # sqrt(16+9+144)/3
  np.testing.assert_allclose(means["over_bound"], [0.375, 0.75])
  # sqrt((4/40)^2 + (3/60)^2) / 2, the unbounded partner r left out as from the mean.
  np.testing.assert_allclose(means["over_bound_stderr"], [np.sqrt(0.01 + 0.0025) / 2, 0.0])
  metrics = crossplay_lib.metrics_of(matrix, 0)
  assert metrics["crossplay/mean_stderr"] == pytest.approx(13.0 / 3)
  assert metrics["crossplay/normalized_mean_stderr"] == pytest.approx(np.sqrt(0.0125) / 2)
  text = crossplay_lib.table(matrix)
  assert "\na  15.0 +- 4.3  0.375 +- 0.056\n" in text + "\n"
  paths = crossplay_lib.write(matrix, tmp_path / "out")
  rows = list(csv.reader((tmp_path / "out" / "crossplay_stderr.csv").open()))
  assert rows == [["agent", "p", "q", "r"], ["a", "4.0000", "3.0000", "12.0000"],
                  ["b", "0.0000", "0.0000", "0.0000"]]
  assert tmp_path / "out" / "crossplay_stderr.csv" in paths
  # Unmeasured (no stderr, or one game a seat: all NaN): no lines, no CSV, no metrics.
  for unmeasured in (matrix._replace(stderr=None),
                     matrix._replace(stderr=np.full((2, 3), np.nan, np.float32))):
    assert "+-" not in crossplay_lib.table(unmeasured)
    assert "crossplay/mean_stderr" not in crossplay_lib.metrics_of(unmeasured, 0)
    names = [p.name for p in crossplay_lib.write(unmeasured, tmp_path / "bare")]
    assert "crossplay_stderr.csv" not in names


def test_groups_of_runs_get_their_mean_and_range(tmp_path):
  """Agents `<group>/<k>` (seeds of one recipe) get a line: the mean and range over them of
  their mean return and of their mean return over bound; best responses are no group."""
  matrix = crossplay_lib.Matrix(
      returns=np.array([[10.0, 30.0], [20.0, 60.0], [0.0, 0.0], [40.0, 40.0], [1.0, 1.0]],
                       np.float32),
      bound=np.array([40.0, 60.0], np.float32),
      agents=["cole/0", "cole/1", "sp", "br:heldout/0", "br:heldout/1"],
      partners=["heldout/0", "heldout/1"], workdirs=[tmp_path] * 5, updates=[0] * 5)
  assert crossplay_lib.groups(matrix) == {"cole": [0, 1]}
  # cole/0: mean 20, (10/40 + 30/60) / 2 = 0.375; cole/1: mean 40, (0.5 + 1) / 2 = 0.75.
  # Standard errors over the two: |20 - 40| / 2 = 10 and |0.375 - 0.75| / 2 = 0.1875.
  line = crossplay_lib.group_table(matrix)
  assert line.startswith("cole (2 agents): mean return 30.00 (20.00 to 40.00, standard error "
                         "10.000), return / bound 0.56 (0.38 to 0.75, standard error 0.18")
  assert float(line.rsplit(" ", 1)[1].rstrip(")")) == pytest.approx(0.1875, abs=6e-4)
  assert crossplay_lib.table(matrix).endswith(crossplay_lib.group_table(matrix))


def test_means_over_held_out_networks_and_scripted_partners_apart(tmp_path):
  """With both kinds of partner, each agent's mean return over bound is also given over the
  held-out networks and over the scripted partners apart (partners without a bound, or of no
  kind, left out), in the table, the groups' lines and the metrics; with one kind, not."""
  matrix = crossplay_lib.Matrix(
      returns=np.array([[40.0, 20.0, 30.0, 10.0, 5.0, 40.0], [20.0, 20.0, 60.0, 20.0, 0.0, 20.0]],
                       np.float32),
      bound=np.array([40.0, 40.0, 60.0, 20.0, 0.5, 40.0], np.float32),
      agents=["fcp/0", "fcp/1"],
      partners=["heldout/0", "heldout/1", "independent_cook", "random", "static", "other"],
      workdirs=[tmp_path] * 2, updates=[0, 0])
  means = crossplay_lib.kind_means(matrix)
  np.testing.assert_allclose(means["held-out networks"], [0.75, 0.5])     # (1 + 0.5) / 2
  np.testing.assert_allclose(means["scripted partners"], [0.5, 1.0])      # static: no bound
  np.testing.assert_allclose(crossplay_lib.row_means(matrix)["over_bound"], [0.7, 0.7])  # and "other"
  text = crossplay_lib.table(matrix)
  assert "\nfcp/0  held-out networks 0.750  scripted partners 0.500\n" in text
  assert "; with the held-out networks: 0.625; with the scripted partners: 0.750" in text
  metrics = crossplay_lib.metrics_of(matrix, 1)
  assert metrics["crossplay/normalized_heldout_networks"] == pytest.approx(0.5)
  assert metrics["crossplay/normalized_scripted_partners"] == pytest.approx(1.0)
  one_kind = matrix._replace(bound=np.array([40.0, 40.0, np.nan, np.nan, np.nan, 40.0],
                                            np.float32))
  assert crossplay_lib.kind_means(one_kind) == {}
  assert "each kind of partner" not in crossplay_lib.table(one_kind)
  assert not any("heldout_networks" in k for k in crossplay_lib.metrics_of(one_kind, 0))


def test_cross_play_refuses_runs_of_other_networks(stage_one, tmp_path):
  config = tiny(fcp_overcooked.get_config())
  config.population.scheme = "self_play"
  config.network.hidden = (8,)        # another depth (a narrower (8, 8) would play padded)
  run_lib.train(config, tmp_path / "other", print_fn=silent)
  with pytest.raises(ConfigError, match=r"trained other networks or games than this config "
                                        r"\(that run -> this one\): network.hidden"):
    crossplay_lib.cross_play_runs({"sp": tmp_path / "other"}, heldout=stage_one[0])


def test_a_wider_stage_two_plays_its_narrower_pool_padded(stage_one, stage_two, tmp_path):
  """A stage 2 of hidden (32, 24) on the (16, 16) pool: the partners are seated padded with
  zero units (`jaxplay.agents.widening`: the same functions), the run trains, and cross-play
  plays it beside the narrower runs (each padded to the widest, in any order)."""
  partners, stage_one_state = stage_one
  config = stage_two_config(partners)
  config.network.hidden = (32, 24)
  state = run_lib.make_run(Learner(config_lib.check(config))).init(0)
  seated = jax.tree.map(lambda x, p: x[1:, :p.shape[1], :p.shape[2]] if x.ndim == 3
                        else x[1:, :p.shape[1]], state.params, stage_one_state.params)
  chex.assert_trees_all_equal(seated, stage_one_state.params)
  kernel = state.params["params"]["actor_1"]["kernel"][1:]       # [6, 32, 24]: rows in, out
  chex.assert_trees_all_equal((kernel[:, 16:], kernel[:, :16, 16:]),
                              (np.zeros((6, 16, 24), np.float32), np.zeros((6, 16, 8), np.float32)))
  config.population.learner_from = 0
  with pytest.raises(ConfigError, match="learner_from: the pool's networks are narrower"):
    run_lib.make_run(Learner(config_lib.check(config))).init(0)
  config.population.learner_from = -1
  run_lib.train(config, tmp_path / "wide", print_fn=silent)
  for agents in [{"wide": tmp_path / "wide", "fcp": stage_two[0]},
                 {"fcp": stage_two[0], "wide": tmp_path / "wide"}]:
    matrix = crossplay_lib.cross_play_runs(agents, heldout=partners, scripted=("static",),
                                           num_games=2)
    assert matrix.agents == list(agents) and matrix.partners == ["heldout/0", "heldout/1",
                                                                  "static"]
    chex.assert_shape(matrix.returns, (2, 3))


def test_crossplay_binary_reports_bad_flags_in_one_line():
  result = subprocess.run([sys.executable, "-m", "experiments.crossplay", "--agents=nowhere"],
                          capture_output=True, text=True, check=False)
  assert result.returncode != 0
  assert "error: --agents takes name=workdir items, got 'nowhere'" in result.stderr


def test_stage_two_can_train_against_chosen_members(stage_one):
  config = stage_two_config(stage_one[0])
  config.population.partner_members = (1, 4)
  pool = partner_pool.load(stage_one[0], config_lib.check(config))
  chex.assert_trees_all_equal(pool.params, jax.tree.map(lambda x: x[np.array([1, 4])],
                                                        stage_one[1].params))
  config.population.partner_members = (1, 9)
  with pytest.raises(ConfigError, match=r"has no members in slots \[9\]"):
    partner_pool.load(stage_one[0], config_lib.check(config))


def test_a_best_response_can_start_as_its_partner(stage_one):
  """`population.learner_from=k`: FCP's learner starts with pool member k's params and magnet
  (a best response from where the partner with itself is), its optimizer state fresh; the
  partners are seated as without it. Out of the pool, or with another scheme: one error."""
  config = stage_two_config(stage_one[0])
  config.population.partner_members = (1, 4)
  fresh = run_lib.make_run(Learner(config_lib.check(config))).init(0)
  config.population.learner_from = 1
  run = run_lib.make_run(Learner(config_lib.check(config)))
  state = run.init(0)
  partner = jax.tree.map(lambda x: x[4], stage_one[1].params)     # pool member 1: slot 4
  for tree in (state.params, state.magnet):
    chex.assert_trees_all_equal(jax.tree.map(lambda x: x[0], tree), partner)
  chex.assert_trees_all_equal(jax.tree.map(lambda x: x[1:], state.params),
                              jax.tree.map(lambda x: x[1:], fresh.params))
  chex.assert_trees_all_equal(state.opt_state, fresh.opt_state)
  config.population.learner_from = 2
  with pytest.raises(ConfigError, match=r"learner_from \(2\) must be a member of the pool of 2"):
    run_lib.make_run(Learner(config_lib.check(config))).init(0)
  config = tiny(cole_overcooked.get_config())
  config.population.learner_from = 0
  with pytest.raises(ConfigError, match="population.learner_from .* needs the scheme 'fcp'"):
    config_lib.check(config)


def test_several_stage_one_runs_make_one_pool(stage_one, tmp_path):
  copy = tmp_path / "partners_copy"   # a second finished stage-1 run (the same one, copied)
  shutil.copytree(stage_one[0], copy)
  config = stage_two_config(f"{stage_one[0]},{copy}")
  pool = partner_pool.load(config.population.partners, config_lib.check(config))
  chex.assert_trees_all_equal(pool.params, jax.tree.map(lambda x: np.concatenate([x, x]),
                                                        stage_one[1].params))
  np.testing.assert_array_equal(pool.members, [0, 1, 2, 3, 4, 5] * 2)
  np.testing.assert_array_equal(pool.runs, [0] * 6 + [1] * 6)
  assert pool.workdirs == (stage_one[0], copy)
  config.population.partner_members = (1, 4)      # these slots of every run
  config = config_lib.check(config)
  pool = partner_pool.load(config.population.partners, config)
  np.testing.assert_array_equal(pool.members, [1, 4, 1, 4])
  np.testing.assert_array_equal(pool.runs, [0, 0, 1, 1])
  with pytest.raises(ConfigError, match="names .*partners more than once"):
    partner_pool.load(f"{stage_one[0]},{copy},{stage_one[0]}", config)
  with pytest.raises(ConfigError, match=f"{tmp_path / 'nowhere'} holds no run"):
    partner_pool.load(f"{stage_one[0]},{tmp_path / 'nowhere'}", config)
  with pytest.raises(ConfigError, match="population.partners names no workdir"):
    partner_pool.load(" , ", config)


def test_evaluate_binary_prints_the_cross_play_table(stage_one, stage_two):
  result = subprocess.run(
      [sys.executable, "-m", "experiments.evaluate", f"--workdir={stage_two[0]}", "--plot=",
       f"--heldout={stage_one[0]}", "--scripted=static", "--num_games=2", "--step=2"],
      capture_output=True, text=True, timeout=600, check=False)
  assert result.returncode == 0, result.stderr[-2000:]
  # The cross-play is of the checkpoint evaluated (update 2), not of the latest.
  table = result.stdout.split("cross-play at update 2 (mean sparse return, both seats):\n")
  table = table[1].splitlines()
  assert table[0].split() == ["agent", "heldout/0", "heldout/1", "static", "mean"]
  assert table[1].split()[:2] == ["this", "run"]


def test_the_recorded_heldout_partners_still_restore():
  """runs/heldout/ was written while env states stored their observation and legal-action
  mask; those leaves are skipped on restore (`population_lib.restore_saved`), every member
  comes back, and both are computed from the restored states."""
  workdir = pathlib.Path(__file__).resolve().parents[1] / "runs" / "heldout" / "cramped_room"
  _, _, state = evaluate_lib.load_run(workdir)
  assert np.asarray(state.live).sum() == 4
  observation = np.asarray(state.env_states[0].observation)
  chex.assert_shape(observation, (64, 2, 20, 24))
  assert observation.any()
  legal = np.asarray(state.env_states[0].legal_action_mask)
  chex.assert_shape(legal, (64, 2, 6))
  assert legal.all()  # Overcooked: every action, in every live game


def test_pool_report_of_a_hand_made_pool():
  """Networks 0 and 1 share a convention, 2 has its own, 3 never delivers with itself."""
  returns = np.array([[200, 150, 40, 0], [130, 200, 20, 0], [40, 20, 100, 0], [0, 0, 0, 5]],
                     np.float32)
  report = pool_report_lib.summarize(returns, ["a", "b", "c", "d"])
  np.testing.assert_array_equal(report.self_play, [200, 200, 100, 5])
  np.testing.assert_allclose(report.with_others, [190 / 3, 50, 20, 0], rtol=1e-6)
  assert report.cross == pytest.approx(400 / 12)
  assert report.compatibility == pytest.approx((400 / 6) / (500 / 3))   # d left out
  assert report.conventions == [[0, 1], [2]] and report.idle == [3]
  text = pool_report_lib.text(report)
  assert "delivering with itself (one soup a game or more): 3 of 4" in text
  assert "conventions (pairs keeping >= 0.5 of their self-play, linked): 2: {a, b} {c}" in text
  assert "no soup with itself: {d}" in text
  # A lower share links c to a (40 >= 0.2 x 100) and so to b: one group.
  assert pool_report_lib.summarize(returns, list("abcd"), share=0.2).conventions == [[0, 1, 2]]
  # Linked through others: a chain a - b - c - d of neighbours that play together is one group.
  chain = np.diag([100.0] * 4) + 60 * (np.eye(4, k=1) + np.eye(4, k=-1))
  assert pool_report_lib.summarize(chain, list("abcd")).conventions == [[0, 1, 2, 3]]
  # Fewer than two delivering networks: no compatibility, written as null.
  lonely = pool_report_lib.summarize(np.diag([100.0, 5.0]), ["a", "b"])
  assert np.isnan(lonely.compatibility) and pool_report_lib.summary(lonely)["compatibility"] is None
  for bad, match in [((np.zeros((2, 3)), ["a", "b"]), "square matrix of at least two"),
                     ((np.zeros((1, 1)), ["a"]), "square matrix of at least two"),
                     ((returns, ["a"]), "1 names for 4 networks")]:
    with pytest.raises(ConfigError, match=match):
      pool_report_lib.summarize(*bad)
  with pytest.raises(ConfigError, match=r"share must be in \(0, 1\], got 0"):
    pool_report_lib.summarize(returns, list("abcd"), share=0)


def test_pool_report_plays_the_stage_one_networks_with_each_other(stage_one, tmp_path):
  """The report's matrix is cross-play of the run's learners against themselves; a merged pool
  names each run's networks; bad pools get one clear error."""
  report = pool_report_lib.pool_report([stage_one[0]], num_games=2)
  matrix = crossplay_lib.cross_play_runs({"sp": stage_one[0]}, heldout=stage_one[0],
                                         num_games=2)
  np.testing.assert_array_equal(report.returns, matrix.returns)
  assert report.names == ["sp/0", "sp/1"] and report.idle == [0, 1]   # tiny runs: no soup
  paths = pool_report_lib.write(report, tmp_path / "report")
  assert [p.name for p in paths] == ["report.txt", "pool_crossplay.csv",
                                     "pool_crossplay_stderr.csv", "summary.json",
                                     "pool_crossplay.png"]
  summary = json.loads(paths[3].read_text())
  assert summary["networks"] == 2 and summary["delivering"] == 0
  assert summary["conventions"] == [] and summary["idle"] == ["sp/0", "sp/1"]
  merged = pool_report_lib.pool_report([stage_one[0], stage_one[0]], num_games=2)
  assert merged.names == ["pool0/0", "pool0/1", "pool1/0", "pool1/1"]
  chex.assert_shape(merged.returns, (4, 4))
  with pytest.raises(ConfigError, match="at least one stage-1 run"):
    pool_report_lib.pool_report([])
  with pytest.raises(ConfigError, match="nowhere"):
    pool_report_lib.pool_report([tmp_path / "nowhere"])
  result = subprocess.run([sys.executable, "-m", "experiments.pool_report", "--pools="],
                          capture_output=True, text=True, check=False)
  assert result.returncode != 0
  assert result.stderr.strip().endswith("error: a pool report needs at least one stage-1 run "
                                        "(--pools=workdir,...)")
