"""The train and evaluate binaries end to end (tiny runs): metrics and checkpoints written,
exact resume after a kill, clear errors for corrupt or mismatched checkpoints and bad run
configs, evaluation, OpenSpiel export, plots and Overcooked GIFs."""

import json
import pathlib
import shutil
import subprocess
import sys

import chex
import numpy as np
import pyspiel
import pytest
from open_spiel.python.algorithms import exploitability as openspiel_exploitability

import jaxplay
from experiments import evaluate_lib as evaluate_bin
from experiments import run_lib
from experiments.configs import common
from jaxplay.core.errors import ConfigError
from jaxplay.io import openspiel_policy
from jaxplay.io.checkpoints import CheckpointError
from jaxplay.io.metrics import read_metrics
from jaxplay.io.tensorboard import read_scalars


def kuhn_config(updates=6):
  config = common.base()
  config.games = ("kuhn_poker",)
  config.network.kind = "mlp"
  config.network.hidden = (16,)
  config.ppo.num_envs, config.ppo.num_steps = 16, 4
  config.ppo.num_epochs, config.ppo.num_minibatches = 1, 2
  config.ppo.magnet_coef = 0.3
  config.total_env_steps = 16 * 4 * updates
  config.run.updates_per_call = 1
  config.run.log_every, config.run.eval_every, config.run.checkpoint_every = 1, 2, 2
  return config


def silent(_):
  pass


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
  """A 6-update Kuhn run, and its final state."""
  workdir = tmp_path_factory.mktemp("kuhn")
  state = run_lib.train(kuhn_config(), workdir, print_fn=silent)
  return workdir, state


def test_a_run_writes_metrics_tensorboard_and_checkpoints(finished_run):
  workdir, state = finished_run
  assert int(state.update) == 6
  rows = read_metrics(workdir)
  assert [r["step"] for r in rows if "entropy" in r] == [1, 2, 3, 4, 5, 6]
  evals = [r for r in rows if "kuhn_poker/exploitability" in r]
  assert [r["step"] for r in evals] == [2, 4, 6]
  assert all(0 <= r["kuhn_poker/exploitability"] <= 0.5 for r in evals)
  tags = {tag for tag, _, _ in read_scalars(workdir / "tensorboard")}
  assert {"entropy", "kuhn_poker/exploitability", "kuhn_poker/magnet/exploitability"} <= tags
  assert sorted(p.name for p in (workdir / "checkpoints").iterdir()) == ["2", "4", "6"]
  saved = json.loads((workdir / "config.json").read_text())
  assert saved["games"] == ["kuhn_poker"]


def test_a_killed_run_resumes_to_the_same_result(finished_run, tmp_path):
  _, uninterrupted = finished_run
  messages = []
  stopped = run_lib.train(kuhn_config(), tmp_path, stop_after=3, print_fn=silent)
  assert int(stopped.update) == 3  # killed after update 3; the last checkpoint is at 2
  resumed = run_lib.train(kuhn_config(), tmp_path, print_fn=messages.append)
  assert messages[0].startswith(f"resuming {tmp_path} at update 2/6")
  chex.assert_trees_all_equal(resumed.params, uninterrupted.params)
  chex.assert_trees_all_equal(resumed.magnet, uninterrupted.magnet)
  # The rows the killed run wrote after its checkpoint were replaced, not duplicated.
  steps = [r["step"] for r in read_metrics(tmp_path) if "entropy" in r]
  assert steps == [1, 2, 3, 4, 5, 6]
  again = []
  run_lib.train(kuhn_config(), tmp_path, print_fn=again.append)
  assert "already holds a finished run" in again[-1]


def test_a_different_config_does_not_resume(finished_run):
  workdir, _ = finished_run
  config = kuhn_config()
  config.ppo.learning_rate = 1e-3
  with pytest.raises(CheckpointError, match=r"ppo.learning_rate: 0.0003 -> 0.001"):
    run_lib.train(config, workdir, print_fn=silent)
  config = kuhn_config()
  config.run.eval_every = 6  # when to evaluate is not part of what is learned
  run_lib.train(config, workdir, print_fn=silent)


def test_a_corrupt_checkpoint_is_an_error_and_stays(finished_run, tmp_path):
  workdir, _ = finished_run
  copy = tmp_path / "run"
  shutil.copytree(workdir, copy)
  latest = copy / "checkpoints" / "6" / "jaxplay"
  for file in latest.rglob("*"):
    if file.is_file():
      file.write_bytes(b"garbage")
  before = sorted(str(p) for p in copy.rglob("*"))
  config = kuhn_config(updates=6)
  with pytest.raises(CheckpointError, match="corrupt"):
    run_lib.train(config, copy, print_fn=silent)
  assert sorted(str(p) for p in copy.rglob("*")) == before


@pytest.mark.parametrize("field, value, message", [
    ("eval_every", 3, "run.eval_every must be a positive multiple"),
    ("log_every", 0, "run.log_every must be a positive multiple"),
    ("updates_per_call", 0, "run.updates_per_call must be a positive int"),
])
def test_bad_run_configs_raise_one_clear_error(tmp_path, field, value, message):
  config = kuhn_config()
  config.run.updates_per_call = 2
  config.run.log_every = config.run.eval_every = config.run.checkpoint_every = 2
  config.run[field] = value
  with pytest.raises(ConfigError, match=message):
    run_lib.train(config, tmp_path, print_fn=silent)
  assert not (tmp_path / "checkpoints").exists() or not any((tmp_path / "checkpoints").iterdir())


def test_evaluate_prints_metrics_plots_and_exports_for_openspiel(finished_run, tmp_path):
  workdir, _ = finished_run
  lines = []
  policy_path = tmp_path / "new" / "kuhn_policy.json"  # folders that do not exist yet
  metrics = evaluate_bin.evaluate(workdir, plot=str(tmp_path / "plots" / "curves.png"),
                                  export_openspiel_policy=str(policy_path),
                                  print_fn=lines.append)
  assert (tmp_path / "plots" / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
  assert any("kuhn_poker/exploitability" in line for line in lines)
  # OpenSpiel's exploitability of the exported policy is ours.
  game = pyspiel.load_game("kuhn_poker")
  tabular = openspiel_policy.to_tabular_policy(str(policy_path))
  theirs = openspiel_exploitability.exploitability(game, tabular)
  assert theirs == pytest.approx(metrics["kuhn_poker/exploitability"], abs=1e-6)


def test_evaluate_reads_a_run_saved_before_a_config_field_existed(finished_run, tmp_path):
  """A field added to the configs since the run takes its default (the old behaviour)."""
  workdir, _ = finished_run
  older = tmp_path / "older"
  shutil.copytree(workdir, older)
  saved = json.loads((older / "config.json").read_text())
  del saved["ppo"]["final_magnet_fraction"]
  (older / "config.json").write_text(json.dumps(saved))
  config = evaluate_bin.load_config(older)
  assert config.ppo.final_magnet_fraction == 1.0 and config.ppo.magnet_coef == 0.3
  metrics = evaluate_bin.evaluate(older, plot="", print_fn=silent)
  assert np.isfinite(metrics["kuhn_poker/exploitability"])


def test_curve_keys_name_each_metric_once():
  rows = [{"kuhn_poker/exploitability": 0.1, "kuhn_poker/return_0": -0.05,
           "negotiation/agreement": 1.0, "negotiation/return_0": 9.0}]
  envs = (jaxplay.make("kuhn_poker"), jaxplay.make("negotiation"))
  assert evaluate_bin.curve_keys(envs, rows) == [
      "kuhn_poker/exploitability", "kuhn_poker/return_0", "negotiation/agreement",
      "negotiation/return_0"]


def test_evaluate_errors(finished_run, tmp_path):
  workdir, _ = finished_run
  with pytest.raises(ConfigError, match="holds no training run"):
    evaluate_bin.evaluate(tmp_path, print_fn=silent)
  with pytest.raises(ConfigError, match="--gif renders games that draw themselves"):
    evaluate_bin.evaluate(workdir, plot="", gif=str(tmp_path / "x.gif"), print_fn=silent)


def test_overcooked_run_renders_a_gif(tmp_path):
  config = kuhn_config(updates=1)
  config.games = ("overcooked",)
  config.game_options.overcooked = dict(horizon=8)
  config.eval.num_games = 4
  config.run.eval_every = config.run.checkpoint_every = 1
  run_lib.train(config, tmp_path / "oc", print_fn=silent)
  gif = tmp_path / "episode.gif"
  metrics = evaluate_bin.evaluate(tmp_path / "oc", plot="", gif=str(gif), gif_steps=5,
                                  print_fn=silent)
  assert "overcooked/shaped_return_0" in metrics
  assert gif.read_bytes()[:6] in (b"GIF87a", b"GIF89a")


BAD_CONFIG = ("from experiments.configs import kuhn_poker\n"
              "def get_config():\n"
              "  config = kuhn_poker.get_config()\n"
              "  config.ppo.advantage = 'vtrace'\n"
              "  return config\n")


@pytest.mark.parametrize("flags_, message", [
    (["--config={bad}"], "error: ppo.advantage must be one of ('gae', 'rae'), got 'vtrace'"),
    (["--config={kuhn}", "--config.ppo.no_such_field=1"],
     "error: --config.ppo.no_such_field: the config has no field 'no_such_field'"),
    (["--config={kuhn}", "--config.ppo.num_env=1"], "error: --config.ppo.num_env: the config has "
     "no field 'num_env' (Did you mean \"num_envs\" instead of \"num_env\"?)"),
    (["--config={tmp}/missing.py"], "error: cannot load --config={tmp}/missing.py"),
    ([], "error: flag --config=None: Flag --config must have a value"),
    # A game option the config file does not set reaches the game (which rejects 11 players).
    (["--config={kuhn}", "--config.game_options.kuhn_poker.num_players=11"],
     "error: kuhn_poker: num_players must be an int in 2..10, got 11"),
    (["--config={kuhn}", "--workdir={tmp}/file/run"], "error: cannot use {tmp}/file/run as the "
     "workdir"),
])
def test_train_binary_reports_user_errors_in_one_line(tmp_path, flags_, message):
  (tmp_path / "bad.py").write_text(BAD_CONFIG)
  (tmp_path / "file").write_text("a file where the workdir's parent should be")
  fill = lambda text: text.format(bad=tmp_path / "bad.py", tmp=tmp_path,
                                  kuhn="experiments/configs/kuhn_poker.py")
  args = [fill(flag) for flag in flags_]
  if not any(arg.startswith("--workdir") for arg in args):
    args.append(f"--workdir={tmp_path / 'run'}")
  result = subprocess.run([sys.executable, "-m", "experiments.train"] + args,
                          capture_output=True, text=True, cwd=pathlib.Path(__file__).parents[1],
                          check=False)
  assert result.returncode == 1
  lines = result.stderr.strip().splitlines()
  assert lines[0].startswith(fill(message)) and "Traceback" not in result.stderr, result.stderr
  assert len(lines) <= 2, result.stderr  # the error, and for absl's own: "Pass --help ..."


def test_a_run_killed_before_its_first_checkpoint_starts_again_once(tmp_path):
  """Killed at update 1 (first checkpoint at 2), started again, killed at 3 and resumed: every
  step is in metrics.jsonl once, and TensorBoard shows exactly the rows of metrics.jsonl."""
  run_lib.train(kuhn_config(), tmp_path, stop_after=1, print_fn=silent)
  messages = []
  run_lib.train(kuhn_config(), tmp_path, stop_after=3, print_fn=messages.append)
  assert messages[0].startswith("training kuhn_poker")  # no checkpoint: from scratch
  run_lib.train(kuhn_config(), tmp_path, print_fn=silent)
  rows = read_metrics(tmp_path)
  assert [r["step"] for r in rows if "entropy" in r] == [1, 2, 3, 4, 5, 6]
  assert [r["step"] for r in rows if "kuhn_poker/exploitability" in r] == [2, 4, 6]
  shown = sorted(read_scalars(tmp_path / "tensorboard"))
  assert shown == sorted((key, r["step"], float(np.float32(value))) for r in rows
                         for key, value in r.items()
                         if key not in ("step", "time") and value is not None)


def test_the_last_shorter_chunk_reuses_the_compiled_program(finished_run, tmp_path):
  """6 updates in calls of 4: one compilation; the second call does 2 updates and skips 2,
  ending where the run in calls of 1 ends."""
  _, uninterrupted = finished_run
  config = kuhn_config()
  config.run.updates_per_call = 4
  config.run.log_every = config.run.eval_every = config.run.checkpoint_every = 4
  messages = []
  state = run_lib.train(config, tmp_path, print_fn=messages.append)
  assert sum(m.startswith("compiled") for m in messages) == 1, messages
  assert int(state.update) == 6
  chex.assert_trees_all_close(state.params, uninterrupted.params, rtol=1e-5, atol=1e-6)
  rows = read_metrics(tmp_path)
  assert [r["step"] for r in rows if "entropy" in r] == [4, 6]
  assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == ["4", "6"]
