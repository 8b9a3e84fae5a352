"""Learning-curve plots of metric rows (as `read_metrics` returns them) to a PNG file.

matplotlib is imported inside `plot_learning_curves` only, and draws through its Agg canvas
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
