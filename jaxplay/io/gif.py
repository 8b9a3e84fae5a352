"""Animated GIFs of episodes, from any game that draws itself (`Env.render`), through Pillow."""

from __future__ import annotations

import os
import pathlib
from typing import Any, Sequence

import jax
import numpy as np
from PIL import Image


def frames_of(states: Any) -> list[Any]:
  """One unbatched state per frame, from a list of states or states stacked along a leading
  time axis [T] (as `jaxplay.eval.policy_eval.play_episode` returns them)."""
  if isinstance(states, (list, tuple)):
    return list(states)
  return [jax.tree.map(lambda a, t=t: a[t], states) for t in range(states.step_count.shape[0])]


def save_gif(images: Sequence[np.ndarray], path: str | os.PathLike, fps: float = 6.0) -> str:
  """Writes RGB images (uint8[H, W, 3] each) as an animated GIF that loops, `fps` frames a
  second; creates the folder if needed. Returns the path."""
  frames = [Image.fromarray(np.asarray(image, np.uint8)) for image in images]
  if not frames:
    raise ValueError("save_gif needs at least one image")
  path = pathlib.Path(path)
  path.parent.mkdir(parents=True, exist_ok=True)
  delay_ms = 10 * max(round(100 / fps), 2)  # GIF delays are whole hundredths, at least 2
  frames[0].save(path, save_all=True, append_images=frames[1:], duration=delay_ms, loop=0,
                 optimize=False)
  return os.fspath(path)


def save_episode(env: Any, states: Any, path: str | os.PathLike, fps: float = 6.0) -> str:
  """Writes an episode of `env` (states stacked along time, or a list) as a GIF, one frame
  per state drawn by `env.render`. Returns the path."""
  return save_gif([env.render(state) for state in frames_of(states)], path, fps)
