"""The benchmarks run end to end (smoke tests: the Overcooked training benchmark for 2 updates
a library, cross-play, FCP's programs, the population update, the env harnesses, the sweep;
the figures they print are not checked, timings never are). Exact PSRO's benchmark and the
oracle benchmark run in tests/test_psro.py, beside a run of the train binary they read."""

import subprocess
import sys

from tests import subprocess_env

# With the session's compilation cache, so that a program compiled again (twice in one
# benchmark, or in two of them) is read from it (BUILD_NOTES.md, "Tests").
ENV = subprocess_env.with_devices(1)


def test_train_overcooked_benchmark_runs_both_libraries():
  result = subprocess.run(
      [sys.executable, "-m", "benchmarks.train_overcooked", "--total_env_steps=4096"],
      capture_output=True, text=True, timeout=600, check=False, env=ENV)
  assert result.returncode == 0, result.stderr[-2000:]
  rows = [line for line in result.stdout.splitlines() if line.startswith("| ")]
  assert [row.split("|")[1].strip() for row in rows[1:]] == ["JaxMARL IPPO", "jaxplay"]
  assert all(row.split("|")[2].strip() == "4,096" for row in rows[1:])
  assert "jaxplay / JaxMARL IPPO steps/s:" in result.stdout


def test_crossplay_benchmark_runs():
  result = subprocess.run(
      [sys.executable, "-m", "benchmarks.crossplay", "--agents=2", "--partners=1",
       "--scripted=static", "--games=2"], capture_output=True, text=True, timeout=600,
      check=False, env=ENV)
  assert result.returncode == 0, result.stderr[-2000:]
  assert "2 agents x 2 partners x 2 games = 8 games of 400 steps" in result.stdout
  assert "first call (compiling included)" in result.stdout


def test_fcp_partners_benchmark_runs_the_separate_runs_and_the_vmapped_population():
  """The GPU's way (`--ways=vmap`, as benchmarks/device_check.sh runs it); the population
  benchmark's test runs the learners on threads, and each way is one row of the same loop."""
  result = subprocess.run(
      [sys.executable, "-m", "benchmarks.fcp_partners", "--learners=2", "--updates=1",
       "--repeats=1", "--set=ppo.num_steps=8", "--set=network.hidden=(16,)", "--ways=vmap"],
      capture_output=True, text=True, timeout=600, check=False, env=ENV)
  assert result.returncode == 0, result.stderr[-2000:]
  rows = [line.split("|")[1].strip() for line in result.stdout.splitlines()
          if line.startswith("| ") and not line.startswith("| program")]
  assert rows == ["2 Learner runs one after the other",
                  "one population, one program, learners vmapped"], result.stdout


def test_population_benchmark_runs_the_learners_on_threads():
  result = subprocess.run(
      [sys.executable, "-m", "benchmarks.population", "--games=kuhn_poker", "--sizes=2",
       "--repeats=1", "--num_envs=8"], capture_output=True, text=True, timeout=600, check=False,
      env=ENV)
  assert result.returncode == 0, result.stderr[-2000:]
  rows = [line.split("|")[3].strip() for line in result.stdout.splitlines()
          if line.startswith("| kuhn_poker")]
  assert rows == ["2 (threads)"]   # on the CPU "auto" puts independent learners on threads


def test_env_benchmark_runs_both_harnesses():
  result = subprocess.run(
      [sys.executable, "-m", "benchmarks.envs", "--games=tic_tac_toe", "--batch_sizes=8",
       "--steps=2", "--repeats=1", "--harness=random_legal", "--harness=hash_sum", "--floor"],
      capture_output=True, text=True, timeout=600, check=False, env=ENV)
  assert result.returncode == 0, result.stderr[-2000:]
  tables = result.stdout.split("# ")[1:]
  assert [table.split(" | harness ")[1].split(" ")[0] for table in tables] == [
      "random_legal", "hash_sum"], result.stdout
  for table in tables:
    rows = [line.split("|")[1:-1] for line in table.splitlines()
            if line.startswith("| tic_tac_toe ")]
    assert len(rows) == 1 and len(rows[0]) == 7, result.stdout
    assert rows[0][3].strip() == "Pgx", result.stdout


def test_sweep_benchmark_compares_the_one_program_with_the_single_runs():
  result = subprocess.run(
      [sys.executable, "-m", "benchmarks.sweep", "--parts=kuhn", "--seeds=2", "--kuhn_updates=2",
       "--kuhn_num_envs=16", "--repeats=1", "--kuhn_set=network.kind='mlp'",  # (quick to compile)
       "--runs_maps=threads,vmap"],
      capture_output=True, text=True, timeout=600, check=False, env=ENV)
  assert result.returncode == 0, result.stderr[-2000:]
  assert "runs one after the other:" in result.stdout and "steady state" in result.stdout
  assert "one program (threads)" in result.stdout and "one program (vmap)" in result.stdout
  differences = [float(line.split("parameters ")[1].split(",")[0])
                 for line in result.stdout.splitlines() if line.strip().startswith("run seed=")]
  assert len(differences) == 4 and max(differences) < 1e-4, result.stdout  # 2 runs, 2 ways
