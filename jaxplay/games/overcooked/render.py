"""Drawing Overcooked states without a display: RGB arrays and text.

    image = render.rgb(env, state)                  # uint8[H * 32, W * 32, 3]; also env.render
    print(render.text(env, state))

GIFs of episodes: `jaxplay.io.gif.save_episode(env, states, path)` (any game that renders).
"""

from __future__ import annotations

import numpy as np

from jaxplay.games.overcooked import dynamics as dyn
from jaxplay.games.overcooked import layouts

CELL = 32  # pixels per cell

COLORS = {
    "floor": (226, 222, 208), "counter": (168, 118, 72), "pot": (62, 62, 66),
    "pot_inside": (110, 110, 116), "serving": (96, 168, 96), "padding": (24, 24, 28),
    "onion": (232, 196, 52), "onion_edge": (150, 110, 20), "dish": (246, 246, 246),
    "dish_edge": (150, 150, 150), "soup": (226, 120, 36), "cook0": (52, 104, 220),
    "cook1": (222, 72, 58), "nose": (250, 250, 250), "bar": (210, 60, 40),
    "bar_ready": (70, 200, 70), "grid": (190, 186, 170),
}


def _unwrapped(env):
  return getattr(env, "unwrapped", env)


def _numpy_state(env, state) -> dict[str, np.ndarray]:
  fields = ("cook_cell", "cook_dir", "held", "counter_bits", "pot_onions", "pot_tick",
            "step_count", "rewards", "shaped_rewards")
  s = {name: np.asarray(getattr(state, name)) for name in fields}
  s["counters"] = dyn.decode_counter_bits(s["counter_bits"], env.kitchen.num_cells)
  return s


def _disk(size: int, cx: float, cy: float, r: float) -> np.ndarray:
  yy, xx = np.mgrid[0:size, 0:size] + 0.5
  return (xx - cx) ** 2 + (yy - cy) ** 2 <= r * r


def _draw_object(tile: np.ndarray, code: int, scale: float = 1.0, cx=None, cy=None) -> None:
  """Draws object `code` (ONION, DISH, SOUP_n) centred on (cx, cy) of a square tile."""
  size = tile.shape[0]
  cx = size / 2 if cx is None else cx
  cy = size / 2 if cy is None else cy
  if code == dyn.ONION:
    tile[_disk(size, cx, cy, 0.26 * size * scale)] = COLORS["onion_edge"]
    tile[_disk(size, cx, cy, 0.20 * size * scale)] = COLORS["onion"]
  elif code >= dyn.DISH:
    tile[_disk(size, cx, cy, 0.32 * size * scale)] = COLORS["dish_edge"]
    tile[_disk(size, cx, cy, 0.27 * size * scale)] = COLORS["dish"]
    if code >= dyn.SOUP_1:
      tile[_disk(size, cx, cy, (0.08 + 0.05 * (code - dyn.DISH)) * size * scale)] = COLORS["soup"]


def _terrain_tile(code: int, size: int) -> np.ndarray:
  tile = np.empty((size, size, 3), np.uint8)
  base = {layouts.FLOOR: "floor", layouts.PADDING: "padding", layouts.POT: "pot",
          layouts.SERVING: "serving"}.get(code, "counter")
  tile[:] = COLORS[base]
  if code == layouts.FLOOR:
    tile[0, :] = tile[:, 0] = COLORS["grid"]
  elif code == layouts.POT:
    tile[_disk(size, size / 2, size / 2, 0.38 * size)] = COLORS["pot_inside"]
  elif code == layouts.ONION_DISPENSER:
    for dx, dy in ((-0.18, -0.12), (0.18, -0.12), (0.0, 0.16)):
      _draw_object(tile, dyn.ONION, 0.6, size * (0.5 + dx), size * (0.5 + dy))
  elif code == layouts.DISH_DISPENSER:
    for d in (-0.12, 0.0, 0.12):
      _draw_object(tile, dyn.DISH, 0.7, size * (0.5 + d), size * (0.5 + d))
  elif code == layouts.SERVING:
    inner = slice(size // 5, size - size // 5)
    tile[inner, inner] = (130, 200, 130)
  return tile


def rgb(env, state, cell: int = CELL) -> np.ndarray:
  """uint8[height * cell, width * cell, 3]: one (unbatched) state drawn as an image.

  Terrain colours; pots show their onions (dots) and, once cooking, a progress bar (green
  when ready); objects on counters; cooks as circles (blue cook 0, red cook 1) with a white
  nose on the side they face and what they hold drawn on top.
  """
  env = _unwrapped(env)
  kitchen = env.kitchen
  s = _numpy_state(env, state)
  if s["cook_cell"].shape != (2,):
    raise ValueError(f"rgb draws one state; got cook_cell of shape {s['cook_cell'].shape} "
                     "(index a batch or a time step first)")
  h, w = kitchen.height, kitchen.width
  terrain = kitchen.layout.terrain
  image = np.zeros((h * cell, w * cell, 3), np.uint8)
  tiles = {}
  for y in range(h):
    for x in range(w):
      code = int(terrain[y, x])
      if code not in tiles:
        tiles[code] = _terrain_tile(code, cell)
      image[y * cell:(y + 1) * cell, x * cell:(x + 1) * cell] = tiles[code]

  def tile_at(c: int) -> np.ndarray:
    y, x = divmod(int(c), w)
    return image[y * cell:(y + 1) * cell, x * cell:(x + 1) * cell]

  for c in np.flatnonzero(s["counters"]):
    _draw_object(tile_at(c), int(s["counters"][c]), 0.9)
  for k, c in enumerate(kitchen.pot_cells):
    tile = tile_at(c)
    onions, tick = int(s["pot_onions"][k]), int(s["pot_tick"][k])
    for i in range(onions):
      _draw_object(tile, dyn.ONION, 0.45, cell * (0.3 + 0.2 * i), cell * 0.42)
    if tick >= 0:
      ready = tick >= kitchen.cook_time
      length = int(round((cell - 6) * min(tick, kitchen.cook_time) / kitchen.cook_time))
      tile[cell - 7:cell - 3, 3:3 + max(length, 1)] = COLORS["bar_ready" if ready else "bar"]
  for i in range(2):
    tile = tile_at(s["cook_cell"][i])
    tile[_disk(cell, cell / 2, cell / 2, 0.36 * cell)] = COLORS[f"cook{i}"]
    dx, dy = {0: (0, -1), 1: (0, 1), 2: (1, 0), 3: (-1, 0)}[int(s["cook_dir"][i])]
    tile[_disk(cell, cell * (0.5 + 0.3 * dx), cell * (0.5 + 0.3 * dy), 0.1 * cell)] = COLORS["nose"]
    if s["held"][i]:
      _draw_object(tile, int(s["held"][i]), 0.6)
  return image


# --- text --------------------------------------------------------------------------------------

_ARROWS = "^v><"
_OBJECT_CHARS = {dyn.ONION: "o", dyn.DISH: "d", dyn.SOUP_1: "s1", dyn.SOUP_2: "s2", dyn.SOUP_3: "s"}


def text(env, state) -> str:
  """A terminal drawing of one state: 6 characters a cell.

  Terrain as in the layouts (X counter, P pot, O onions, D dishes, S serving, '#' padding,
  blank floor) followed by what is there: counters `Xo` onion, `Xd` dish, `Xs` soup (`Xs1`,
  `Xs2`: soups of 1 or 2 onions); pots `P2` (2 onions, idle), `P3:7` (cooking, tick 7), `P3!`
  (ready). Cooks: an arrow for the way they face, their number, what they hold (`>0o`).
  """
  env = _unwrapped(env)
  kitchen = env.kitchen
  s = _numpy_state(env, state)
  h, w = kitchen.height, kitchen.width
  terrain = kitchen.layout.terrain
  pots = {c: k for k, c in enumerate(kitchen.pot_cells)}
  cooks = {int(c): i for i, c in enumerate(s["cook_cell"])}
  lines = [f"step {int(s['step_count'])}  reward {float(s['rewards'][0]):g}  shaped "
           f"{[float(r) for r in s['shaped_rewards']]}"]
  for y in range(h):
    row = []
    for x in range(w):
      c = y * w + x
      code = int(terrain[y, x])
      if c in cooks:
        i = cooks[c]
        held = _OBJECT_CHARS.get(int(s["held"][i]), "")
        cell_text = _ARROWS[int(s["cook_dir"][i])] + str(i) + held
      elif c in pots:
        k = pots[c]
        onions, tick = int(s["pot_onions"][k]), int(s["pot_tick"][k])
        cell_text = "P" + (str(onions) if onions else "")
        if tick >= kitchen.cook_time:
          cell_text += "!"
        elif tick >= 0:
          cell_text += f":{tick}"
      else:
        cell_text = layouts.SYMBOL_OF[code].strip() + _OBJECT_CHARS.get(int(s["counters"][c]), "")
      row.append(f"{cell_text:<6}")
    lines.append("".join(row).rstrip())
  return "\n".join(lines)
