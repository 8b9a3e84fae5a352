"""Overcooked kitchens: the five classic layouts, and a parser for kitchens drawn in ASCII.

Symbols (overcooked-ai's): `X` counter, `P` pot, `O` onion dispenser, `D` dish dispenser,
`S` serving counter, space = floor, `1` / `2` = floor where cook 0 / cook 1 starts. Every
border cell must be something other than floor (cooks never leave the grid). Row y is the
y-th line (y grows downwards), column x the x-th character: cell (x, y).

    layout = parse("XXPXX\\nO  2O\\nX1  X\\nXDXSX")   # == LAYOUTS["cramped_room"]
    layout = get("cramped_room")                     # by name
    layout = get(["XXPXX", "O   O", "X   X", "XDXSX"], start_positions=[(1, 2), (3, 1)])

A malformed grid raises `jaxplay.ConfigError` saying what is wrong.
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np

from jaxplay.core.errors import ConfigError, is_int

# The five classic layouts of Carroll et al. (2019), as overcooked-ai 1.1.0 draws them
# (counter_circuit is overcooked-ai's `counter_circuit_o_1order`).
LAYOUTS: dict[str, str] = {
    "cramped_room": "\n".join([
        "XXPXX",
        "O  2O",
        "X1  X",
        "XDXSX",
    ]),
    "asymmetric_advantages": "\n".join([
        "XXXXXXXXX",
        "O XSXOX S",
        "X   P 1 X",
        "X2  P   X",
        "XXXDXDXXX",
    ]),
    "coordination_ring": "\n".join([
        "XXXPX",
        "X 1 P",
        "D2X X",
        "O   X",
        "XOSXX",
    ]),
    "forced_coordination": "\n".join([
        "XXXPX",
        "O X1P",
        "O2X X",
        "D X X",
        "XXXSX",
    ]),
    "counter_circuit": "\n".join([
        "XXXPPXXX",
        "X  2   X",
        "D XXXX S",
        "X  1   X",
        "XXXOOXXX",
    ]),
}
# overcooked-ai's names for the same kitchens.
ALIASES = {"counter_circuit_o_1order": "counter_circuit"}

# Terrain codes (the order of the observation's terrain one-hots, after FLOOR).
FLOOR, COUNTER, POT, ONION_DISPENSER, DISH_DISPENSER, SERVING, PADDING = range(7)
TERRAIN_SYMBOLS = {" ": FLOOR, "X": COUNTER, "P": POT, "O": ONION_DISPENSER,
                   "D": DISH_DISPENSER, "S": SERVING}
SYMBOL_OF = {code: symbol for symbol, code in TERRAIN_SYMBOLS.items()} | {PADDING: "#"}
_KNOWN = "XPODS 12"


@dataclasses.dataclass(frozen=True)
class Layout:
  """A parsed kitchen.

  Attributes:
    name: the layout's name (or "custom").
    terrain: int8[height, width] terrain codes (FLOOR, COUNTER, ...; PADDING outside the
      kitchen drawn, after `padded`).
    start: ((x0, y0), (x1, y1)) where cook 0 and cook 1 start.
    kitchen_shape: (height, width) of the kitchen as drawn (before padding).
  """

  name: str
  terrain: np.ndarray
  start: tuple[tuple[int, int], tuple[int, int]]
  kitchen_shape: tuple[int, int]

  @property
  def height(self) -> int:
    return self.terrain.shape[0]

  @property
  def width(self) -> int:
    return self.terrain.shape[1]

  def cells(self, code: int) -> np.ndarray:
    """int[k]: flat cell indices (y * width + x) of the cells with terrain `code`, ascending."""
    return np.flatnonzero(self.terrain.reshape(-1) == code)

  def padded(self, shape: tuple[int, int]) -> "Layout":
    """This kitchen in the top-left corner of a larger grid; the new cells are PADDING."""
    if not _is_int_pair(shape):
      raise ConfigError(f"overcooked: pad_to must be a pair of ints (height, width), got {shape!r}")
    height, width = map(int, shape)
    if height < self.height or width < self.width:
      raise ConfigError(f"overcooked: pad_to={tuple(shape)} is smaller than layout {self.name!r}, "
                        f"which is {self.height} x {self.width} (height x width)")
    terrain = np.full((height, width), PADDING, np.int8)
    terrain[:self.height, :self.width] = self.terrain
    return dataclasses.replace(self, terrain=terrain)

  def ascii(self) -> list[str]:
    """The kitchen drawn as rows of symbols (padding as '#'), start positions as 1 and 2."""
    rows = [[SYMBOL_OF[int(c)] for c in row] for row in self.terrain]
    for i, (x, y) in enumerate(self.start):
      rows[y][x] = str(i + 1)
    return ["".join(row) for row in rows]


def get(layout: str | Sequence[str], start_positions=None) -> Layout:
  """A layout by name (see `LAYOUTS`, `ALIASES`), or parsed from an ASCII grid: a string with
  one row per line, or a sequence of row strings.

  Args:
    layout: a name or a grid.
    start_positions: optional ((x0, y0), (x1, y1)) overriding (or standing in for) the grid's
      `1` and `2`.
  """
  if isinstance(layout, str) and "\n" not in layout:  # a name (a grid has several rows)
    name = ALIASES.get(layout, layout)
    if name not in LAYOUTS:
      raise ConfigError(
          f"overcooked: unknown layout {layout!r}; the named layouts are "
          f"{', '.join(sorted(LAYOUTS))}, or give a grid (one row per line, or a list of rows)")
    return parse(LAYOUTS[name], name=name, start_positions=start_positions)
  return parse(layout, start_positions=start_positions)


def parse(grid: str | Sequence[str], name: str = "custom", start_positions=None) -> Layout:
  """Parses an ASCII kitchen (see the module docstring). Leading and trailing blank lines and
  the indentation common to all rows are ignored.

  Raises:
    ConfigError: ragged rows, an unknown symbol, a border cell that is floor, cooks other
      than exactly one `1` and one `2` (unless `start_positions` is given), or a kitchen
      without a pot, an onion dispenser, a dish dispenser or a serving counter.
  """
  if isinstance(grid, str):
    rows = grid.split("\n")
  elif isinstance(grid, Sequence) and all(isinstance(row, str) for row in grid):
    rows = list(grid)
  else:
    raise ConfigError(f"overcooked: a layout grid is a string or a list of row strings, got "
                      f"{type(grid).__name__}")
  rows = [row.rstrip("\r") for row in rows]
  while rows and not rows[0].strip():
    rows.pop(0)
  while rows and not rows[-1].strip():
    rows.pop()
  indent = min((len(row) - len(row.lstrip(" ")) for row in rows), default=0)
  rows = [row[indent:] for row in rows]
  if not rows:
    raise ConfigError("overcooked: the layout grid is empty")
  where = f"overcooked layout {name!r}"
  for y, row in enumerate(rows):
    for x, symbol in enumerate(row):
      if symbol not in _KNOWN:
        hint = " (tomatoes are not supported)" if symbol == "T" else ""
        raise ConfigError(
            f"{where}: unknown symbol {symbol!r} at x={x}, y={y}{hint}; the symbols are "
            "X counter, P pot, O onion dispenser, D dish dispenser, S serving counter, "
            "space floor, 1 and 2 the cooks' start cells")
  widths = sorted({len(row) for row in rows})
  if len(widths) > 1:
    raise ConfigError(f"{where}: ragged rows: every row must have the same length, got "
                      f"lengths {[len(row) for row in rows]}")
  height, width = len(rows), widths[0]
  if height < 3 or width < 3:
    raise ConfigError(f"{where}: a kitchen needs at least 3 x 3 cells, got {height} x {width}")
  for y, row in enumerate(rows):
    for x, symbol in enumerate(row):
      if (y in (0, height - 1) or x in (0, width - 1)) and symbol in " 12":
        raise ConfigError(f"{where}: border cell x={x}, y={y} is floor ({symbol!r}); the border "
                          "must be counters, pots, dispensers or serving counters")
  counts = {symbol: sum(row.count(symbol) for row in rows) for symbol in _KNOWN}
  for symbol, what in (("P", "pot"), ("O", "onion dispenser"), ("D", "dish dispenser"),
                       ("S", "serving counter")):
    if counts[symbol] == 0:
      raise ConfigError(f"{where}: no {what} ({symbol!r}); a kitchen needs at least one")
  drawn = [next(((x, y) for y, row in enumerate(rows) for x, s in enumerate(row) if s == c), None)
           for c in "12"]
  if start_positions is None:
    if counts["1"] != 1 or counts["2"] != 1:
      raise ConfigError(
          f"{where}: needs exactly two cooks, one '1' and one '2', got {counts['1']} x '1' and "
          f"{counts['2']} x '2' (or pass start_positions)")
    start = tuple(drawn)
  else:
    start = _start_positions(start_positions, where)
  terrain = np.array([[TERRAIN_SYMBOLS.get(s, FLOOR) for s in row] for row in rows], np.int8)
  for i, (x, y) in enumerate(start):
    if not (0 <= x < width and 0 <= y < height) or terrain[y, x] != FLOOR:
      raise ConfigError(f"{where}: cook {i} starts at (x={x}, y={y}), which is not a floor cell")
  if start[0] == start[1]:
    raise ConfigError(f"{where}: both cooks start at {start[0]}")
  return Layout(name=name, terrain=terrain, start=start, kitchen_shape=(height, width))


def _start_positions(value, where: str) -> tuple[tuple[int, int], tuple[int, int]]:
  """((x0, y0), (x1, y1)) as ints from the `start_positions` option: two pairs of ints."""
  if not (_is_sequence(value) and len(value) == 2 and all(map(_is_int_pair, value))):
    raise ConfigError(f"{where}: start_positions must be two (x, y) pairs of ints, got {value!r}")
  return tuple(tuple(int(v) for v in pair) for pair in value)


def _is_sequence(value) -> bool:
  """A list, tuple or array (of at least one dimension); not a string."""
  return (isinstance(value, (Sequence, np.ndarray)) and not isinstance(value, (str, bytes))
          and getattr(value, "ndim", 1) >= 1)


def _is_int_pair(value) -> bool:
  """Two ints (not bools), as a list, tuple or array."""
  return _is_sequence(value) and len(value) == 2 and all(map(is_int, value))
