"""The experiment binaries run end to end (small settings)."""

from absl import flags

from experiments import overcooked_gif

def test_overcooked_gif_writes_an_animated_gif(tmp_path, capsys):
  out = tmp_path / "episode.gif"
  flags.FLAGS(["overcooked_gif", "--steps=6", f"--out={out}", "--layout=cramped_room"])
  try:
    overcooked_gif.main([])
  finally:
    flags.FLAGS.unparse_flags()
  data = out.read_bytes()
  assert data[:6] in (b"GIF87a", b"GIF89a") and len(data) > 200
  assert "wrote 7 frames of cramped_room" in capsys.readouterr().out
