"""Many hosts and elastic resume (jaxplay.parallel.hosts, Checkpointer shardings): two processes
on 127.0.0.1 with 2 CPU devices each train Kuhn to the parameters one process with 4 devices
reaches; a checkpoint saved on 4 devices resumes on 1 and on 2 and ends where the
uninterrupted run ends; an unreachable coordinator and bad host flags are one clear error.

Every run is a subprocess (the device count is fixed when JAX starts): the training binary
itself for the multi-host runs, `python -m tests.test_multihost CASE` for the stopped and
resumed ones.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import socket
import subprocess
import sys

import chex
import jax
import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
UPDATES = 4
# experiments/configs/kuhn_poker.py, small: 16 games x 8 steps, a tiny transformer, 4 updates,
# 4 data shards whatever the devices (so that every layout computes the same updates).
OVERRIDES = dict(total_env_steps=16 * 8 * UPDATES, ppo__num_envs=16, ppo__num_steps=8,
                 network__width=16, network__depth=1, network__heads=2,
                 run__updates_per_call=2, run__log_every=2, run__eval_every=4,
                 run__checkpoint_every=2, parallel__data=0, parallel__shards=4)


def flags(overrides=OVERRIDES) -> list[str]:
  return [f"--config.{k.replace('__', '.')}={v}" for k, v in overrides.items()]


def env_with(devices: int) -> dict[str, str]:
  return dict(os.environ, XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}",
              JAX_PLATFORMS="cpu")


def free_port() -> int:
  with socket.socket() as probe:
    probe.bind(("127.0.0.1", 0))
    return probe.getsockname()[1]


def train_command(workdir: pathlib.Path, *extra: str) -> list[str]:
  return [sys.executable, "-m", "experiments.train", "--config=experiments/configs/kuhn_poker.py",
          f"--workdir={workdir}", *flags(), *extra]


def small_config():
  """The config the OVERRIDES flags make of experiments/configs/kuhn_poker.py."""
  from experiments.configs import kuhn_poker
  config = kuhn_poker.get_config()
  for key, value in OVERRIDES.items():
    section, _, field = key.rpartition("__")
    (config[section] if section else config)[field] = value
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


@pytest.fixture(scope="module")
def one_process_4_devices(tmp_path_factory) -> pathlib.Path:
  workdir = tmp_path_factory.mktemp("multihost") / "one"
  done = subprocess.run(train_command(workdir), cwd=ROOT, env=env_with(4), capture_output=True,
                        text=True, timeout=300)
  assert done.returncode == 0, done.stdout + done.stderr
  return workdir


def test_two_processes_of_2_devices_equal_one_process_of_4(one_process_4_devices, tmp_path):
  workdir, port = tmp_path / "two", free_port()
  hosts = [subprocess.Popen(
      train_command(workdir, f"--coordinator=127.0.0.1:{port}", "--num_processes=2",
                    f"--process_id={i}", "--coordinator_timeout=120"),
      cwd=ROOT, env=env_with(2), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
      for i in range(2)]
  outputs = [host.communicate(timeout=300) for host in hosts]
  for host, (out, err) in zip(hosts, outputs):
    assert host.returncode == 0, out + err
  assert f"update {UPDATES}/{UPDATES}" in outputs[0][0] and "eval @" in outputs[0][0]
  # Only process 0 prints and evaluates (gloo's own connection lines, written by two threads
  # at once, may interleave: look for jaxplay's lines only).
  ours = ("training ", "compiled ", "update ", "eval @", "resuming ")
  assert not [line for line in outputs[1][0].splitlines() if line.startswith(ours)], outputs[1]
  rows = (workdir / "metrics.jsonl").read_text().splitlines()
  assert len(rows) == len((one_process_4_devices / "metrics.jsonl").read_text().splitlines())
  two, one = final_params(workdir), final_params(one_process_4_devices)
  chex.assert_trees_all_close(two[:2], one[:2], rtol=1e-5, atol=1e-6)
  np.testing.assert_array_equal(two[2], one[2])


def run_main(case: str, workdir: pathlib.Path, devices: int) -> str:
  """`main(case, workdir)` in a subprocess with `devices` CPU devices; its output."""
  done = subprocess.run([sys.executable, "-m", "tests.test_multihost", case, str(workdir)],
                        cwd=ROOT, env=env_with(devices), capture_output=True, text=True,
                        timeout=300)
  assert done.returncode == 0, done.stdout + done.stderr
  return done.stdout


@pytest.fixture(scope="module")
def stopped_on_4_devices(tmp_path_factory) -> pathlib.Path:
  """A run stopped after 2 of its 4 updates on 4 devices (a checkpoint at update 2)."""
  workdir = tmp_path_factory.mktemp("elastic") / "stopped"
  run_main("stop_after_2", workdir, 4)
  return workdir


@pytest.mark.parametrize("devices", [1, 2])
def test_saved_on_4_devices_resumes_on_fewer(one_process_4_devices, stopped_on_4_devices,
                                             tmp_path, devices):
  """Stopped after 2 of 4 updates on 4 devices, resumed on `devices`: the env states are
  re-cut over the smaller mesh and the run ends where the uninterrupted one did."""
  workdir = tmp_path / "elastic"
  shutil.copytree(stopped_on_4_devices, workdir)
  stdout = run_main("resume", workdir, devices)
  assert f"resuming {workdir} at update 2/{UPDATES}" in stdout, stdout
  resumed, uninterrupted = final_params(workdir), final_params(one_process_4_devices)
  chex.assert_trees_all_close(resumed[:2], uninterrupted[:2], rtol=1e-5, atol=1e-6)
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


# --- the subprocess -----------------------------------------------------------------------------


def main(case: str, workdir: str) -> None:
  from experiments import run_lib
  run_lib.train(small_config(), workdir, stop_after=2 if case == "stop_after_2" else None)


if __name__ == "__main__":
  main(*sys.argv[1:])
