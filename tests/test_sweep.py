"""Sweeps: vmapped runs equal their single runs (seeds, a traced learning rate), the sweep
binary end to end (groups as processes, results table, CSV and PNG, resume and skip), and a
bad override as one clear error."""

import csv
import importlib
import json
import pathlib
import re
import shutil
import subprocess
import sys

import chex
import jax
import numpy as np
import pytest

from experiments import sweep_lib
from experiments.configs import common
from jaxplay import config as config_lib
from jaxplay.core.errors import ConfigError
from jaxplay.io.metrics import read_metrics
from jaxplay.learn import hyperparams as hyperparams_lib
from jaxplay.learn.learner import Learner
from jaxplay.learn.sweep import VmappedRuns
from tests import subprocess_env
from tests.once import once

ROOT = pathlib.Path(__file__).parents[1]
UPDATES, PER_CALL = 4, 2


def kuhn_config():
  """Kuhn poker, a tiny MLP, 4 updates in chunks of 2, with the magnet and KL terms."""
  config = common.magnetic_mirror_descent(common.base())
  config.games = ("kuhn_poker",)
  config.network.kind = "mlp"
  config.network.hidden = (16,)
  config.ppo.num_envs, config.ppo.num_steps = 16, 4
  config.ppo.num_epochs, config.ppo.num_minibatches = 2, 2
  config.total_env_steps = 16 * 4 * UPDATES
  config.run.updates_per_call = PER_CALL
  config.run.log_every = config.run.eval_every = config.run.checkpoint_every = PER_CALL
  return config


RUNS = [{"seed": 0}, {"seed": 1}, {"seed": 2, "ppo.learning_rate": 1e-3}]


def train(learner, state, chunk):
  """`UPDATES` updates in chunks; returns (state, each chunk's metrics)."""
  history = []
  for _ in range(UPDATES // PER_CALL):
    state, metrics = chunk(state)
    history.append(jax.device_get(metrics))
  return state, history


@pytest.fixture(scope="module")
def singles():
  """Each of RUNS as a single run (runs 0 and 1 differ only in the seed, which a learner reads
  only as `init`'s argument: one learner and one compiled program serve both)."""
  configs = [config_lib.check(sweep_lib.apply_overrides(kuhn_config(), o)) for o in RUNS]
  learners = [Learner(configs[0])] * 2 + [Learner(configs[2])]
  steps = [jax.jit(learner.train_chunk, static_argnums=1) for learner in learners[1:]]
  steps = steps[:1] + steps
  return configs, [train(learner, learner.init(config.seed),
                         lambda s, step=step: step(s, PER_CALL))
                   for learner, config, step in zip(learners, configs, steps)]


@pytest.fixture(scope="module", params=["threads", "map", "vmap"])
def vmapped_and_single(request, singles):
  """The three RUNS as one program: one run's program on two threads (the CPU's default),
  one after the other inside one program, vmapped (accelerators'); and each as a single run."""
  configs, single_runs = singles
  group = VmappedRuns(Learner(configs[0]), configs, runs_map=request.param, threads=2)
  states = group.init()
  vmapped = train(group, states, group.compile(states, PER_CALL))
  return group, vmapped, single_runs


def test_only_the_differing_hyperparameters_are_traced(vmapped_and_single):
  group, _, _ = vmapped_and_single
  assert list(group.traced) == ["learning_rate"]
  np.testing.assert_allclose(group.traced["learning_rate"], [3e-4, 3e-4, 1e-3])


@pytest.mark.parametrize("run", [0, 1, 2], ids=["seed0", "seed1", "seed2_lr1e-3"])
def test_a_vmapped_run_equals_its_single_run(vmapped_and_single, run):
  group, (states, history), singles = vmapped_and_single
  state, single_history = singles[run]
  mine = group.run(states, run)
  chex.assert_trees_all_close(mine.params, state.params, atol=1e-5, rtol=1e-5)
  chex.assert_trees_all_close(mine.magnet, state.magnet, atol=1e-5, rtol=1e-5)
  chex.assert_trees_all_equal(mine.update, state.update)
  for chunk, single in zip(history, single_history):  # the curve: every chunk's metrics
    chex.assert_trees_all_close(group.run(chunk, run), single, atol=1e-5, rtol=1e-4)


def test_an_unknown_way_of_running_the_runs_is_one_clear_error():
  configs = [config_lib.check(kuhn_config())]
  with pytest.raises(ConfigError, match=r"sweep: runs_map must be one of \('auto', 'vmap', "
                                        r"'map', 'threads'\), got 'pmap'"):
    VmappedRuns(Learner(configs[0]), configs, runs_map="pmap")


def test_discounts_gae_lambda_and_the_magnets_learning_rate_are_traced_too():
  """Runs that differ in gamma, GAE's lambda and the distilled magnet's learning rate (the
  returns, the advantages and the magnet's Adam step) vmap together, each equal to its
  single run."""
  base = kuhn_config()
  base.ppo.magnet_update = "distill"
  runs = [{"seed": 0}, {"seed": 0, "ppo.gamma": 0.9, "ppo.gae_lambda": 0.8,
                        "ppo.magnet_lr": 1e-3}]
  configs = [config_lib.check(sweep_lib.apply_overrides(base, o)) for o in runs]
  assert len(sweep_lib.plan(sweep_lib.make_runs(base, runs))) == 1   # one program
  group = VmappedRuns(Learner(configs[0]), configs)
  assert sorted(group.traced) == ["gae_lambda", "gamma", "magnet_lr"]
  states = group.init()
  states, history = train(group, states, group.compile(states, PER_CALL))
  learner = Learner(configs[1])
  step = jax.jit(learner.train_chunk, static_argnums=1)
  single, single_history = train(learner, learner.init(0), lambda s: step(s, PER_CALL))
  mine = group.run(states, 1)
  chex.assert_trees_all_close(mine.params, single.params, atol=1e-5, rtol=1e-5)
  chex.assert_trees_all_close(mine.magnet, single.magnet, atol=1e-5, rtol=1e-5)
  for vmapped, alone in zip(history, single_history):
    chex.assert_trees_all_close(group.run(vmapped, 1), alone, atol=1e-5, rtol=1e-4)
  other = group.run(states, 0)
  assert abs(jax.tree.leaves(other.magnet)[0] - jax.tree.leaves(mine.magnet)[0]).max() > 1e-4


def test_runs_differ_where_their_seeds_or_learning_rates_do(vmapped_and_single):
  _, (states, _), _ = vmapped_and_single
  first = jax.tree.leaves(VmappedRuns.run(states, 0).params)[0]
  for run in (1, 2):
    assert abs(first - jax.tree.leaves(VmappedRuns.run(states, run).params)[0]).max() > 1e-3


def test_the_plan_vmaps_shape_keeping_overrides_and_separates_the_rest():
  runs = sweep_lib.make_runs(kuhn_config(), [
      {"seed": 0}, {"seed": 1, "ppo.entropy_coef": 0.05}, {"seed": 0, "ppo.num_envs": 32},
      {"ppo.kl_coef": 0.0}, {"population.scheme": "fictitious"}])
  groups = sweep_lib.plan(runs)
  assert [[run.name for run in group.runs] for group in groups] == [
      ["seed=0", "seed=1,ppo.entropy_coef=0.05"], ["seed=0,ppo.num_envs=32"],
      ["ppo.kl_coef=0.0"],                  # a zero coefficient leaves a loss term out
      ["population.scheme=fictitious"]]     # populations run alone
  assert hyperparams_lib.differing(
      [hyperparams_lib.from_config(run.config) for run in groups[0].runs]) == ("entropy_coef",)


@pytest.mark.parametrize("override, message", [
    ({"ppo.learnin_rate": 1e-3}, "sweep run 1 (ppo.learnin_rate=0.001): unknown config field "
                                 "'ppo.learnin_rate'"),
    ({"optimizer.lr": 1e-3}, "sweep run 1 (optimizer.lr=0.001): unknown config field "
                             "'optimizer.lr'"),
    ({"ppo.learning_rate": 5.0}, "ppo.learning_rate must be a number in [0, 1], got 5.0"),
])
def test_a_bad_override_is_one_clear_error(override, message):
  with pytest.raises(ConfigError) as error:
    sweep_lib.make_runs(kuhn_config(), [{"seed": 0}, override])
  assert message in str(error.value)


CONFIG_FILE = '''
from tests.test_sweep import kuhn_config

def get_config():
  return kuhn_config()

def sweep():
  return [{"seed": 0}, {"seed": 1}, {"seed": 2, "ppo.learning_rate": 1e-3},
          {"seed": 0, "ppo.num_envs": 8}]
'''


def sweep_binary(config, workdir, *flags):
  """The binary, sharing this session's compilation cache (conftest.py) with its processes."""
  env = subprocess_env.with_devices(1)
  return subprocess.run(
      [sys.executable, "-m", "experiments.sweep", f"--config={config}", f"--workdir={workdir}",
       *flags], capture_output=True, text=True, cwd=ROOT, check=False, timeout=600, env=env)


@pytest.fixture(scope="module")
def swept(tmp_path_factory, worker_id):
  """The sweep binary run once on a tiny Kuhn sweep: the three RUNS vmapped (the program of
  `vmapped_and_single`: the compilation cache may serve it), a fourth alone (2 processes).
  Once for both pytest workers (tests/once.py): the tests copy what they change."""
  return once(tmp_path_factory, worker_id, "swept", lambda: run_sweep(tmp_path_factory))


def run_sweep(tmp_path_factory):
  tmp = tmp_path_factory.mktemp("sweep")
  config = tmp / "kuhn_sweep.py"
  config.write_text(CONFIG_FILE)
  workdir = tmp / "runs"
  result = sweep_binary(config, workdir)
  assert result.returncode == 0, result.stderr[-3000:] + result.stdout[-3000:]
  return config, workdir, result.stdout


NAMES = ["seed=0", "seed=1", "seed=2,ppo.learning_rate=0.001", "seed=0,ppo.num_envs=8"]


def test_the_sweep_writes_each_run_and_the_results(swept):
  _, workdir, out = swept
  assert "group0: 3 runs in one program (seed=0, seed=1, seed=2,ppo.learning_rate=0.001)" in out
  assert "group1: run seed=0,ppo.num_envs=8" in out
  for name in NAMES:
    run = workdir / name
    assert (run / "config.json").exists() and (run / "checkpoints" / str(UPDATES)).exists()
    assert [r["step"] for r in read_metrics(run) if "entropy" in r][-1] == (
        UPDATES * 2 if "num_envs" in name else UPDATES)
  with open(workdir / "sweep.csv") as table:
    rows = list(csv.DictReader(table))
  assert [row["run"] for row in rows] == NAMES
  assert {row["status"] for row in rows} == {"finished"}
  assert all(float(row["kuhn_poker/exploitability"]) > 0 for row in rows)
  assert (workdir / "sweep.png").read_bytes()[:4] == b"\x89PNG"
  assert (workdir / "logs" / "group0.log").exists()


def test_a_sweep_run_saves_its_own_config(swept):
  """The vmapped run with seed 2 and lr 1e-3 saved its config, as experiments.train would."""
  _, workdir, _ = swept
  config = config_lib.check(sweep_lib.apply_overrides(kuhn_config(), RUNS[2]))
  saved = config_lib.check(config_lib.from_saved(
      json.loads((workdir / NAMES[2] / "config.json").read_text())))
  assert config_lib.differences(config_lib.learned_part(saved),
                                config_lib.learned_part(config)) == []


def test_a_second_sweep_skips_finished_runs_and_resumes_the_others(swept, tmp_path):
  config, workdir, _ = swept
  copy = tmp_path / "runs"
  shutil.copytree(workdir, copy)
  shutil.rmtree(copy / NAMES[2] / "checkpoints" / str(UPDATES))  # as if killed after update 2
  finished = {name: (copy / name / "metrics.jsonl").read_bytes() for name in NAMES
              if name != NAMES[2]}
  result = sweep_binary(config, copy)
  assert result.returncode == 0, result.stderr[-3000:]
  assert "1 with runs to do" in result.stdout
  assert f"[{NAMES[2]}] resuming" in result.stdout
  for name, metrics in finished.items():  # skipped: not a line more
    assert (copy / name / "metrics.jsonl").read_bytes() == metrics, name
  before, after = read_metrics(workdir / NAMES[2]), read_metrics(copy / NAMES[2])
  assert [r["step"] for r in after] == [r["step"] for r in before]
  for old, new in zip(before, after):  # vmapped, then resumed alone: the same curve
    assert old.keys() == new.keys()
    for key in old.keys() - {"time", "steps_per_second"}:
      assert new[key] == pytest.approx(old[key], rel=1e-4, abs=1e-5), key


def test_an_unknown_override_stops_the_binary_in_one_line_and_loses_nothing(swept, tmp_path):
  config, workdir, _ = swept
  bad = tmp_path / "bad_sweep.py"
  bad.write_text("def sweep():\n  return [{'seed': 0}, {'ppo.learnin_rate': 1e-3}]\n")
  listing = sorted(str(p.relative_to(workdir)) for p in workdir.rglob("*"))
  table = (workdir / "sweep.csv").read_bytes()
  result = sweep_binary(config, workdir, f"--sweep={bad}")
  assert result.returncode == 1
  assert result.stderr.strip().splitlines() == [
      "error: sweep run 1 (ppo.learnin_rate=0.001): unknown config field 'ppo.learnin_rate'; "
      "the fields of its section are " + str(sorted(config_lib.defaults().ppo.keys()))
      + " (all fields, with defaults: jaxplay/config.py)"]
  assert sorted(str(p.relative_to(workdir)) for p in workdir.rglob("*")) == listing
  assert (workdir / "sweep.csv").read_bytes() == table


def test_set_flags_parse_as_python_literals_or_fail_in_one_line():
  """`--set=field=value` (benchmarks.psro_oracle, benchmarks.fcp_partners)."""
  assert sweep_lib.parse_overrides(["ppo.num_envs=32", "network.hidden=(16, 16)",
                                    "games=('kuhn_poker',)"]) == {
      "ppo.num_envs": 32, "network.hidden": (16, 16), "games": ("kuhn_poker",)}
  with pytest.raises(ConfigError, match=r"--set=ppo.num_envs=x: not a Python literal"):
    sweep_lib.parse_overrides(["ppo.num_envs=x"])


@pytest.mark.parametrize("sweep_file, programs", [
    ("seeds.py", 1), ("learning_rates.py", 1), ("kuhn_width.py", 2)])
def test_each_shipped_sweep_checks_and_runs_as_its_docstring_says(sweep_file, programs):
  """The config its docstring's command names, every override checked, and the number of
  compiled programs (vmapped groups) the docstring promises."""
  folder = pathlib.Path(__file__).parents[1] / "experiments" / "configs"
  sweep_path = folder / "sweeps" / sweep_file
  config_name = re.search(r"--config=experiments/configs/(\w+)\.py",
                          sweep_path.read_text()).group(1)
  config = importlib.import_module(f"experiments.configs.{config_name}").get_config()
  runs = sweep_lib.make_runs(config, sweep_lib.load_overrides("", str(sweep_path)))
  groups = sweep_lib.plan(runs)
  assert len(groups) == programs, [len(g.runs) for g in groups]
  assert sum(len(group.runs) for group in groups) == len(runs)
