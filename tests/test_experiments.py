"""The experiment binaries run end to end (small settings)."""

import pathlib
import subprocess
import sys

from absl import flags

from experiments import overcooked_gif


def test_overcooked_gif_writes_an_animated_gif(tmp_path, capsys):
  out = tmp_path / "new" / "folder" / "episode.gif"  # folders that do not exist yet
  flags.FLAGS(["overcooked_gif", "--steps=6", f"--out={out}", "--layout=cramped_room"])
  try:
    overcooked_gif.main([])
  finally:
    flags.FLAGS.unparse_flags()
  data = out.read_bytes()
  assert data[:6] in (b"GIF87a", b"GIF89a") and len(data) > 200
  assert "wrote 7 frames of cramped_room" in capsys.readouterr().out


def test_overcooked_gif_reports_an_unknown_layout_in_one_line(tmp_path):
  result = subprocess.run(
      [sys.executable, "-m", "experiments.overcooked_gif", "--layout=foo", "--steps=2",
       f"--out={tmp_path / 'x.gif'}"],
      capture_output=True, text=True, cwd=pathlib.Path(__file__).parents[1], check=False)
  assert result.returncode == 1
  assert "error: overcooked: unknown layout 'foo'; the named layouts are" in result.stderr
  assert "Traceback" not in result.stderr, result.stderr
  assert not (tmp_path / "x.gif").exists()
