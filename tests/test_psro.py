"""PSRO with the PPO oracle on Kuhn poker (tiny): the populations grow a member a seat an
iteration, the meta-game is exact, the reported exploitability is the aggregated
meta-strategy's (OpenSpiel's for the exported policy), the frozen members play from their
policy tables as their networks would, and the binaries run, resume and evaluate it."""

import re
import subprocess
import sys

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pyspiel
import pytest
from open_spiel.python.algorithms import exploitability as openspiel_exploitability

from experiments import evaluate_lib, run_lib
from jaxplay import config as config_lib
from jaxplay.core.errors import ConfigError
from jaxplay.eval import meta_game
from jaxplay.eval.exploitability import exploitability
from jaxplay.io import openspiel_policy
from jaxplay.io.checkpoints import CheckpointError
from jaxplay.io.metrics import read_metrics
from jaxplay.learn import rollout as rollout_lib
from jaxplay.learn import tabular
from jaxplay.learn.learner import Learner
from jaxplay.learn.psro import PSRO


def kuhn_learner(updates):
  config = config_lib.defaults()
  config.network.kind, config.network.hidden = "mlp", (32,)
  config.ppo.num_envs, config.ppo.num_steps = 64, 4
  config.ppo.learning_rate = 3e-3
  config.ppo.num_epochs, config.ppo.num_minibatches = 2, 2
  config.total_env_steps = 64 * 4 * updates
  return Learner(config)


def test_psro_grows_the_populations_and_reports_the_meta_strategy():
  psro = PSRO(kuhn_learner(updates=9), iterations=3)
  assert psro.updates_per_iteration == 3
  state = psro.init(0)
  reports = []
  for _ in range(3):
    state, report = psro.iteration(state)
    reports.append(report)
  assert [r.iteration for r in reports] == [1, 2, 3]
  assert np.asarray(state.live).reshape(2, -1).sum(1).tolist() == [4, 4]  # 3 frozen + learner
  last = reports[-1]
  assert last.payoff.shape == (3, 3, 2)
  np.testing.assert_allclose(last.payoff[..., 0], -last.payoff[..., 1], atol=1e-12)
  for weights in last.weights:
    assert weights.shape == (3,) and np.isclose(weights.sum(), 1.0) and (weights >= 0).all()
  # The reported number is the exact exploitability of the aggregated meta-strategy.
  tables = psro.member_tables(state)[:, :4]
  tables = [t[:3] for t in tables]  # the members the last report measured
  again = exploitability(psro.tree, meta_game.aggregate_policy(psro.tree, tables,
                                                              list(last.weights)))
  assert last.exploitability == pytest.approx(again.exploitability, abs=1e-9)
  assert 0.0 <= last.exploitability < 0.5
  # Anytime double oracle's least exploitable mixture as the output meta-strategy, Nash's
  # still the one best responses train against: on the same members, no more exploitable.
  anytime = PSRO(psro.learner, iterations=3, meta_rounds=20,
                 output_meta_solver="least_exploitable")
  _, least = anytime.measure(state)
  assert [w.shape for w in least.weights] == [(3,), (3,)]
  for mine, nash in zip(least.opponent_weights, last.weights):
    np.testing.assert_allclose(mine, nash, atol=1e-6)
  assert least.opponent_exploitability == pytest.approx(last.exploitability, abs=1e-6)
  assert least.exploitability <= last.exploitability + 1e-9
  assert least.exploitability == pytest.approx(exploitability(
      psro.tree, meta_game.aggregate_policy(psro.tree, tables, list(least.weights))
  ).exploitability, abs=1e-9)
  # The last learners (member 2 of each seat) trained against the other seat's meta-strategy
  # of the second report; an exact best response to it gains `best_response_gap` over them.
  for seat in range(2):
    against = np.append(reports[1].weights[1 - seat], 0.0)               # over members 0..2
    own = np.eye(3)[2]
    mixture = meta_game.aggregate_policy(psro.tree, tables,
                                         [own, against] if seat == 0 else [against, own])
    best = exploitability(psro.tree, mixture).best_response_values[seat]
    learner = (against @ last.payoff[2, :, 0]) if seat == 0 else (against @ last.payoff[:, 2, 1])
    assert last.best_response_gap[seat] == pytest.approx(best - learner, abs=1e-6)  # float32
    assert last.best_response_gap[seat] >= -1e-9
  # The frozen members play from their tables (`tabular`) as their networks would: a rollout
  # running only the learners' networks takes, with the same keys, the actions of one
  # running every member's network, and records the frozen actors' log-probabilities.
  learner, n = psro.learner, psro.population.capacity
  learners = np.asarray(state.learners)
  assert learners.tolist() == [3, n + 3]
  games = 32
  members = jnp.asarray(np.where(np.arange(games)[:, None] < games // 2,
                                 [[3, n]], [[1, n + 3]]), jnp.int32)   # learner v frozen
  states = jax.tree.map(lambda x: x[:games], state.env_states[0])
  mine = jax.tree.map(lambda x: x[learners], state.params)
  play = jax.jit(lambda params, tables: rollout_lib.rollout(
      learner.games, 0, learner.model, params, states, jax.random.key(3), 8, members=members,
      tables=tables))
  _, with_tables, _, _ = play(mine, psro._opponent_tables(state))
  _, with_networks, _, _ = play(state.params, None)
  np.testing.assert_array_equal(np.asarray(with_tables.action), np.asarray(with_networks.action))
  np.testing.assert_array_equal(np.asarray(with_tables.reward), np.asarray(with_networks.reward))
  frozen = np.isin(np.asarray(with_tables.member), [1, n]) & np.asarray(with_tables.acted)
  assert frozen.sum() > 50
  np.testing.assert_allclose(np.asarray(with_tables.log_prob)[frozen],
                             np.asarray(with_networks.log_prob)[frozen], atol=1e-5)
  learning = np.isin(np.asarray(with_tables.member), learners)
  np.testing.assert_allclose(np.asarray(with_tables.value)[learning],
                             np.asarray(with_networks.value)[learning], atol=1e-6)


def test_bad_psro_settings_are_one_clear_error():
  learner = kuhn_learner(updates=2)
  with pytest.raises(ConfigError, match="iterations must be in 1..2"):
    PSRO(learner, iterations=3)
  with pytest.raises(ConfigError, match="meta_solver must be one of"):
    PSRO(learner, iterations=1, meta_solver="alpharank")
  with pytest.raises(ConfigError, match="output_meta_solver must be one of"):
    PSRO(learner, iterations=1, output_meta_solver="best")


def psro_config(iterations=3, updates=6):
  config = config_lib.defaults()
  config.network.kind, config.network.hidden = "mlp", (16,)
  config.ppo.num_envs, config.ppo.num_steps = 32, 4
  config.ppo.num_epochs, config.ppo.num_minibatches = 1, 2
  config.total_env_steps = 32 * 4 * updates
  config.population.scheme, config.population.iterations = "psro", iterations
  # Best responses train against Nash; the output is the least exploitable mixture.
  config.population.output_meta_solver = "least_exploitable"
  return config


@pytest.fixture(scope="module")
def psro_run(tmp_path_factory):
  workdir = tmp_path_factory.mktemp("psro")
  lines = []
  state = run_lib.train(psro_config(), workdir, print_fn=lines.append)
  return workdir, state, lines


def test_the_train_binary_runs_psro_with_metrics_and_checkpoints(psro_run):
  workdir, state, lines = psro_run
  assert lines[0].startswith("training PSRO on kuhn_poker")
  assert [line.split(" |")[0] for line in lines[1:]] == [
      "iteration 1/3", "iteration 2/3", "iteration 3/3"]
  rows = read_metrics(workdir)
  assert [r["iteration"] for r in rows] == [1, 2, 3]
  assert [r["step"] for r in rows] == [2, 4, 6]
  assert all(0 <= r["kuhn_poker/exploitability"] < 1 for r in rows)
  # The output is no more exploitable than the Nash meta-strategy of the same members.
  assert all(r["kuhn_poker/exploitability"] <= r["kuhn_poker/training_meta_exploitability"]
             + 1e-9 for r in rows)
  assert "(training meta-strategy " in lines[1]
  assert sorted(int(p.name) for p in (workdir / "checkpoints").iterdir()) == [2, 4, 6]
  assert np.asarray(state.live).reshape(2, -1).sum(1).tolist() == [4, 4]


def test_a_killed_psro_run_resumes_to_the_same_result(psro_run, tmp_path):
  _, uninterrupted, _ = psro_run
  run_lib.train(psro_config(), tmp_path, stop_after=3, print_fn=lambda _: None)  # 2 iterations
  lines = []
  resumed = run_lib.train(psro_config(), tmp_path, print_fn=lines.append)
  assert lines[0].startswith("resuming PSRO on kuhn_poker") and "iteration 2/3" in lines[0]
  chex.assert_trees_all_equal(resumed.params, uninterrupted.params)
  assert [r["iteration"] for r in read_metrics(tmp_path)] == [1, 2, 3]
  with pytest.raises(CheckpointError, match=r"population.iterations: 3 -> 2"):
    run_lib.train(psro_config(iterations=2), tmp_path, print_fn=lambda _: None)


def test_evaluate_measures_and_exports_the_meta_strategy(psro_run, tmp_path):
  workdir, _, _ = psro_run
  lines = []
  path = tmp_path / "meta.json"
  metrics = evaluate_lib.evaluate(workdir, plot=str(tmp_path / "c.png"),
                                  export_openspiel_policy=str(path), print_fn=lines.append)
  assert any(line.startswith("meta-strategy of seat 0") for line in lines)
  last = read_metrics(workdir)[-1]
  for metric in ["exploitability", "training_meta_exploitability"]:
    assert metrics[f"kuhn_poker/{metric}"] == pytest.approx(last[f"kuhn_poker/{metric}"],
                                                           abs=1e-9)
  game = pyspiel.load_game("kuhn_poker")
  theirs = openspiel_exploitability.exploitability(game, openspiel_policy.to_tabular_policy(
      str(path)))
  assert theirs == pytest.approx(metrics["kuhn_poker/exploitability"], abs=1e-6)
  # Scored with the training meta-solver (Nash) as the output: what the run measured beside.
  nash = evaluate_lib.evaluate(workdir, plot="", meta_solver="nash", print_fn=lambda _: None)
  assert nash["kuhn_poker/exploitability"] == pytest.approx(
      last["kuhn_poker/training_meta_exploitability"], abs=1e-9)
  assert "kuhn_poker/training_meta_exploitability" not in nash
  with pytest.raises(ConfigError, match="output_meta_solver must be one of"):
    evaluate_lib.evaluate(workdir, plot="", meta_solver="alpharank", print_fn=lambda _: None)


def test_the_exact_psro_benchmark_draws_a_runs_curve_beside_its_own(psro_run, tmp_path):
  workdir, _, _ = psro_run
  result = subprocess.run(
      [sys.executable, "-m", "benchmarks.psro_exact", "--games=kuhn_poker", "--iterations=3",
       "--checkpoints=1,3", f"--plot={tmp_path}", f"--ppo_workdirs={workdir}"],
      capture_output=True, text=True, timeout=600, check=False)
  assert result.returncode == 0, result.stderr[-2000:]
  rows = [line.split("|")[1].strip() for line in result.stdout.splitlines()
          if line.startswith("| ") and not line.startswith("| n ")]
  assert rows == ["1", "3"], result.stdout   # the iterations asked for, in order
  assert (tmp_path / "psro_kuhn_poker.png").read_bytes()[:4] == b"\x89PNG"


def test_the_oracle_benchmark_trains_best_responses_against_a_runs_meta_strategy(psro_run):
  workdir, _, _ = psro_run
  command = [sys.executable, "-m", "benchmarks.psro_oracle", f"--workdir={workdir}"]
  # A changed network (a separate critic): the frozen members keep their policies, so the
  # meta-strategy is the one the run measured after its second iteration (step 4).
  result = subprocess.run(command + ["--step=4", "--updates=2", "--every=1", "--top=3",
                                     "--set=ppo.num_envs=32", "--set=ppo.entropy_coef=0.1",
                                     "--set=network.separate_critic=True"],
                          capture_output=True, text=True, timeout=600, check=False)
  assert result.returncode == 0, result.stderr[-2000:]
  measured = float(re.search(r"\(exploitability ([-\d.e]+)\)", result.stdout).group(1))
  np.testing.assert_allclose(measured, read_metrics(workdir)[1]["kuhn_poker/exploitability"],
                             rtol=1e-5)
  rows = [line.split("|")[1:-1] for line in result.stdout.splitlines()
          if line.startswith("| 0 ")]
  assert [int(row[1]) for row in rows] == [1, 2], result.stdout
  gaps = np.array([[float(row[2]), float(row[3])] for row in rows])
  assert np.isfinite(gaps).all() and (gaps > -1e-9).all(), result.stdout  # exact is best
  # --top: each seat's three information sets where the exact best response gains most,
  # the largest first; a seat's gains sum to its last gap.
  for seat in range(2):
    header = [line for line in result.stdout.splitlines() if line.startswith(f"seat {seat}: ")]
    assert header and f"gap {gaps[-1, seat]:.3f}" in header[0], result.stdout
  shortfalls = [line.split("|")[1:-1] for line in result.stdout.splitlines()
                if line.startswith("| 0.") or line.startswith("| -0.")]
  assert len(shortfalls) == 6, result.stdout
  for seat in range(2):
    gains = [float(row[0]) for row in shortfalls[3 * seat:3 * seat + 3]]
    assert gains == sorted(gains, reverse=True), result.stdout
  for flags, message in [(["--step=6"], "ends the run"),
                         (["--step=4", "--set=ppo.nope=1"], "unknown config field 'ppo.nope'")]:
    result = subprocess.run(command + flags, capture_output=True, text=True, timeout=600,
                            check=False)
    assert result.returncode != 0 and message in result.stderr, result.stderr[-2000:]


# --- frozen members from their tables (jaxplay.learn.tabular) ----------------------------------


@pytest.mark.parametrize("game", ["kuhn_poker", "leduc_poker"])
def test_every_information_set_is_found_by_its_observation(game):
  import jaxplay
  from jaxplay.eval.tree import build_tree
  tree = build_tree(jaxplay.make(game))
  index = tabular.make_index(tree.infoset_observation)
  found = tabular.lookup(index, jnp.asarray(tree.infoset_observation))
  np.testing.assert_array_equal(np.asarray(found), np.arange(tree.num_infosets))
  with pytest.raises(tabular.TableError, match="share an observation"):
    tabular.make_index(np.concatenate([tree.infoset_observation[:3],
                                       tree.infoset_observation[:1]]))
