"""Outcome statistics of uniformly random play match the published figures; the binary plays
every game until games finish and reports a user's mistake in one line."""

import pathlib
import subprocess
import sys

import jax
import numpy as np
from absl import flags

import jaxplay
from experiments import random_play


def test_tic_tac_toe_random_play_outcomes_match_the_known_rates():
  # REFERENCES: uniform random play, x wins about 58.5%, o 28.8%, draws 12.7%.
  run = random_play.make_runner(jaxplay.make("tic_tac_toe"), batch_size=2048, num_steps=96)
  rewards, ended = jax.tree.map(np.asarray, run(jax.random.key(0)))
  finals = rewards[ended]  # tic-tac-toe pays only at the end: rewards of ending steps
  assert len(finals) > 15000
  x_wins, o_wins = (finals[:, 0] > 0).mean(), (finals[:, 1] > 0).mean()
  np.testing.assert_allclose([x_wins, o_wins, 1 - x_wins - o_wins], [0.585, 0.288, 0.127],
                             atol=0.015)


def test_the_binary_plays_every_game_until_games_finish(capsys):
  flags.FLAGS(["random_play", "--batch_size=4", "--num_steps=16", "--repeats=1"])
  try:
    assert flags.FLAGS.games == list(jaxplay.registered_games())  # the default: every game
    random_play.main([])
  finally:
    flags.FLAGS.unparse_flags()
  lines = capsys.readouterr().out.splitlines()
  for name in jaxplay.registered_games():
    summary = next(line for line in lines if line.strip().startswith(f"{name}:"))
    assert int(summary.split(":")[1].split()[0]) > 0, summary  # finished games
  overcooked = jaxplay.make("overcooked")
  assert random_play.steps_to_play(overcooked, 16) == 2 * overcooked.horizon
  assert "nan" not in "\n".join(lines)


def test_no_finished_game_is_said_not_averaged():
  rewards, ended = np.zeros((5, 3, 2)), np.zeros((5, 3), bool)
  assert random_play.summarize("overcooked", rewards, ended) == (
      "    overcooked: no game finished within 5 steps")


def test_an_unknown_game_is_one_error_line_without_a_traceback():
  result = subprocess.run(
      [sys.executable, "-m", "experiments.random_play", "--games=tic_tac_toe,chess"],
      capture_output=True, text=True, cwd=pathlib.Path(__file__).parents[1], check=False)
  assert result.returncode == 1
  assert "error: unknown game 'chess'; registered games are: kuhn_poker" in result.stderr
  assert "Traceback" not in result.stderr, result.stderr
