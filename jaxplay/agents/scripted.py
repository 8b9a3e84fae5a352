"""Scripted Overcooked partners: onion fetcher, dish fetcher, independent cook, static, random.

    env = jaxplay.make("overcooked", layout="counter_circuit")
    cook = independent_cook(env, drop_probability=0.0)
    played = play(env, (cook, static_partner()), seat_map(8, (0, 1)), key, 400)

Design. A scripted partner is stateless: every step it decides from the game state alone
(`Actors.states`: cells, orientations, what each cook holds, the counters, the pots). What
depends only on the static grid is computed once per layout with numpy (`layout_tables`): the
kitchen's *tiles* (every non-floor cell next to a floor cell: counters, pots, dispensers,
serving counters), the breadth-first distance from every floor cell to a cell beside each
tile, and the first action on such a shortest path (a move, or beside the tile the turn to
face it), for every cell the other cook may block. At run time a partner only builds a mask
over the tiles (where it wants to interact now: the pots that take an onion, the counters
holding a dish, ...), picks the nearest tile of the mask (`argmin` over a table column) and
looks up its action: INTERACT when it already faces a tile of the mask, else the tabled move
or turn. Everything is `jnp.where`, masks and table lookups, so the partners jit and vmap over
games; the tables are the agent's params (data), so one compiled program serves every layout
of a shape.

What each role wants, by what it holds (`_ROLE_RULES`; the first non-empty mask wins; a cook
with nothing it wants waits):

  onion fetcher  nothing: start a full pot ("new" dynamics), else an onion (a dispenser, or a
                 counter if it reaches a pot); onion: the nearest pot that takes it, else (no
                 pot reachable) a counter that the pot side reaches, else wait where it is;
                 a dish or a soup (never fetched, only picked up by chance): put it down.
  dish fetcher   nothing: start a full pot ("new"), else a dish (dispenser, or a counter if it
                 reaches a pot); dish: a ready pot, else a cooking one (waits beside it), else
                 (no pot reachable) a counter the pot side reaches; soup: the serving
                 counter, else a counter the serving side reaches; onion: a pot that takes it,
                 else put it down.
  cook           nothing: start a full pot ("new"); a dish if a pot is ready, or cooking with
                 no pot left to fill; an onion if a pot takes one; else a dish. Onion: a pot
                 that takes it, else put it down (a partner filled the pot meanwhile). Dish: a
                 ready pot, else a cooking one, else put it down. Soup: serve it. A cook that
                 reaches no pot (forced_coordination's left side) hands onions and dishes over
                 on the counters the pot side reaches: a dish while a pot cooks or is ready and
                 no dish waits there, onions while fewer wait there than the pots lack.

A cook waits where it is (not beside a pot: in most kitchens a pot has one or two cells beside
it, and a cook waiting there would lock the other out), and steps aside at random while the
other cook is next to it. On forced_coordination two cooks deliver together (through the
counters); the fetchers do not, as neither puts onions into a pot and carries dishes.

The dish fetcher serves the soups it takes itself: the dynamics have no hand-over except
through a counter, and a 3-onion soup pays only when delivered.

Moving: the tables hold the shortest paths for every cell the other cook may stand on
(`distance[b]` avoids cell b), so a cook walks round the other one when there is a way round,
and heads through it (then waits) when there is none; what to fetch next is decided on the
pots reachable round the other cook now. When the chosen move would still step into the other
cook's cell, the partner moves at random instead (one of the 4 moves or stay); every step it
also moves at random with `wander_probability`, which breaks the rarer deadlock of both cooks
stepping into one free cell step after step (the env then moves neither). Memory: the tables
are int32[C + 1, T, C] twice (counter_circuit: 41 x 26 x 40).

Dropping: with `drop_probability` per step, a cook holding something next to a free counter
puts it down there: INTERACT if it faces the counter, else a turn to face it (the drop itself
then needs the next step's draw too). Away from free counters it carries on (the env lets
objects down on counters only, by INTERACT). A dropped onion or dish is picked up again by
whoever looks for one (counters count as sources).
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxplay.agents.agent import Agent, random_agent
from jaxplay.core import chance
from jaxplay.core.errors import ConfigError
from jaxplay.core.random_actions import random_legal_actions
from jaxplay.games.overcooked import layouts
from jaxplay.games.overcooked.dynamics import DISH, INTERACT, MAX_ONIONS, NOTHING, ONION, STAY

UNREACHABLE = 1 << 20           # the distance to a tile no path reaches
NUM_MOVES = 4                   # actions 0..3: up, down, right, left (= directions)
# What a cook holds, by category: 0 nothing, 1 onion, 2 dish, 3 a soup (of any onions).
_HELD_CATEGORY = np.array([0, 1, 2, 3, 3, 3], np.int32)

# Per role and held category, the tile masks to go to, in order of preference (names of
# `_tile_masks`); the first that has a reachable tile is the target.
_ROLE_RULES = {
    "onion_fetcher": (("start", "onion_source"),
                      ("fillable_pot", "handover_to_pot"),
                      ("free_counter",),
                      ("free_counter",)),
    "dish_fetcher": (("start", "dish_source"),
                     ("fillable_pot", "handover_to_pot", "free_counter"),
                     ("ready_pot", "cooking_pot", "handover_to_pot"),
                     ("serving", "handover_to_serving")),
    "cook": (("start", "dish_if_needed", "onion_if_needed", "dish_if_pots_here"),
             ("fillable_pot", "handover_to_pot", "spare_counter"),
             ("ready_pot", "cooking_pot", "handover_to_pot", "spare_counter"),
             ("serving", "handover_to_serving")),
}


class LayoutTables(NamedTuple):
  """A layout's static tables (T tiles, C cells of the padded grid), as jnp arrays.

  Attributes:
    distance: int32[C + 1, T, C] steps from floor cell c to a floor cell beside tile t that
      avoid cell b (the other cook's) in row b; row C avoids nothing (UNREACHABLE when no
      path, or c is not floor).
    first_action: int32[C + 1, T, C] the move (0..3) that starts such a shortest path, or at
      distance 0 the move that turns the cook to face t (STAY where unreachable).
    neighbour: int32[C, 4] the cell one step away in each direction (the cell itself at the
      grid's edge).
    tile_of_cell: int32[C] the tile index at each cell, T where there is none.
    terrain: int32[T] each tile's terrain code (layouts.COUNTER, POT, ...).
    pot_index: int32[T] the pot number (in cell order, as `pot_onions`) of a pot tile, else 0.
    bit_word: int32[T] the word of `counter_bits` that holds the tile's cell.
    bit_shift: uint32[T] the tile cell's bit in that word.
    links_pot: bool[T] whether a cell beside the tile reaches a pot (a counter to hand
      onions and dishes over on, for a cook who cannot reach a pot itself).
    links_serving: bool[T] the same for a serving counter.
  """

  distance: jax.Array
  first_action: jax.Array
  neighbour: jax.Array
  tile_of_cell: jax.Array
  terrain: jax.Array
  pot_index: jax.Array
  bit_word: jax.Array
  bit_shift: jax.Array
  links_pot: jax.Array
  links_serving: jax.Array


class ScriptedParams(NamedTuple):
  """A scripted partner's data: the layout's tables and its settings (scalars)."""

  tables: LayoutTables
  drop_probability: jax.Array     # float32
  wander_probability: jax.Array   # float32
  cook_time: jax.Array            # int32
  manual_start: jax.Array         # bool: "new" dynamics (an empty-handed cook starts a pot)


def _neighbours(height: int, width: int) -> np.ndarray:
  """int32[C, 4]: the cell north, south, east, west of each cell (itself off the grid)."""
  y, x = np.divmod(np.arange(height * width), width)
  steps = ((0, -1), (0, 1), (1, 0), (-1, 0))
  out = np.empty((height * width, 4), np.int32)
  for d, (dx, dy) in enumerate(steps):
    nx, ny = x + dx, y + dy
    inside = (nx >= 0) & (nx < width) & (ny >= 0) & (ny < height)
    out[:, d] = np.where(inside, ny * width + nx, y * width + x)
  return out


def _shortest_paths(tiles: np.ndarray, floor: np.ndarray, neighbour: np.ndarray):
  """(distance int32[C + 1, T, C], first_action int32[C + 1, T, C]): per blocked cell b (the
  other cook's; row C: none), the steps from each floor cell to a floor cell beside each tile,
  avoiding b, and the first action on such a path (at distance 0: the turn to face the tile).
  Computed by relaxing all (b, tile, cell) at once until nothing changes."""
  num_cells = floor.size
  free = np.broadcast_to(floor, (num_cells + 1, num_cells)).copy()       # [C + 1, C]
  free[np.arange(num_cells), np.arange(num_cells)] = False                # b is taken
  facing = np.full((len(tiles), num_cells), -1, np.int32)                 # [T, C]
  for d in range(NUM_MOVES):
    facing[neighbour[:, d][None, :] == tiles[:, None]] = d
  walkable = free[:, None, :]                                             # [C + 1, 1, C]
  distance = np.where(walkable & (facing >= 0)[None], 0, UNREACHABLE).astype(np.int32)
  while True:
    through = distance[:, :, neighbour].min(axis=-1) + 1                  # [C + 1, T, C]
    relaxed = np.where(walkable, np.minimum(distance, through), UNREACHABLE)
    if np.array_equal(relaxed, distance):
      break
    distance = relaxed
  onward = np.argmin(distance[:, :, neighbour], axis=-1).astype(np.int32)  # [C + 1, T, C]
  action = np.where(distance == 0, facing[None], onward)
  return distance, np.where(distance < UNREACHABLE, action, STAY).astype(np.int32)


def layout_tables(layout: layouts.Layout) -> LayoutTables:
  """The static tables of a (padded) layout: tiles, shortest paths, neighbours."""
  flat = layout.terrain.reshape(-1).astype(np.int32)
  floor = flat == layouts.FLOOR
  neighbour = _neighbours(layout.height, layout.width)
  beside_floor = floor[neighbour].any(axis=1)
  tiles = np.flatnonzero(~floor & (flat != layouts.PADDING) & beside_floor)
  distance, first_action = _shortest_paths(tiles, floor, neighbour)
  tile_of_cell = np.full(flat.size, len(tiles), np.int32)
  tile_of_cell[tiles] = np.arange(len(tiles))
  pot_cells = layout.cells(layouts.POT)
  pot_index = np.array([np.searchsorted(pot_cells, t) if flat[t] == layouts.POT else 0
                        for t in tiles], np.int32)
  beside = distance[-1] == 0                                              # [T, C]
  reaches = distance[-1] < UNREACHABLE                                    # [T, C]
  links = lambda kind: (beside & reaches[flat[tiles] == kind].any(0)[None]).any(1)
  return LayoutTables(
      distance=jnp.asarray(distance),
      first_action=jnp.asarray(first_action),
      neighbour=jnp.asarray(neighbour),
      tile_of_cell=jnp.asarray(tile_of_cell),
      terrain=jnp.asarray(flat[tiles]),
      pot_index=jnp.asarray(pot_index),
      bit_word=jnp.asarray((tiles >> 5).astype(np.int32)),
      bit_shift=jnp.asarray((tiles & 31).astype(np.uint32)),
      links_pot=jnp.asarray(links(layouts.POT)),
      links_serving=jnp.asarray(links(layouts.SERVING)))


# --- the decision of one cook ----------------------------------------------------------------


def _tile_objects(tables: LayoutTables, counter_bits: jax.Array) -> jax.Array:
  """int32[T]: the object code lying on each tile (0 off counters), from uint32[3, words]."""
  words = counter_bits[:, tables.bit_word]                               # [3, T]
  planes = (words >> tables.bit_shift[None]) & 1
  return (planes[0] | planes[1] << 1 | planes[2] << 2).astype(jnp.int32)


def _tile_masks(params: ScriptedParams, state, reachable: jax.Array,
                reachable_now: jax.Array) -> dict:
  """bool[T] masks by name (`_ROLE_RULES`), restricted to the tiles this cook can reach
  (`reachable`: through the other cook; `reachable_now` bool[T]: around it)."""
  t = params.tables
  objects = _tile_objects(t, state.counter_bits)
  onions, tick = state.pot_onions[t.pot_index], state.pot_tick[t.pot_index]
  is_pot = t.terrain == layouts.POT
  is_counter = t.terrain == layouts.COUNTER
  is_serving = t.terrain == layouts.SERVING
  idle = is_pot & (tick < 0)
  cooking_or_ready = is_pot & (tick >= 0)
  free = is_counter & (objects == NOTHING)
  pots_here = (is_pot & reachable).any()         # else: onions and dishes are handed over
  masks = dict(
      fillable_pot=idle & (onions < MAX_ONIONS),
      start=idle & (onions == MAX_ONIONS) & params.manual_start,
      cooking_pot=cooking_or_ready & (tick < params.cook_time),
      ready_pot=is_pot & (tick >= params.cook_time),
      free_counter=free,
      spare_counter=free & pots_here,
      handover_to_pot=free & t.links_pot & ~pots_here,
      handover_to_serving=free & t.links_serving & ~(is_serving & reachable).any(),
      onion_source=(t.terrain == layouts.ONION_DISPENSER) | (is_counter & (objects == ONION)
                                                             & pots_here),
      dish_source=(t.terrain == layouts.DISH_DISPENSER) | (is_counter & (objects == DISH)
                                                           & pots_here),
      serving=is_serving)
  masks = {name: mask & reachable for name, mask in masks.items()}
  # What to fetch is decided on the pots reachable around the other cook now (a pot that a
  # static partner walls off is no reason to fetch an onion) or, by a cook who reaches no
  # pot, on all the pots and what already waits on the counters beside them.
  fillable_now = (masks["fillable_pot"] & reachable_now).any()
  need_dish = ((masks["ready_pot"] | masks["cooking_pot"]) & reachable_now).any() & (
      (masks["ready_pot"] & reachable_now).any() | ~fillable_now)
  bridged = lambda code: jnp.sum(is_counter & t.links_pot & (objects == code))
  missing_onions = jnp.sum(jnp.where(idle, MAX_ONIONS - onions, 0))
  need_dish = jnp.where(pots_here, need_dish, cooking_or_ready.any() & (bridged(DISH) == 0))
  need_onion = jnp.where(pots_here, fillable_now, bridged(ONION) < missing_onions)
  masks["dish_if_needed"] = masks["dish_source"] & need_dish
  masks["onion_if_needed"] = masks["onion_source"] & need_onion
  masks["dish_if_pots_here"] = masks["dish_source"] & pots_here
  return masks


def _first_nonempty(masks) -> jax.Array:
  """bool[T]: the first mask with a True, else all False (nothing to do: wait)."""
  chosen = jnp.zeros_like(masks[0])
  for mask in reversed(masks):
    chosen = jnp.where(mask.any(), mask, chosen)
  return chosen


def _go_to(tables: LayoutTables, target: jax.Array, cell, direction, other_cell) -> jax.Array:
  """int32: INTERACT if the cook faces a tile of `target` (bool[T]), else the first action
  toward the nearest one on a path around the other cook (through it when that is the only
  way), else STAY."""
  around, anyway = tables.distance[other_cell, :, cell], tables.distance[-1, :, cell]
  detour = around < UNREACHABLE
  penalty = tables.distance.shape[-1]                 # more than any path around
  distance = jnp.where(target, jnp.where(detour, around, anyway + penalty), UNREACHABLE)
  tile = jnp.argmin(distance)
  row = jnp.where(detour[tile], other_cell, tables.distance.shape[0] - 1)
  faced_tile = tables.tile_of_cell[tables.neighbour[cell, direction]]
  facing = jnp.append(target, False)[faced_tile]
  move = jnp.where(distance[tile] < UNREACHABLE, tables.first_action[row, tile, cell], STAY)
  return jnp.where(facing, INTERACT, move).astype(jnp.int32)


def _decide(role: str, params: ScriptedParams, bits: jax.Array, legal: jax.Array, state,
            seat: jax.Array) -> jax.Array:
  """int32: the action of the cook in `seat` of one game. bits: uint32[3] random draws;
  legal: bool[A] its legal actions (read by the random role)."""
  t = params.tables
  cell, direction = state.cook_cell[seat], state.cook_dir[seat]
  other_cell, held = state.cook_cell[1 - seat], state.held[seat]
  masks = _tile_masks(params, state, t.distance[-1, :, cell] < UNREACHABLE,
                      t.distance[other_cell, :, cell] < UNREACHABLE)
  if role == "random":
    action = random_legal_actions(bits[:2], legal)                    # a raw key
  else:
    category = jnp.asarray(_HELD_CATEGORY)[jnp.clip(held, 0, _HELD_CATEGORY.size - 1)]
    targets = jnp.stack([_first_nonempty([masks[n] for n in names])
                         for names in _ROLE_RULES[role]])                # [4, T]
    target = targets[category]
    action = _go_to(t, target, cell, direction, other_cell)
    blocked = (action < NUM_MOVES) & (t.neighbour[cell, jnp.minimum(action, 3)] == other_cell)
    in_the_way = ~target.any() & (t.neighbour[cell] == other_cell).any()  # waiting: make room
    wander = chance.unit_float(bits[0]) < params.wander_probability
    action = jnp.where(blocked | in_the_way | wander,
                       chance.bits_below(bits[1], NUM_MOVES + 1), action)
  beside = masks["free_counter"] & (t.distance[-1, :, cell] == 0)
  drop = (held != NOTHING) & beside.any() & (chance.unit_float(bits[2]) < params.drop_probability)
  return jnp.where(drop, _go_to(t, beside, cell, direction, other_cell), action).astype(jnp.int32)


@dataclasses.dataclass(frozen=True)
class _ScriptedAct:
  """A scripted partner's act (equal for equal roles: agents of one role share a compiled
  loop; the layout is in the params)."""

  role: str

  def __call__(self, params: ScriptedParams, key: jax.Array, actors) -> jax.Array:
    batch, k = actors.seat.shape
    bits = chance.key_bits(key, (batch, k, 3))
    per_seat = jax.vmap(lambda b, legal, s, seat: _decide(self.role, params, b, legal, s, seat),
                        in_axes=(0, 0, None, 0))
    per_game = jax.vmap(per_seat, in_axes=(0, 0, 0, 0))
    return per_game(bits, actors.legal, actors.states, actors.seat)    # [B, K]


# --- the partners --------------------------------------------------------------------------


def _scripted(role: str, env, drop_probability: float, wander_probability: float) -> Agent:
  for name, p in (("drop_probability", drop_probability),
                  ("wander_probability", wander_probability)):
    if not 0.0 <= float(p) <= 1.0:
      raise ConfigError(f"{role}: {name} must be in [0, 1], got {p}")
  params = ScriptedParams(
      tables=layout_tables(env.layout),
      drop_probability=jnp.float32(drop_probability),
      wander_probability=jnp.float32(wander_probability),
      cook_time=jnp.int32(env.cook_time),
      manual_start=jnp.bool_(env.dynamics == "new"))
  return Agent(_ScriptedAct(role), params)


def onion_fetcher(env, drop_probability: float = 0.0, wander_probability: float = 0.02) -> Agent:
  """Brings onions (from a dispenser or a counter) to the nearest pot that takes one; starts a
  full pot in "new" dynamics. env: an Overcooked env (wrapped or not)."""
  return _scripted("onion_fetcher", env, drop_probability, wander_probability)


def dish_fetcher(env, drop_probability: float = 0.0, wander_probability: float = 0.02) -> Agent:
  """Fetches a dish, waits at a pot for the soup, takes it and serves it; starts a full pot
  in "new" dynamics."""
  return _scripted("dish_fetcher", env, drop_probability, wander_probability)


def independent_cook(env, drop_probability: float = 0.0,
                     wander_probability: float = 0.02) -> Agent:
  """Does the whole cycle alone: onions into a pot, start it ("new"), a dish, the soup,
  serving (see the module docstring for its priorities)."""
  return _scripted("cook", env, drop_probability, wander_probability)


def random_partner(env=None, drop_probability: float = 0.0) -> Agent:
  """Uniform over the legal actions; with `env` and drop_probability > 0 it also puts what
  it holds down on a free counter beside it with that probability per step."""
  if env is None or drop_probability == 0.0:
    return random_agent()
  return _scripted("random", env, drop_probability, 0.0)


def _static_act(params, key, actors) -> jax.Array:
  del params, key
  return jnp.full(actors.seat.shape, STAY, jnp.int32)


def static_partner() -> Agent:
  """Always STAY (it never holds anything, so it has nothing to drop)."""
  return Agent(_static_act)


# --- by name (configs) -----------------------------------------------------------------------

PARTNERS = {"independent_cook": independent_cook, "onion_fetcher": onion_fetcher,
            "dish_fetcher": dish_fetcher, "static": lambda env: static_partner(),
            "random": random_partner}
"""The scripted partners a config names (`population.scripted`), each made from the
Overcooked env as `PARTNERS[name](env)` with its default probabilities."""


def check_names(where: str, names) -> tuple[str, ...]:
  """`names` as a tuple of `PARTNERS` names, or one ConfigError naming the allowed ones."""
  names = (names,) if isinstance(names, str) else tuple(names)
  unknown = [name for name in names if name not in PARTNERS]
  if unknown:
    raise ConfigError(f"{where}: unknown scripted partner(s) {', '.join(map(repr, unknown))}; "
                      f"the scripted partners are {', '.join(map(repr, PARTNERS))}")
  return names


def make_partners(names, env) -> tuple[Agent, ...]:
  """The scripted partners `names` (`PARTNERS`) of the Overcooked env `env` (wrapped or not)."""
  return tuple(PARTNERS[name](env) for name in check_names("scripted partners", names))
