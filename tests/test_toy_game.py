"""A game registered from outside jaxplay, with its own evaluator and headline metric, trains
and evaluates through the experiment binaries, with no change to jaxplay's code."""

import json
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).parents[1]


def run(*args: str) -> str:
  result = subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True,
                          cwd=ROOT, check=False)
  assert result.returncode == 0, result.stderr
  return result.stdout


def test_a_game_of_ones_own_trains_and_evaluates_through_the_binaries(tmp_path):
  out = run("experiments.train", "--config=tests/toy/config.py", f"--workdir={tmp_path}")
  # The progress line shows the game's own headline metric, from its own evaluator.
  evals = [line for line in out.splitlines() if line.startswith("eval @")]
  assert len(evals) == 2 and "pick_a_number/expected_payoff=" in evals[-1], out
  rows = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
  payoffs = [row["pick_a_number/expected_payoff"] for row in rows
             if "pick_a_number/expected_payoff" in row]
  assert payoffs[-1] > 0.6, payoffs  # uniform play expects 0.5; the best choice pays 1
  # The evaluation binary imports the game's module from the saved config, and plots.
  out = run("experiments.evaluate", f"--workdir={tmp_path}")
  assert "pick_a_number/best_choice_prob" in out and "pick_a_number/magnet/expected_payoff" in out
  assert (tmp_path / "curves.png").exists()
