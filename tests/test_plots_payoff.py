"""Payoff-matrix heatmaps: the PNG decodes at the expected size, dead members are left out,
the rendered array's shape and dtype, and the errors of bad inputs."""

import chex
import jax.numpy as jnp
import numpy as np
import pytest
from PIL import Image

from jaxplay.core.errors import ConfigError
from jaxplay.io.plots import PlotError, _payoff_figure, payoff_image, plot_payoff_matrix

N = 5
PAYOFF = np.array([[0.0, 0.5, -0.5, 0.9, np.nan],
                   [-0.5, 0.0, 0.2, -1.0, 3.0],
                   [0.5, -0.2, 0.0, 0.1, 3.0],
                   [-0.9, 1.0, -0.1, 0.0, 3.0],
                   [np.nan, -3.0, -3.0, -3.0, 0.0]], np.float32)
LIVE = np.array([True, True, True, True, False])
COUNTS = np.full((N, N), 10.0)
COUNTS[0, 2] = COUNTS[2, 0] = 0.0                    # never played: left blank


def _tick_labels(axis_labels):
  return [label.get_text() for label in axis_labels]


def test_png_is_written_and_decodes(tmp_path):
  path = tmp_path / "new" / "folder" / "payoff.png"
  out = plot_payoff_matrix(PAYOFF, path, live=LIVE, counts=COUNTS, title="payoff",
                           labels=[f"m{i}" for i in range(N)])
  assert out == str(path) and path.is_file()
  with Image.open(path) as image:
    image.load()
    width, height = image.size
    assert image.format == "PNG"
  # 4 members shown: (4.2 + 1.8) x (3 + 1.8) inches at 100 dpi.
  assert (width, height) == (600, 480)


def test_dead_members_are_left_out():
  fig, shown = _payoff_figure(PAYOFF, live=LIVE, counts=COUNTS,
                              labels=["a", "b", "c", "d", "dead"])
  ax = fig.axes[0]
  np.testing.assert_array_equal(shown, [0, 1, 2, 3])
  assert _tick_labels(ax.get_xticklabels()) == ["a", "b", "c", "d"]
  assert _tick_labels(ax.get_yticklabels()) == ["a", "b", "c", "d"]
  # 16 cells, 2 never played: 14 values printed; the dead member's 3.0 is not among them.
  texts = [text.get_text() for text in ax.texts]
  assert len(texts) == 14 and "3" not in texts and "-3" not in texts
  low, high = ax.images[0].get_clim()
  assert (low, high) == (-1.0, 1.0)                  # centred at 0, from the shown cells only


def test_large_matrices_are_not_annotated():
  n = 20
  payoff = np.random.default_rng(0).normal(size=(n, n))
  fig, shown = _payoff_figure(payoff)
  assert len(shown) == n and not fig.axes[0].texts
  assert len(fig.axes[0].get_xticklabels()) == n


def test_payoff_image_array():
  image = payoff_image(jnp.asarray(PAYOFF), live=jnp.asarray(LIVE), counts=COUNTS)
  chex.assert_shape(image, (480, 600, 3))
  assert image.dtype == np.uint8 and image.flags.c_contiguous
  assert image.min() < 50 and image.max() == 255     # drawn, not blank
  small = payoff_image(PAYOFF, live=LIVE, dpi=50)
  chex.assert_shape(small, (240, 300, 3))


@pytest.mark.parametrize("kwargs, error, match", [
    ({"payoff": np.zeros((3, 2))}, ConfigError, "square"),
    ({"live": np.ones(4, bool)}, ConfigError, "live"),
    ({"live": np.ones(3)}, ConfigError, "bool"),
    ({"counts": np.ones((2, 2))}, ConfigError, "counts"),
    ({"labels": ["a", "b"]}, ConfigError, "labels"),
    ({"live": np.zeros(3, bool)}, PlotError, "no live"),
])
def test_bad_inputs_raise(tmp_path, kwargs, error, match):
  kwargs = {"payoff": np.zeros((3, 3)), **kwargs}
  with pytest.raises(error, match=match):
    plot_payoff_matrix(path=tmp_path / "p.png", **kwargs)
