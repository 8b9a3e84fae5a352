"""Metric writing: TensorBoard event files, metrics.jsonl and learning-curve plots."""

from __future__ import annotations

import json
import math
import pathlib
import re

import numpy as np
import pytest

from jaxplay.core.errors import JaxplayError
from jaxplay.io.metrics import MetricsFileError, MetricWriter, metric_series, read_metrics
from jaxplay.io.plots import PlotError, plot_curves, plot_learning_curves
from jaxplay.io.tensorboard import EventWriter, read_scalars

# (tag, step, value) as written; 0.1 is not exact in float32.
SCALARS = [("loss", 0, 1.5), ("loss", 1, 0.1), ("eval/win_rate", 1, 0.75), ("loss", -3, 2.0)]


def _shown(scalars):
  """`scalars` as TensorBoard lists them: by tag, each tag's in the order written, float32."""
  return sorted(((tag, step, float(np.float32(value))) for tag, step, value in scalars),
                key=lambda scalar: scalar[0])


def _expected_scalars(rows):
  """Every non-null metric of metrics.jsonl rows as a sorted list of float32 scalars."""
  return sorted((key, row["step"], float(np.float32(value))) for row in rows
                for key, value in row.items() if key not in ("step", "time") and value is not None)


def test_event_writer_round_trip(tmp_path):
  from tensorboard.backend.event_processing.event_file_loader import LegacyEventFileLoader

  with EventWriter(tmp_path / "tb") as writer:
    writer.scalars(0, {"loss": 1.5})
    writer.scalars(1, {"loss": 0.1, "eval/win_rate": 0.75})
    writer.scalars(-3, {"loss": 2.0}, wall_time=123.5)
  assert read_scalars(tmp_path / "tb") == _shown(SCALARS)
  [path] = (tmp_path / "tb").iterdir()
  assert path.name.startswith("events.out.tfevents.")
  assert read_scalars(path) == _shown(SCALARS)
  events = list(LegacyEventFileLoader(str(path)).Load())
  assert events[0].file_version == "brain.Event:2" and events[-1].wall_time == 123.5
  EventWriter(tmp_path / "tb").close()  # A second writer makes a second file.
  assert len(list((tmp_path / "tb").iterdir())) == 2


def test_restart_discards_the_later_steps(tmp_path):
  with EventWriter(tmp_path / "tb") as writer:
    writer.scalars(0, {"loss": 1.5})
    writer.scalars(1, {"loss": 0.1, "eval/win_rate": 0.75})
    writer.scalars(2, {"loss": 0.2})
  with EventWriter(tmp_path / "tb") as writer:  # A restart at step 1 hides the old steps >= 1.
    writer.restart(1)
    writer.scalars(1, {"loss": 0.5})
  assert read_scalars(tmp_path / "tb") == [("loss", 0, 1.5), ("loss", 1, 0.5)]


def test_metric_writer_round_trip(tmp_path):
  with MetricWriter(tmp_path, resume_step=0) as writer:
    writer.write(1, {"loss": 0.5, "episodes": np.int32(7)})
    writer.write(2, {"loss": float("nan"), "exploitability": float("inf")})
    writer.write(3, {"loss": np.float32(0.25), "exploitability": 0.1})
  lines = (tmp_path / "metrics.jsonl").read_text().splitlines()
  assert json.loads(lines[1])["loss"] is None and '"exploitability": null' in lines[1]
  rows = read_metrics(tmp_path)
  assert [row["step"] for row in rows] == [1, 2, 3] and rows[0]["episodes"] == 7
  assert all(isinstance(row["time"], float) for row in rows)
  steps, values = metric_series(rows, "loss")
  assert steps.tolist() == [1, 3] and values.tolist() == [0.5, 0.25]
  # TensorBoard shows the same scalars, and keeps NaN and inf (null in the JSON).
  scalars = read_scalars(tmp_path / "tensorboard")
  finite = [scalar for scalar in scalars if math.isfinite(scalar[2])]
  assert sorted(finite) == _expected_scalars(rows)
  assert ("exploitability", 2, math.inf) in scalars
  assert [step for tag, step, value in scalars if math.isnan(value)] == [2]


def test_metric_writer_rejects_reserved_names(tmp_path):
  with (MetricWriter(tmp_path, resume_step=0, tensorboard=False) as writer,
        pytest.raises(JaxplayError)):
    writer.write(0, {"time": 1.0})


def _write_steps(workdir, resume_step, steps, scale):
  with MetricWriter(workdir, resume_step=resume_step) as writer:
    for step in steps:
      writer.write(step, {"loss": scale * step})


def test_resume_shows_each_step_once(tmp_path):
  _write_steps(tmp_path, 0, range(1, 6), 1.0)
  _write_steps(tmp_path, 3, [4], 10.0)  # Resumed from a checkpoint at 3, killed after 4.
  _write_steps(tmp_path, 4, [5, 6], 10.0)
  expected = [("loss", 1, 1.0), ("loss", 2, 2.0), ("loss", 3, 3.0), ("loss", 4, 40.0),
              ("loss", 5, 50.0), ("loss", 6, 60.0)]
  rows = read_metrics(tmp_path)
  assert [(row["step"], row["loss"]) for row in rows] == [(s, v) for _, s, v in expected]
  assert read_scalars(tmp_path / "tensorboard") == expected


def test_a_fresh_start_drops_every_earlier_row(tmp_path):
  _write_steps(tmp_path, 0, [1, 2], 1.0)  # Killed before its first checkpoint.
  _write_steps(tmp_path, 0, [1, 2, 3], 10.0)
  assert [(row["step"], row["loss"]) for row in read_metrics(tmp_path)] == [
      (1, 10.0), (2, 20.0), (3, 30.0)]
  assert read_scalars(tmp_path / "tensorboard") == [
      ("loss", 1, 10.0), ("loss", 2, 20.0), ("loss", 3, 30.0)]


def test_resume_drops_rows_after_the_checkpoint(tmp_path):
  with MetricWriter(tmp_path, resume_step=0, tensorboard=False) as writer:
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
  with MetricWriter(tmp_path, resume_step=1, tensorboard=False) as writer:
    writer.write(2, {"loss": 2.0})
  assert [row["step"] for row in read_metrics(path)] == [1, 2]
  path.write_text('{"step": 1, "time": 0.0}')  # Whole, but its newline was not written.
  MetricWriter(tmp_path, resume_step=1, tensorboard=False).close()
  assert path.read_text() == '{"step": 1, "time": 0.0}\n'


def test_torn_middle_line_is_one_clear_error_and_changes_nothing(tmp_path):
  path = tmp_path / "metrics.jsonl"
  text = '{"step": 1, "time": 0.0}\n{"step": 2, "ti\n{"step": 3, "time": 0.0}\n'
  path.write_text(text)
  message = rf"line 2 of {re.escape(str(path))} is not JSON .*Delete or repair line 2"
  with pytest.raises(MetricsFileError, match=message):
    read_metrics(tmp_path)
  with pytest.raises(MetricsFileError, match=message):
    MetricWriter(tmp_path, resume_step=1)
  assert path.read_text() == text
  assert list(tmp_path.iterdir()) == [path]  # No temp file, no event file.


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


def test_curves_on_one_plot_skip_missing_points_and_refuse_empty_ones(tmp_path):
  out = plot_curves({"PSRO": ([1, 2, 3], [0.3, float("nan"), 1e-4]), "CFR+": ([1, 2], [0.5, 0.2])},
                    tmp_path / "curves.png", xlabel="iterations", ylabel="exploitability")
  assert pathlib.Path(out).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
  with pytest.raises(PlotError, match=r"no curve has a finite point: \['a'\]"):
    plot_curves({"a": ([0], [float("nan")])}, tmp_path / "b.png", xlabel="x", ylabel="y")
  assert not (tmp_path / "b.png").exists()
