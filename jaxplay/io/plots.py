"""Plots to PNG files: learning curves of metric rows (as `read_metrics` returns them),
named curves on one plot, payoff matrices.

matplotlib is imported inside the plotting functions only, and draws through its Agg canvas
directly (no pyplot, so the caller's backend is left alone).
"""

from __future__ import annotations

import math
import os
import pathlib
from typing import Mapping, Sequence

from jaxplay.core.errors import JaxplayError

MAX_PLOTS = 12
_LOG_KEYS = ("exploitability", "nash_conv")


class PlotError(JaxplayError):
  """Nothing to plot: no rows, or none of the asked-for metrics are in them."""


def _is_number(value: object) -> bool:
  return (isinstance(value, (int, float)) and not isinstance(value, bool)
          and math.isfinite(value))


def _series(rows: list[dict], key: str, x_key: str) -> tuple[list[float], list[float]]:
  points = [(row[x_key], row[key]) for row in rows
            if _is_number(row.get(x_key)) and _is_number(row.get(key))]
  return [x for x, _ in points], [y for _, y in points]


def _numeric_keys(rows: list[dict], x_key: str) -> list[str]:
  keys = {key for row in rows for key, value in row.items() if _is_number(value)}
  return sorted(key for key in keys - {x_key, "step", "time"} if _series(rows, key, x_key)[0])


def _matching_references(key: str, references: Mapping[str, float]) -> dict[str, float]:
  """The references drawn on `key`'s plot: those whose name contains `key` or is contained
  in it, e.g. "cfr_plus exploitability" on the plot of "exploitability"."""
  return {name: value for name, value in references.items() if key in name or name in key}


def plot_learning_curves(rows: list[dict], path: str | os.PathLike,
                         keys: Sequence[str] | None = None, x_key: str = "step",
                         title: str | None = None,
                         references: Mapping[str, float] | None = None) -> str:
  """Writes a PNG with one plot of each metric in `keys` against `x_key`, and returns its path.

  `keys` defaults to every numeric key but step and time (sorted, at most 12); asked-for keys
  absent from the rows are left out. Keys containing "exploitability" or "nash_conv" get a
  log y axis when all their values are > 0. `references` (name -> value) are drawn as
  dashed horizontal lines on the plots whose key matches the name (see
  `_matching_references`). Raises PlotError when there are no rows or none of the keys."""
  if not rows:
    raise PlotError("no metric rows to plot")
  available = _numeric_keys(rows, x_key)
  wanted = available[:MAX_PLOTS] if keys is None else [k for k in keys if k in available]
  if not wanted:
    raise PlotError(f"none of the keys {list(keys or [])} have numeric values against "
                    f"{x_key!r}; available: {available}")
  from matplotlib.backends.backend_agg import FigureCanvasAgg
  from matplotlib.figure import Figure

  cols = min(3, len(wanted))
  nrows = math.ceil(len(wanted) / cols)
  fig = Figure(figsize=(4.5 * cols, 3.2 * nrows), layout="constrained")
  FigureCanvasAgg(fig)
  for index, key in enumerate(wanted):
    ax = fig.add_subplot(nrows, cols, index + 1)
    xs, ys = _series(rows, key, x_key)
    ax.plot(xs, ys, marker="." if len(xs) < 30 else None, label=key)
    for name, value in _matching_references(key, references or {}).items():
      ax.axhline(value, linestyle="--", color="gray", label=f"{name} = {value:g}")
    if any(word in key for word in _LOG_KEYS) and min(ys) > 0:
      ax.set_yscale("log")
    ax.set(title=key, xlabel=x_key)
    ax.grid(alpha=0.3)
    if len(ax.get_lines()) > 1:
      ax.legend(fontsize="small")
  if title:
    fig.suptitle(title)
  out = pathlib.Path(path)
  out.parent.mkdir(parents=True, exist_ok=True)
  fig.savefig(out, format="png", dpi=100)
  return str(out)


def plot_curves(curves: Mapping[str, tuple[Sequence[float], Sequence[float]]],
                path: str | os.PathLike, *, xlabel: str, ylabel: str, log_y: bool = True,
                title: str | None = None) -> str:
  """Writes a PNG of several named curves (name -> (xs, ys)) on one plot, e.g. the
  exploitability of PSRO runs and CFR+ against iterations, and returns its path. Non-finite
  points are left out; `log_y` applies where every value left is > 0. Raises PlotError when
  no curve has a point."""
  series = {}
  for name, (xs, ys) in curves.items():
    points = [(x, y) for x, y in zip(xs, ys) if _is_number(x) and _is_number(y)]
    if points:
      series[name] = ([x for x, _ in points], [y for _, y in points])
  if not series:
    raise PlotError(f"no curve has a finite point: {sorted(curves)}")
  from matplotlib.backends.backend_agg import FigureCanvasAgg
  from matplotlib.figure import Figure

  fig = Figure(figsize=(6.4, 4.2), layout="constrained")
  FigureCanvasAgg(fig)
  ax = fig.add_subplot()
  for name, (xs, ys) in series.items():
    ax.plot(xs, ys, marker="." if len(xs) < 60 else None, label=name)
  if log_y and all(y > 0 for _, ys in series.values() for y in ys):
    ax.set_yscale("log")
  ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
  ax.grid(alpha=0.3)
  ax.legend(fontsize="small")
  out = pathlib.Path(path)
  out.parent.mkdir(parents=True, exist_ok=True)
  fig.savefig(out, format="png", dpi=100)
  return str(out)


# --- payoff matrices ----------------------------------------------------------------------------

MAX_ANNOTATED = 16  # payoff heatmaps of at most this many members print their values


def _payoff_figure(payoff, *, labels=None, live=None, counts=None, title=None):
  """The matplotlib Figure (on an Agg canvas) of `plot_payoff_matrix`, and the indices int[M]
  of the members shown; see there for the arguments and errors."""
  import numpy as np
  from matplotlib.backends.backend_agg import FigureCanvasAgg
  from matplotlib.figure import Figure

  from jaxplay.core.errors import ConfigError

  payoff = np.asarray(payoff, np.float64)
  if payoff.ndim != 2 or payoff.shape[0] != payoff.shape[1]:
    raise ConfigError(f"plot_payoff_matrix: payoff must be a square float[N, N] matrix, got "
                      f"shape {payoff.shape}")
  n = payoff.shape[0]
  live = np.ones(n, bool) if live is None else np.asarray(live)
  if live.shape != (n,) or live.dtype != np.bool_:
    raise ConfigError(f"plot_payoff_matrix: live must be a bool[{n}] mask, got "
                      f"{live.dtype}{list(live.shape)}")
  played = np.ones((n, n), bool)
  if counts is not None:
    counts = np.asarray(counts, np.float64)
    if counts.shape != (n, n):
      raise ConfigError(f"plot_payoff_matrix: counts must be float[{n}, {n}] like payoff, got "
                        f"shape {counts.shape}")
    played = counts > 0
  labels = [str(i) for i in range(n)] if labels is None else [str(label) for label in labels]
  if len(labels) != n:
    raise ConfigError(f"plot_payoff_matrix: labels must name the {n} members, got {len(labels)}")
  shown = np.flatnonzero(live)
  if shown.size == 0:
    raise PlotError("plot_payoff_matrix: no live members to plot")

  sub = np.ix_(shown, shown)
  values = np.where(played[sub], payoff[sub], np.nan)          # NaN: never played, blank
  finite = values[np.isfinite(values)]
  limit = float(np.abs(finite).max()) if finite.size else 1.0
  limit = limit if limit > 0 else 1.0
  m = shown.size
  side = min(14.0, 3.0 + 0.45 * m)
  fig = Figure(figsize=(side + 1.2, side), layout="constrained")
  FigureCanvasAgg(fig)
  ax = fig.add_subplot()
  image = ax.imshow(np.ma.masked_invalid(values), cmap="RdBu", vmin=-limit, vmax=limit,
                    interpolation="nearest")
  ax.set_facecolor("0.85")                                     # the blanks
  names = [labels[i] for i in shown]
  ax.set_xticks(range(m), names, rotation=90 if m > 8 else 0)
  ax.set_yticks(range(m), names)
  ax.set(xlabel="opponent (column)", ylabel="member (row)")
  if m <= MAX_ANNOTATED:
    for (row, col), value in np.ndenumerate(values):
      if np.isfinite(value):
        ax.text(col, row, f"{value:.2g}", ha="center", va="center", fontsize="small",
                color="white" if abs(value) > 0.6 * limit else "black")
  fig.colorbar(image, ax=ax, label="mean return of row against column", shrink=0.8)
  if title:
    ax.set_title(title)
  return fig, shown


def plot_payoff_matrix(payoff, path: str | os.PathLike, *, labels: Sequence[str] | None = None,
                       live=None, counts=None, title: str | None = None) -> str:
  """Writes a PNG heatmap of a population's payoff matrix (folder made if missing) and returns
  its path.

  Cell (i, j) is member i's mean return against member j, on a diverging colormap (RdBu: red
  below 0, blue above) centred at 0 and symmetric (+-max |payoff| of the cells shown). With
  at most 16 members shown the values are printed in the cells. Members not live are left
  out (rows and columns), and entries with counts 0 (never played) or not finite are left
  blank (gray). The image is (4.2 + 0.45 M) x (3 + 0.45 M) inches (width x height) at 100
  dpi for M members shown, at most 15.2 x 14.

  Args:
    payoff: float[N, N] payoff[i, j] member i's mean return against member j.
    path: the PNG file to write.
    labels: N names of the members, by index; default their indices "0", "1", ...
    live: bool[N] the members shown; default all.
    counts: float[N, N] the games behind each entry; default all played.
    title: drawn above the matrix.

  Raises:
    ConfigError: a payoff that is not [N, N], or live, counts or labels not matching N.
    PlotError: no live member.
  """
  fig, _ = _payoff_figure(payoff, labels=labels, live=live, counts=counts, title=title)
  out = pathlib.Path(path)
  out.parent.mkdir(parents=True, exist_ok=True)
  fig.savefig(out, format="png", dpi=100)
  return str(out)


def payoff_image(payoff, *, labels: Sequence[str] | None = None, live=None, counts=None,
                 title: str | None = None, dpi: int = 100):
  """uint8[H, W, 3] (numpy, RGB) the figure of `plot_payoff_matrix` rendered to an array, e.g.
  for a TensorBoard image summary; H x W is the figure's size in inches times `dpi`. Arguments
  and errors as in `plot_payoff_matrix`."""
  import numpy as np

  fig, _ = _payoff_figure(payoff, labels=labels, live=live, counts=counts, title=title)
  fig.set_dpi(dpi)
  fig.canvas.draw()
  return np.ascontiguousarray(np.asarray(fig.canvas.buffer_rgba())[..., :3])
