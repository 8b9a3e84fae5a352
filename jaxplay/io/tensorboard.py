"""TensorBoard scalars of a run, through the tensorboard package (TensorFlow is not needed).

`EventWriter` appends scalars to a new event file with tensorboard's `EventFileWriter` (what
torch's SummaryWriter uses); `read_scalars` reads a run back with tensorboard's
`EventAccumulator`, so it returns what TensorBoard shows, restarts applied.
"""

from __future__ import annotations

import io
import os
import pathlib
import re
import time
from typing import Mapping

import numpy as np
from PIL import Image
from tensorboard.backend.event_processing import event_accumulator
from tensorboard.compat.proto import event_pb2, summary_pb2
from tensorboard.summary.writer.event_file_writer import EventFileWriter

# EventFileWriter names files events.out.tfevents.<second, 10 digits>.<host>.<pid>.<counter>.
_FILE_SECOND = re.compile(r"events\.out\.tfevents\.(\d+)\.")
FLUSH_SECONDS = 10  # a live TensorBoard lags the run by at most this (tensorboard's: 120)


def _wait_past_newest_file(logdir: pathlib.Path) -> None:
  """Sleeps until the clock is past the second the newest event file in `logdir` was made in.

  TensorBoard reads a run's files in name order, and a restart must be read after the events
  it discards; within one second the names' pid and counter decide the order, not time."""
  seconds = [int(match[1]) for path in logdir.iterdir()
             if (match := _FILE_SECOND.match(path.name))]
  wait = max(seconds, default=0) + 1 - time.time()
  if wait > 0:
    time.sleep(wait)


class EventWriter:
  """Appends scalars to a new event file in `logdir` (made if missing)."""

  def __init__(self, logdir: str | os.PathLike) -> None:
    logdir = pathlib.Path(logdir)
    logdir.mkdir(parents=True, exist_ok=True)
    _wait_past_newest_file(logdir)
    self._writer = EventFileWriter(str(logdir), flush_secs=FLUSH_SECONDS)

  def _add(self, step: int, wall_time: float | None, **field) -> None:
    wall_time = time.time() if wall_time is None else wall_time
    self._writer.add_event(event_pb2.Event(wall_time=wall_time, step=int(step), **field))

  def scalars(self, step: int, mapping: Mapping[str, float],
              wall_time: float | None = None) -> None:
    """Appends one Event holding every `tag: value` of `mapping` (as float32) at `step`;
    `wall_time` in unix seconds, now if None."""
    values = [summary_pb2.Summary.Value(tag=tag, simple_value=float(value))
              for tag, value in mapping.items()]
    self._add(step, wall_time, summary=summary_pb2.Summary(value=values))

  def image(self, step: int, tag: str, rgb, wall_time: float | None = None) -> None:
    """Appends an image (uint8[H, W, 3], stored as PNG) under `tag` at `step`."""
    rgb = np.asarray(rgb, np.uint8)
    png = io.BytesIO()
    Image.fromarray(rgb).save(png, format="PNG")
    height, width, channels = rgb.shape
    picture = summary_pb2.Summary.Image(height=height, width=width, colorspace=channels,
                                        encoded_image_string=png.getvalue())
    self._add(step, wall_time, summary=summary_pb2.Summary(
        value=[summary_pb2.Summary.Value(tag=tag, image=picture)]))

  def restart(self, step: int) -> None:
    """Marks a restart at `step` (a SessionLog START): TensorBoard then discards the events
    at steps >= `step` written before it."""
    start = event_pb2.SessionLog(status=event_pb2.SessionLog.START)
    self._add(step, None, session_log=start)

  def flush(self) -> None:
    self._writer.flush()

  def close(self) -> None:
    self._writer.close()

  def __enter__(self) -> EventWriter:
    return self

  def __exit__(self, *exc_info: object) -> None:
    self.close()


def read_scalars(path: str | os.PathLike) -> list[tuple[str, int, float]]:
  """Every (tag, step, value) scalar TensorBoard shows for a run (a directory of event files,
  or one file): tags in sorted order, each tag's scalars in the order read, none sampled
  away, the events a restart discards left out."""
  scalars = event_accumulator.SCALARS
  accumulator = event_accumulator.EventAccumulator(str(path), size_guidance={scalars: 0})
  accumulator.Reload()
  return [(tag, event.step, event.value) for tag in sorted(accumulator.Tags()[scalars])
          for event in accumulator.Scalars(tag)]
