"""Outcome statistics of uniformly random play match the published figures."""

import jax
import numpy as np

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
