"""Plays one Overcooked episode with uniformly random actions and writes it as an animated GIF.

    python -m experiments.overcooked_gif --layout=cramped_room --steps=200 --out=overcooked.gif
"""

from __future__ import annotations

import sys

import jax
from absl import app, flags

import jaxplay
from jaxplay.agents import random_agent
from jaxplay.core.errors import JaxplayError
from jaxplay.eval import play as play_lib
from jaxplay.games.overcooked import layouts, render
from jaxplay.io import gif

_LAYOUT = flags.DEFINE_string("layout", "cramped_room",
                              f"A layout name: {', '.join(sorted(layouts.LAYOUTS))}.")
_DYNAMICS = flags.DEFINE_enum("dynamics", "classic", ["classic", "new"], "Pot dynamics.")
_STEPS = flags.DEFINE_integer("steps", 200, "Steps to play (at most the horizon, 400).",
                              lower_bound=0)
_SEED = flags.DEFINE_integer("seed", 0, "Seed of the random actions.")
_OUT = flags.DEFINE_string("out", "overcooked.gif", "Where to write the GIF.")


def play(env, key: jax.Array, num_steps: int) -> list:
  """The states of one random-play episode, one per step (the initial state first)."""
  return gif.frames_of(play_lib.episode(env, random_agent(), key, num_steps))


def main(argv):
  del argv
  try:
    env = jaxplay.make("overcooked", layout=_LAYOUT.value, dynamics=_DYNAMICS.value)
    states = play(env, jax.random.key(_SEED.value), _STEPS.value)
    path = gif.save_episode(env, states, _OUT.value)  # creates the folder if needed
  except JaxplayError as error:  # a user's mistake: say what and how to fix it, no traceback
    sys.exit(f"error: {error}")
  print(f"wrote {len(states)} frames of {_LAYOUT.value} to {path}")
  print(render.text(env, states[-1]))


if __name__ == "__main__":
  app.run(main)
