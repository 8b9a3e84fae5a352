"""Many hosts and elastic resume (jaxplay.parallel.hosts, Checkpointer shardings): two processes
on 127.0.0.1 with 2 CPU devices each train Kuhn to the parameters one process with 4 devices
reaches, in self-play (with its parameters cut over their devices) and as a fictitious
self-play population (members, payoff matrix, counts), in PSRO (members, meta-strategies,
exploitability) and in FCP's stage 2 against a pool of two stage-1 runs; a checkpoint saved
on 4 devices resumes on 1 and on 2 and ends where the uninterrupted run ends; an unreachable
coordinator and bad host flags are one clear error.

Every run is a subprocess (the device count is fixed when JAX starts). The four side-by-side
comparisons share one set of three processes, started at once (the 2 cores here mostly
compile; each process would otherwise spend about 5 s importing before it trains): this
module as a driver (`main` below) that joins the job once, as the train binary does
(`hosts.initialize`), and then trains the runs one after the other (`run_lib.train`, as the
binary does). The resumes run the training binary itself, and so does the unreachable
coordinator's case.
"""

from __future__ import annotations

import importlib
import json
import pathlib
import shutil
import socket
import subprocess
import sys

import jax
import numpy as np
import pytest

from tests import close, subprocess_env
from tests.once import once

ROOT = pathlib.Path(__file__).resolve().parents[1]
UPDATES = 4
# experiments/configs/kuhn_poker.py, small: 16 games x 8 steps, one epoch of 2 minibatches (each
# minibatch step is collectives between the processes), an MLP of 16 units (it compiles in half
# the transformer's time; test_fsdp.py cuts the transformer), 4 updates, 4 data shards whatever
# the devices (so that every layout computes the same updates).
MINIBATCHES = dict(ppo__num_epochs=1, ppo__num_minibatches=2)
OVERRIDES = dict(MINIBATCHES, total_env_steps=16 * 8 * UPDATES, ppo__num_envs=16,
                 ppo__num_steps=8, network__kind="mlp", network__hidden=(16,),
                 run__updates_per_call=2, run__log_every=2, run__eval_every=4,
                 run__checkpoint_every=2, parallel__data=0, parallel__shards=4)
# A fictitious self-play population: snapshots at updates 2 and 4 (the learner plays its first
# snapshot in updates 3 and 4).
POPULATION = dict(OVERRIDES, population__scheme="fictitious", population__capacity=3,
                  population__snapshot_start=2, population__snapshot_every=2)

def flags(overrides=OVERRIDES) -> list[str]:
  return [f"--config.{k.replace('__', '.')}={v}" for k, v in overrides.items()]


def env_with(devices: int) -> dict[str, str]:
  return subprocess_env.with_devices(devices, share_cache=False)


def free_port() -> int:
  with socket.socket() as probe:
    probe.bind(("127.0.0.1", 0))
    return probe.getsockname()[1]


def train_command(workdir: pathlib.Path, *extra: str, overrides=OVERRIDES,
                  config: str = "kuhn_poker") -> list[str]:
  return [sys.executable, "-m", "experiments.train", f"--config=experiments/configs/{config}.py",
          f"--workdir={workdir}", *flags(overrides), *extra]


def small_config(overrides=OVERRIDES, name: str = "kuhn_poker"):
  """The config the `overrides` flags make of experiments/configs/<name>.py."""
  config = importlib.import_module(f"experiments.configs.{name}").get_config()
  for key, value in overrides.items():
    *sections, field = key.split("__")
    node = config
    for section in sections:   # nested sections too (game_options.overcooked)
      node = node[section]
    node[field] = value
  return config


def final_params(workdir: pathlib.Path):
  """The parameters, optimizer state and key of the run's last checkpoint, restored onto this
  process's one device (whatever device count saved them)."""
  from jaxplay.io.checkpoints import Checkpointer
  from jaxplay.learn.learner import Learner
  config = small_config()
  config.parallel.data = 1
  learner = Learner(config)
  with Checkpointer(workdir / "checkpoints") as checkpoints:
    assert checkpoints.latest_step() == UPDATES
    state = checkpoints.restore(None, jax.eval_shape(lambda: learner.init(0)))
  return state.params, state.opt_state, state.key


def final_population(workdir: pathlib.Path):
  """The population state (every leaf) of the POPULATION run's last checkpoint, restored onto
  this process's one device."""
  from experiments import run_lib
  from jaxplay.io.checkpoints import Checkpointer
  from jaxplay.learn.learner import Learner
  config = small_config(POPULATION)
  config.parallel.data = 1
  run = run_lib.make_run(Learner(config))
  with Checkpointer(workdir / "checkpoints") as checkpoints:
    assert checkpoints.latest_step() == UPDATES
    return checkpoints.restore(None, jax.eval_shape(lambda: run.init(0)))


def start(command: list[str], devices: int) -> subprocess.Popen:
  """`command` started with `devices` CPU devices."""
  return subprocess.Popen(command, cwd=ROOT, env=env_with(devices), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)


def finish(processes: list[subprocess.Popen], timeout: float = 300) -> list[str]:
  """Each process's output once all have ended, each with status 0 (all killed after
  `timeout` s: a process stuck in a collective ignores SIGTERM)."""
  try:
    outputs = [process.communicate(timeout=timeout) for process in processes]
  finally:
    for process in processes:
      if process.poll() is None:
        process.kill()
  for process, (out, err) in zip(processes, outputs):
    assert process.returncode == 0, out + err
  return [out for out, _ in outputs]


def process_0_alone(outputs: list[str], last_line: str = f"update {UPDATES}/{UPDATES}") -> str:
  """Process 0's output (which has `last_line`), after checking that process 1 printed none
  of jaxplay's lines."""
  assert last_line in outputs[0], outputs[0]
  # Only process 0 prints and evaluates (gloo's own connection lines, written by two threads
  # at once, may interleave: look for jaxplay's lines only).
  ours = ("training ", "compiled ", "update ", "eval @", "resuming ", "iteration ")
  assert not [line for line in outputs[1].splitlines() if line.startswith(ours)], outputs[1]
  return outputs[0]


def same_metrics_rows(workdir: pathlib.Path, other: pathlib.Path) -> bool:
  return (len((workdir / "metrics.jsonl").read_text().splitlines())
          == len((other / "metrics.jsonl").read_text().splitlines()))


# The self-play run with its parameters, magnet and Adam moments cut over the devices.
CUT = dict(OVERRIDES, parallel__params=((".*", "fsdp"),))
# PSRO (experiments/configs/psro_kuhn_poker.py, small): 2 iterations of 2 updates, each seat's
# best response (an MLP 16) trained on all 4 devices; every process measures the meta-game.
PSRO_RUN = dict(MINIBATCHES, ppo__num_envs=16, ppo__num_steps=8, network__hidden=(16,),
                population__iterations=2, total_env_steps=16 * 8 * 2 * 2, parallel__data=0,
                parallel__shards=4)
# FCP's stage 1 on Kuhn (run in this process): 2 self-play learners side by side,
# snapshots at updates 2 and 4, so 6 members. Its stage 2 (population.scheme "fcp") against
# one pool made of two such runs, trained on all 4 devices. Kuhn rather than Overcooked, the
# game FCP is for: what is tested is each process reading the pool, the same for any game,
# and Kuhn's programs compile in a fraction of Overcooked's time.
STAGE_ONE = dict(OVERRIDES, population__num_learners=2, population__capacity=6,
                 population__snapshot_start=2, population__snapshot_every=2)
STAGE_TWO = dict(OVERRIDES, population__scheme="fcp")
# The side-by-side runs: name -> (config file, overrides on 1 process, on 2 processes, the
# last line process 0 prints).
RUNS = {"self_play": ("kuhn_poker", OVERRIDES, CUT, f"update {UPDATES}/{UPDATES}"),
        "population": ("kuhn_poker", POPULATION, POPULATION, f"update {UPDATES}/{UPDATES}"),
        "psro": ("psro_kuhn_poker", PSRO_RUN, PSRO_RUN, "iteration 2/2"),
        "stage_two": ("kuhn_poker", STAGE_TWO, STAGE_TWO, f"update {UPDATES}/{UPDATES}")}


def pools(root: pathlib.Path) -> list[pathlib.Path]:
  """The two stage-1 runs that make stage 2's pool."""
  return [root / "partners", root / "partners_copy"]


def run_config(name: str, root: pathlib.Path, processes: int):
  """(config, workdir) of the side-by-side run `name` on 1 or 2 processes."""
  config_name, *overrides, _ = RUNS[name]
  overrides = dict(overrides[processes - 1])
  if name == "stage_two":
    overrides["population__partners"] = ",".join(map(str, pools(root)))
  return small_config(overrides, config_name), root / name / ("one", "two")[processes - 1]


def by_run(output: str) -> dict[str, str]:
  """A driver's output cut at its `=== <run>` lines: run name -> what it printed."""
  parts = [part.partition("\n") for part in ("\n" + output).split("\n=== ")[1:]]
  return {name: text for name, _, text in parts}


@pytest.fixture(scope="module")
def side_by_side(tmp_path_factory, worker_id) -> tuple[pathlib.Path, dict[str, str]]:
  """(root, run name -> process 0's output of the run on 2 processes): every run of RUNS in
  root/<run>/one (1 process of 4 devices; self-play with its parameters whole on each) and in
  root/<run>/two (2 processes of 2; self-play with its parameters cut over the 4: `CUT`).
  Built once for both pytest workers (tests/once.py)."""
  return once(tmp_path_factory, worker_id, "multihost", lambda: run_side_by_side(tmp_path_factory))


def run_side_by_side(tmp_path_factory) -> tuple[pathlib.Path, dict[str, str]]:
  from experiments import run_lib
  root = tmp_path_factory.mktemp("multihost")
  # Two finished stage-1 runs (the second a copy of the first: the pool's reading is tested,
  # not its contents).
  first, copy = pools(root)
  run_lib.train(small_config(STAGE_ONE), first, print_fn=lambda _: None)
  shutil.copytree(first, copy)
  driver = [sys.executable, "-m", "tests.test_multihost", str(root), ",".join(RUNS)]
  port = free_port()
  outputs = finish([start(driver, 4)] + [
      start(driver + [f"127.0.0.1:{port}", "2", str(i)], 2) for i in range(2)], timeout=900)
  process_0, process_1 = by_run(outputs[1]), by_run(outputs[2])
  assert list(process_0) == list(process_1) == list(RUNS), outputs
  return root, {name: process_0_alone([process_0[name], process_1[name]], RUNS[name][-1])
                for name in RUNS}


@pytest.fixture(scope="module")
def one_process_4_devices(side_by_side) -> pathlib.Path:
  return side_by_side[0] / "self_play" / "one"


def test_two_processes_of_2_devices_equal_one_process_of_4(side_by_side):
  """Parameters cut over the 4 devices of the 2 processes (evaluated after a gather from both)
  end where the parameters whole on each of 1 process's 4 devices end. (Multi-process runs
  with whole parameters: the population test below.)"""
  root, stdout = side_by_side[0] / "self_play", side_by_side[1]["self_play"]
  workdir, one_process_4_devices = root / "two", root / "one"
  assert "eval @" in stdout
  assert same_metrics_rows(workdir, one_process_4_devices)
  two, one = final_params(workdir), final_params(one_process_4_devices)
  close.assert_trees_close(two[:2], one[:2])
  np.testing.assert_array_equal(two[2], one[2])


def test_a_population_on_two_processes_equals_one_process(side_by_side):
  """Fictitious self-play with snapshots on 2 processes x 2 devices: every leaf of the
  population (members, payoff matrix, counts, live, games) as on 1 process x 4 devices, and
  process 0 alone evaluates the members (Elo, the payoff image)."""
  tmp_path, stdout = side_by_side[0] / "population", side_by_side[1]["population"]
  assert "against up to 2 snapshots" in stdout and "eval @" in stdout, stdout
  assert same_metrics_rows(tmp_path / "two", tmp_path / "one")
  assert '"population/elo_1"' in (tmp_path / "two" / "metrics.jsonl").read_text()
  two, one = final_population(tmp_path / "two"), final_population(tmp_path / "one")
  np.testing.assert_array_equal(two.live, [True, True, True])
  np.testing.assert_array_equal(two.live, one.live)
  np.testing.assert_array_equal(two.counts, one.counts)
  assert float(two.counts[0, 1]) > 0  # the learner played its first snapshot
  np.testing.assert_array_equal(two.key, one.key)
  # (the env states as leaves: their trees hold their own game objects)
  flat = lambda s: s.replace(env_states=jax.tree.leaves(s.env_states))
  close.assert_trees_close(flat(two), flat(one))


def test_psro_on_two_processes_equals_one_process(side_by_side):
  """PSRO on 2 processes x 2 devices (best responses trained across both, frozen members
  played from their tables, the meta-game solved on each process): the members, the
  meta-strategies and each iteration's exploitability as on 1 process x 4 devices."""
  from jaxplay.io.checkpoints import Checkpointer
  from jaxplay.learn.learner import Learner
  from jaxplay.learn.psro import PSRO
  tmp_path, stdout = side_by_side[0] / "psro", side_by_side[1]["psro"]
  assert "exploitability" in stdout
  rows = [[json.loads(line) for line in (tmp_path / run / "metrics.jsonl").read_text()
           .splitlines()] for run in ("two", "one")]
  assert len(rows[0]) == len(rows[1]) == 2
  for two, one in zip(*rows):
    assert two.keys() == one.keys()
    np.testing.assert_allclose(two["kuhn_poker/exploitability"],
                               one["kuhn_poker/exploitability"], rtol=1e-4)
  config = small_config(PSRO_RUN, "psro_kuhn_poker")
  config.parallel.data = 1
  psro = PSRO(Learner(config), config.population.iterations)

  def final(workdir):
    with Checkpointer(workdir / "checkpoints") as checkpoints:
      assert checkpoints.latest_step() == 4
      state = checkpoints.restore(None, jax.eval_shape(lambda: psro.init(0)))
    return state.replace(env_states=jax.tree.leaves(state.env_states))
  two, one = final(tmp_path / "two"), final(tmp_path / "one")
  # Each seat: its first member and the best responses of iterations 1 and 2.
  np.testing.assert_array_equal(two.born, [0, 2, 4, 0, 2, 4])
  np.testing.assert_array_equal(two.live, one.live)
  close.assert_trees_close(two, one)


def test_stage_two_against_a_pool_of_two_runs_on_two_processes_equals_one_process(side_by_side):
  """Each process reads both stage-1 runs into one pool of 12 partners; the stage-2 learner
  and the seated partners end as on 1 process of 4 devices."""
  from experiments import run_lib
  from jaxplay.io.checkpoints import Checkpointer
  from jaxplay.learn.learner import Learner
  tmp_path, stdout = side_by_side[0] / "stage_two", side_by_side[1]["stage_two"]
  assert "eval @" in stdout, stdout
  assert same_metrics_rows(tmp_path / "two", tmp_path / "one")
  config, _ = run_config("stage_two", side_by_side[0], processes=1)
  config.parallel.data = 1
  target = run_lib.make_run(Learner(config)).init(0)  # seats the pool: not under eval_shape
  states = []
  for name in ("two", "one"):
    with Checkpointer(tmp_path / name / "checkpoints") as checkpoints:
      assert checkpoints.latest_step() == UPDATES
      states.append(checkpoints.restore(None, target))
  two, one = states
  np.testing.assert_array_equal(two.live, [True] * 13)   # the learner and 12 partners
  np.testing.assert_array_equal(two.counts, one.counts)
  flat = lambda s: s.replace(env_states=jax.tree.leaves(s.env_states))
  close.assert_trees_close(flat(two), flat(one))


@pytest.mark.parametrize("devices", [1, 2])
def test_saved_on_4_devices_resumes_on_fewer(one_process_4_devices, tmp_path, devices):
  """Stopped after 2 of 4 updates on 4 devices, resumed on `devices`: the env states are
  re-cut over the smaller mesh and the run ends where the uninterrupted one did. (The
  stopped run is the uninterrupted one's workdir without its checkpoint at update 4: what a
  run killed after update 2's checkpoint leaves; its later metrics rows are dropped on
  resuming.)"""
  workdir = tmp_path / "elastic"
  shutil.copytree(one_process_4_devices, workdir)
  shutil.rmtree(workdir / "checkpoints" / str(UPDATES))
  stdout = finish([start(train_command(workdir), devices)])[0]
  assert f"resuming {workdir} at update 2/{UPDATES}" in stdout, stdout
  assert same_metrics_rows(workdir, one_process_4_devices)
  resumed, uninterrupted = final_params(workdir), final_params(one_process_4_devices)
  close.assert_trees_close(resumed[:2], uninterrupted[:2])
  np.testing.assert_array_equal(resumed[2], uninterrupted[2])


def test_a_run_of_4_devices_evaluates_on_one(one_process_4_devices):
  from experiments import evaluate_lib
  metrics = evaluate_lib.evaluate(one_process_4_devices, plot="", print_fn=lambda _: None)
  assert 0 <= metrics["kuhn_poker/exploitability"] < 0.5


def test_unreachable_coordinator_is_one_clear_error(tmp_path):
  done = subprocess.run(
      train_command(tmp_path / "lonely", f"--coordinator=127.0.0.1:{free_port()}",
                    "--num_processes=2", "--process_id=1", "--coordinator_timeout=2"),
      cwd=ROOT, env=env_with(1), capture_output=True, text=True, timeout=120)
  assert done.returncode == 1, done.stdout + done.stderr
  assert "error: cannot reach the coordinator 127.0.0.1:" in done.stderr, done.stderr
  assert "Traceback" not in done.stderr
  assert not (tmp_path / "lonely").exists()  # nothing written


def test_bad_host_flags_are_config_errors():
  from jaxplay.core.errors import ConfigError
  from jaxplay.parallel import hosts
  for args, message in [(("10.0.0.1", 2, 0), "expected host:port"),
                        (("10.0.0.1:99", 1, 0), "needs 2 or more processes"),
                        (("10.0.0.1:99", 2, 2), r"must be in \[0, 2\)"),
                        (("", 2, 0), "needs --coordinator")]:
    with pytest.raises(ConfigError, match=message):
      hosts.initialize(*args)


# --- the driver -------------------------------------------------------------------------------


def main(root: str, names: str, *host: str) -> None:
  """Trains each of the comma-separated RUNS `names` in `root`, one after the other, each after
  a line `=== <name>`: on 1 process, or (`host`: coordinator, process count, process id) as
  one process of a job it joins first, as the train binary does."""
  from experiments import run_lib
  from jaxplay.parallel import hosts
  if host:
    hosts.initialize(host[0], int(host[1]), int(host[2]), 120)
  for name in names.split(","):
    print(f"=== {name}", flush=True)
    config, workdir = run_config(name, pathlib.Path(root), processes=2 if host else 1)
    run_lib.train(config, workdir)


if __name__ == "__main__":
  main(*sys.argv[1:])
