"""Metric writing: TensorBoard event files, metrics.jsonl and learning-curve plots."""

from __future__ import annotations

import json
import math
import pathlib

import numpy as np
import pytest

from jaxplay.core.errors import JaxplayError
from jaxplay.io.metrics import MetricWriter, metric_series, read_metrics
from jaxplay.io.plots import PlotError, plot_learning_curves
from jaxplay.io.tensorboard import EventWriter, crc32c, masked_crc32c, read_scalars

SCALARS = [("loss", 0, 1.5), ("loss", 1, 0.25), ("eval/win_rate", 1, 0.75), ("loss", -3, 2.0)]


def _write_events(logdir: pathlib.Path) -> str:
  with EventWriter(logdir) as writer:
    for tag, step, value in SCALARS[:2]:
      writer.scalar(tag, value, step)
    writer.scalars(1, {"eval/win_rate": 0.75})
    writer.scalar("loss", 2.0, -3, wall_time=123.5)
  return writer.path


def test_crc32c_known_answers():
  assert crc32c(b"123456789") == 0xE3069283
  assert crc32c(b"") == 0
  assert masked_crc32c(b"") == 0xA282EAD8


def test_event_writer_round_trip(tmp_path):
  path = pathlib.Path(_write_events(tmp_path / "tb"))
  assert path.name.startswith("events.out.tfevents.")
  assert b"brain.Event:2" in path.read_bytes()[:64]
  assert read_scalars(path) == SCALARS  # All values are exact in float32.
  assert read_scalars(tmp_path / "tb") == SCALARS
  second = EventWriter(tmp_path / "tb")  # Same second, same process: a new file.
  second.close()
  assert second.path != str(path)


@pytest.mark.parametrize("where", [3, 9, 20, -2])  # length, length CRC, data, data CRC.
def test_corrupt_byte_is_a_value_error(tmp_path, where):
  path = pathlib.Path(_write_events(tmp_path))
  data = bytearray(path.read_bytes())
  data[where] ^= 0x10
  path.write_bytes(bytes(data))
  with pytest.raises(ValueError, match="CRC|truncated"):
    read_scalars(path)


def test_tensorboard_reads_our_files(tmp_path):
  pytest.importorskip("tensorboard")
  from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
  from tensorboard.backend.event_processing.event_file_loader import LegacyEventFileLoader

  path = _write_events(tmp_path / "tb")
  events = list(LegacyEventFileLoader(path).Load())
  assert events[0].file_version == "brain.Event:2"
  assert events[-1].wall_time == 123.5
  loaded = [(v.tag, e.step, v.simple_value) for e in events[1:] for v in e.summary.value]
  assert loaded == SCALARS

  with EventWriter(tmp_path / "tb") as writer:  # A restart at step 1 hides the old steps >= 1.
    writer.restart(1)
    writer.scalar("loss", 0.5, 1)
  accumulator = EventAccumulator(str(tmp_path / "tb"))
  accumulator.Reload()
  assert sorted(accumulator.Tags()["scalars"]) == ["eval/win_rate", "loss"]
  assert [(s.step, s.value) for s in accumulator.Scalars("loss")] == [(0, 1.5), (-3, 2.0),
                                                                    (1, 0.5)]
  assert accumulator.Scalars("eval/win_rate") == []


def test_metric_writer_round_trip(tmp_path):
  with MetricWriter(tmp_path) as writer:
    writer.write(1, {"loss": 0.5, "episodes": np.int32(7)})
    writer.write(2, {"loss": float("nan"), "exploitability": float("inf")})
    writer.write(3, {"loss": np.float32(0.25)})
  lines = (tmp_path / "metrics.jsonl").read_text().splitlines()
  assert json.loads(lines[1])["loss"] is None and '"exploitability": null' in lines[1]
  rows = read_metrics(tmp_path)
  assert [row["step"] for row in rows] == [1, 2, 3] and rows[0]["episodes"] == 7
  assert all(isinstance(row["time"], float) for row in rows)
  steps, values = metric_series(rows, "loss")
  assert steps.tolist() == [1, 3] and values.tolist() == [0.5, 0.25]
  scalars = read_scalars(tmp_path / "tensorboard")
  assert ("loss", 3, 0.25) in scalars and math.isnan(dict(
      ((t, s), v) for t, s, v in scalars)[("loss", 2)])


def test_metric_writer_rejects_reserved_names(tmp_path):
  with MetricWriter(tmp_path, tensorboard=False) as writer, pytest.raises(JaxplayError):
    writer.write(0, {"time": 1.0})


def test_resume_drops_rows_after_the_checkpoint(tmp_path):
  with MetricWriter(tmp_path, tensorboard=False) as writer:
    for step in range(1, 6):
      writer.write(step, {"loss": float(step)})
  with open(tmp_path / "metrics.jsonl", "a") as f:
    f.write('{"step": 6, "ti')  # Killed mid-write.
  with MetricWriter(tmp_path, resume_step=3, tensorboard=False) as writer:
    writer.write(4, {"loss": 40.0})
  rows = read_metrics(tmp_path)
  assert [(row["step"], row["loss"]) for row in rows] == [(1, 1), (2, 2), (3, 3), (4, 40)]
  assert not (tmp_path / "tensorboard").exists()
  assert list(tmp_path.iterdir()) == [tmp_path / "metrics.jsonl"]  # No temp file left.


def test_torn_last_line_is_ignored_and_not_extended(tmp_path):
  path = tmp_path / "metrics.jsonl"
  path.write_text('{"step": 1, "time": 0.0, "loss": 1.0}\n{"step": 2, "ti')
  assert read_metrics(path) == [{"step": 1, "time": 0.0, "loss": 1.0}]
  with MetricWriter(tmp_path, tensorboard=False) as writer:
    writer.write(2, {"loss": 2.0})
  assert [row["step"] for row in read_metrics(path)] == [1, 2]
  path.write_text('{"step": 1, "time": 0.0}')  # Whole, but its newline was not written.
  MetricWriter(tmp_path, tensorboard=False).close()
  assert path.read_text() == '{"step": 1, "time": 0.0}\n'
  path.write_text('{"step": 1, "ti\n{"step": 2, "time": 0.0}\n')
  with pytest.raises(ValueError, match=":1:"):
    read_metrics(path)


def test_plot_writes_a_png(tmp_path):
  rows = [{"step": s, "time": 0.0, "exploitability": 1.0 / (s + 1), "loss": None if s == 2
           else float(s)} for s in range(5)]
  out = plot_learning_curves(rows, tmp_path / "plots" / "curves.png", title="kuhn",
                             references={"cfr_plus exploitability": 0.01})
  assert out == str(tmp_path / "plots" / "curves.png")
  assert pathlib.Path(out).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_errors_name_the_available_keys(tmp_path):
  with pytest.raises(PlotError, match="no metric rows"):
    plot_learning_curves([], tmp_path / "a.png")
  with pytest.raises(PlotError, match=r"available: \['loss'\]"):
    plot_learning_curves([{"step": 0, "loss": 1.0}], tmp_path / "a.png", keys=["reward"])
  assert not (tmp_path / "a.png").exists()
