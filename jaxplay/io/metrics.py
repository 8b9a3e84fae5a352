"""Training metrics: JSON lines in `<workdir>/metrics.jsonl`, scalars in `<workdir>/tensorboard/`.

Each `MetricWriter.write` appends one line

    {"step": 100, "time": 1767225600.25, "exploitability": 0.0123, "loss": null}

(`time` in unix seconds; NaN and inf are written as null). `read_metrics` reads the rows back,
ignoring a torn last line from a run killed mid-write (any other bad line is a
`MetricsFileError`), and `metric_series` picks out one metric as (steps, values) arrays.
"""

from __future__ import annotations

import json
import math
import os
import pathlib
import time
from typing import Any, Mapping

import numpy as np

from jaxplay.core.errors import ConfigError, JaxplayError
from jaxplay.io.tensorboard import EventWriter

METRICS_FILE = "metrics.jsonl"
_RESERVED = ("step", "time")


class MetricsFileError(JaxplayError):
  """A line of metrics.jsonl other than the last is not JSON."""


def _metrics_path(path_or_workdir: str | os.PathLike) -> pathlib.Path:
  path = pathlib.Path(path_or_workdir)
  return path / METRICS_FILE if path.is_dir() else path


def _json_value(value: Any) -> int | float | None:
  if value is None:
    return None
  if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
    return int(value)
  value = float(value)
  return value if math.isfinite(value) else None


def read_metrics(path_or_workdir: str | os.PathLike) -> list[dict]:
  """The rows of a metrics.jsonl file (or of `<workdir>/metrics.jsonl`), in file order.
  A last line that is not valid JSON (a run killed mid-write) is ignored; any other bad
  line raises MetricsFileError."""
  path = _metrics_path(path_or_workdir)
  lines = path.read_text().splitlines()
  rows = []
  for number, line in enumerate(lines, 1):
    if not line.strip():
      continue
    try:
      rows.append(json.loads(line))
    except json.JSONDecodeError:
      if number == len(lines):
        break
      raise MetricsFileError(
          f"line {number} of {path} is not JSON ({line[:80]!r}); only a torn last line (a run "
          f"killed mid-write) is skipped. Delete or repair line {number}, then run again."
      ) from None
  return rows


def last_step(workdir: str | os.PathLike) -> int:
  """The largest step in `<workdir>/metrics.jsonl` (0 where there is none)."""
  path = pathlib.Path(workdir) / METRICS_FILE
  return max((row["step"] for row in read_metrics(path)), default=0) if path.exists() else 0


def metric_series(rows: list[dict], key: str) -> tuple[np.ndarray, np.ndarray]:
  """(steps int64[n], values float64[n]) of the rows whose `key` is present and not null."""
  kept = [row for row in rows if row.get(key) is not None]
  return (np.array([row["step"] for row in kept], np.int64),
          np.array([row[key] for row in kept], np.float64))


def _rewrite(path: pathlib.Path, resume_step: int) -> None:
  """Rewrites `path` atomically with only the rows at steps <= `resume_step` (and so without
  a torn last line)."""
  rows = [row for row in read_metrics(path) if row["step"] <= resume_step]
  temp = path.with_name(path.name + ".tmp")
  temp.write_text("".join(json.dumps(row) + "\n" for row in rows))
  os.replace(temp, path)


class MetricWriter:
  """Appends metrics of a training run to `<workdir>/metrics.jsonl` and, if `tensorboard`,
  to an event file in `<workdir>/tensorboard/`.

  `resume_step`: the step this run continues from (its checkpoint's; 0 for a run that starts
  from scratch). Rows after it, written by an earlier run that was stopped, are removed first,
  and TensorBoard is told of the restart so that it discards them too."""

  def __init__(self, workdir: str | os.PathLike, *, resume_step: int,
               tensorboard: bool = True) -> None:
    self.workdir = pathlib.Path(workdir)
    self.workdir.mkdir(parents=True, exist_ok=True)
    self.path = self.workdir / METRICS_FILE
    if self.path.exists():
      _rewrite(self.path, resume_step)  # Also drops a torn last line appending would extend.
    self._file = open(self.path, "a", buffering=1)  # Line-buffered: whole rows reach disk.
    self._events = EventWriter(self.workdir / "tensorboard") if tensorboard else None
    if self._events is not None:
      self._events.restart(resume_step + 1)

  def write(self, step: int, metrics: Mapping[str, float]) -> None:
    """Appends `metrics` at `step` (values: numbers, 0-d arrays or None)."""
    clash = [key for key in _RESERVED if key in metrics]
    if clash:
      raise ConfigError(f"metric names {clash} are reserved; rename them")
    values = {key: _json_value(value) for key, value in metrics.items()}
    row = {"step": int(step), "time": time.time(), **values}
    self._file.write(json.dumps(row, allow_nan=False) + "\n")
    if self._events is not None:
      self._events.scalars(step, {k: float(v) for k, v in metrics.items() if v is not None},
                           wall_time=row["time"])

  def image(self, step: int, tag: str, rgb) -> None:
    """An image (uint8[H, W, 3]) for TensorBoard at `step` (metrics.jsonl holds numbers
    only; nothing is written without TensorBoard)."""
    if self._events is not None:
      self._events.image(step, tag, rgb)

  def flush(self) -> None:
    self._file.flush()
    if self._events is not None:
      self._events.flush()

  def close(self) -> None:
    self._file.close()
    if self._events is not None:
      self._events.close()

  def __enter__(self) -> MetricWriter:
    return self

  def __exit__(self, *exc_info: object) -> None:
    self.close()


class NoMetrics(MetricWriter):
  """A `MetricWriter` that writes nothing: what processes other than 0 of a multi-host run
  get (process 0 writes the run's metrics)."""

  def __init__(self) -> None:  # pylint: disable=super-init-not-called
    pass

  def write(self, step: int, metrics: Mapping[str, float]) -> None:
    del step, metrics

  def image(self, step: int, tag: str, rgb) -> None:
    del step, tag, rgb

  def flush(self) -> None:
    pass

  def close(self) -> None:
    pass
