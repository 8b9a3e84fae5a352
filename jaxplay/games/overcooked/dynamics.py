"""Overcooked's pure step and observation, over a static kitchen (`Kitchen`).

Written for vmapped batches on XLA:CPU (see BUILD_NOTES.md): every quantity is a per-game
scalar or a small fixed-size vector; the static terrain is a set of bitboards built with
numpy at construction, so "what is at cell c" is a shift and a mask; the two cooks and the
pots are unrolled in Python, and every choice is a `jnp.where`.

One step, as overcooked-ai 1.1.0's `OvercookedGridworld.get_state_transition`:
  1. interacts, cook 0's first and then cook 1's on the state cook 0 left (both may act on
     one counter or pot in one step: a dish cook 0 puts down, cook 1 may pick up);
  2. movement from the old cells (see `_move`);
  3. environment: every cooking soup advances one tick ("classic": a pot with 3 onions that
     is not cooking starts first).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from jaxplay.core import env as env_lib
from jaxplay.games.overcooked import layouts

# Actions (overcooked-ai's Action.ALL_ACTIONS order) and orientations (Direction order).
UP, DOWN, RIGHT, LEFT, STAY, INTERACT = range(6)
NORTH, SOUTH, EAST, WEST = range(4)
DIRECTION_NAMES = ("north", "south", "east", "west")
# Objects, held or on a counter. A soup remembers its onions: SOUP_1 + n - 1 (n = 1..3).
NOTHING, ONION, DISH, SOUP_1, SOUP_2, SOUP_3 = range(6)
MAX_ONIONS = 3

# Reward constants of overcooked-ai 1.1.0 (BASE_REW_SHAPING_PARAMS, Recipe.value).
SOUP_VALUE = 20.0            # a delivered 3-onion soup, the only order
PLACEMENT_IN_POT_REW = 3.0   # an onion goes into a pot
DISH_PICKUP_REWARD = 3.0     # a dish from the dispenser, when useful (see `Kitchen.step`)
SOUP_PICKUP_REWARD = 5.0     # a ready soup taken from a pot with a dish

# What a cook can do in a step that a hidden reward (`Kitchen.event_rewards`; Hidden-utility
# self-play, Yu et al. 2023) may weigh: take an onion from a dispenser, put one into a pot, take
# a dish from the dispenser (useful or not), take a ready soup from a pot with a dish, deliver
# a soup (of any size), put what it holds on a counter, take something from a counter.
EVENTS = ("onion_pickup", "onion_in_pot", "dish_pickup", "soup_pickup", "delivery",
          "put_on_counter", "take_from_counter")

URGENCY_STEPS = 40           # the observation's urgency flag: fewer steps than this remain

# The observation's features, in order (F = 24), and their bit fields in the int32 that
# `Kitchen.observe` packs per (viewer, cell) before spreading it out into 24 int8 features.
FEATURES = (
    "me", "other",
    "me_facing_north", "me_facing_south", "me_facing_east", "me_facing_west",
    "other_facing_north", "other_facing_south", "other_facing_east", "other_facing_west",
    "pot", "counter", "onion_dispenser", "dish_dispenser", "serving", "padding", "floor",
    "onions_in_pot", "onions_in_soup", "cook_time_remaining",
    "soup_ready", "dish", "onion", "urgency",
)
_WIDTHS = (1,) * 17 + (2, 2, 6) + (1,) * 4  # bits of each feature: 31 in all
FIELD_SHIFTS = tuple(int(v) for v in np.cumsum((0,) + _WIDTHS[:-1]))
FIELD_MASKS = tuple((1 << w) - 1 for w in _WIDTHS)
_BIT = dict(zip(FEATURES, FIELD_SHIFTS))
MAX_COOK_TIME = FIELD_MASKS[FEATURES.index("cook_time_remaining")]  # 63
_TERRAIN_FEATURES = (("pot", layouts.POT), ("counter", layouts.COUNTER),
                     ("onion_dispenser", layouts.ONION_DISPENSER),
                     ("dish_dispenser", layouts.DISH_DISPENSER), ("serving", layouts.SERVING),
                     ("padding", layouts.PADDING), ("floor", layouts.FLOOR))


def _byte_words(packed: jax.Array) -> jax.Array:
  """int32[6, ...]: the 24 features of `packed` (bit fields, FIELD_SHIFTS / FIELD_MASKS) as
  6 words of 4 bytes (feature 4 w + j in byte j of word w, little-endian as XLA bitcasts)."""
  words = []
  for w in range(len(FEATURES) // 4):
    fields = range(4 * w, 4 * w + 4)
    shifts = [FIELD_SHIFTS[f] for f in fields]
    if all(FIELD_MASKS[f] == 1 for f in fields) and shifts == list(range(shifts[0], shifts[0] + 4)):
      # 4 consecutive one-bit fields: spread the nibble into 4 bytes with one multiply.
      words.append((((packed >> shifts[0]) & 0xF) * 0x204081) & 0x01010101)
    else:
      words.append(sum(((packed >> FIELD_SHIFTS[f]) & FIELD_MASKS[f]) << (8 * j)
                       for j, f in enumerate(fields)))
  return jnp.stack(words)


def _materialize(x: jax.Array) -> jax.Array:
  """`x` (>= 0) as the result of a reduction: max(x, 0) over a stacked pair. XLA:CPU fuses
  elementwise producers into every element of their consumers, recomputing them; it does not
  fuse a reduction into its consumers, so this makes it compute `x` once into a buffer.
  (The max of two copies of x would be simplified away.)"""
  return jnp.max(jnp.stack([x, jnp.zeros_like(x)]), axis=0)


@struct.dataclass
class OvercookedState(env_lib.State):
  """An Overcooked state. Cells are numbered y * width + x (x = column, y = row, y down)
  on the (padded) grid.

  Attributes:
    cook_cell: int32[2] each cook's cell.
    cook_dir: int32[2] each cook's orientation: 0 north (y - 1), 1 south, 2 east (x + 1), 3 west.
    held: int32[2] what each cook holds: 0 nothing, 1 onion, 2 dish, 3 + n - 1 a soup of n
      onions (n = 1..3; only 3-onion soups are worth anything).
    counter_bits: uint32[3, words] the objects on counters as bitboards of the object's code
      (same codes): bit (c % 32) of word c // 32 of row j is bit j of the code at cell c.
      `Overcooked.counter_objects(state)` decodes it to int32[cells].
    pot_onions: int32[pots] onions in each pot (pots in cell order), 0..3.
    pot_tick: int32[pots] overcooked-ai's cooking tick: -1 not cooking (idle), else the steps
      cooked so far; the soup is ready at `cook_time`.

  The contract's `shaped_rewards` (float32[2]) are each cook's shaped reward of the last step
  (overcooked-ai's `shaped_r_by_agent`: onion into a pot 3, useful dish pickup 3, soup pickup
  5; or, for a cook the kitchen's `event_rewards` weighs, its weighted `EVENTS`); `rewards` is
  the sparse (delivery) reward shared by both cooks.
  """

  cook_cell: jax.Array
  cook_dir: jax.Array
  held: jax.Array
  counter_bits: jax.Array
  pot_onions: jax.Array
  pot_tick: jax.Array


def _bitboard(cells, num_words: int) -> tuple[int, ...]:
  words = [0] * num_words
  for c in cells:
    words[int(c) >> 5] |= 1 << (int(c) & 31)
  return tuple(words)


def decode_counter_bits(counter_bits, num_cells: int) -> np.ndarray:
  """numpy int32[..., cells]: the object codes of `counter_bits` (uint32[..., 3, words])."""
  bits = np.asarray(counter_bits, np.uint32)
  cells = np.arange(num_cells)
  words = bits[..., cells // 32]                                    # [..., 3, cells]
  planes = (words >> (cells % 32).astype(np.uint32)) & 1
  return (planes[..., 0, :] | planes[..., 1, :] << 1 | planes[..., 2, :] << 2).astype(np.int32)


def _u32(x) -> jax.Array:
  if isinstance(x, int):
    return jnp.uint32(np.uint32(x))
  return jnp.asarray(x).astype(jnp.uint32)


@dataclasses.dataclass(frozen=True, eq=False)
class Kitchen:
  """Everything static about a kitchen, as numpy arrays and Python ints (jit constants), and
  the step and observation over it."""

  layout: layouts.Layout
  dynamics: str
  cook_time: int
  horizon: int
  # Per cook: None (overcooked-ai's shaped reward) or a weight for each of `EVENTS`.
  event_rewards: tuple[tuple[float, ...] | None, tuple[float, ...] | None] = (None, None)

  def __post_init__(self):
    t = self.layout
    set_ = lambda name, value: object.__setattr__(self, name, value)
    set_("height", t.height)
    set_("width", t.width)
    set_("num_cells", t.height * t.width)
    set_("num_words", (self.num_cells + 31) // 32)
    set_("deltas", (-t.width, t.width, 1, -1))  # by direction / move action
    for name, code in (("floor", layouts.FLOOR), ("counter", layouts.COUNTER),
                       ("pot", layouts.POT), ("onion", layouts.ONION_DISPENSER),
                       ("dish", layouts.DISH_DISPENSER), ("serving", layouts.SERVING)):
      set_(f"{name}_bits", _bitboard(t.cells(code), self.num_words))
    set_("pot_cells", tuple(int(c) for c in t.cells(layouts.POT)))
    set_("start_cells", tuple(y * t.width + x for x, y in t.start))
    # The terrain one-hots of each cell, packed at their bits of the observation: int32[cells].
    flat = t.terrain.reshape(-1)
    set_("terrain_packed", sum((flat == code).astype(np.int32) << _BIT[name]
                               for name, code in _TERRAIN_FEATURES).astype(np.int32))
    set_("in_kitchen", (flat != layouts.PADDING).astype(np.int32))

  def fixed_features(self) -> tuple[np.ndarray, np.ndarray]:
    """(mask bool[cells, 24], values int8[cells, 24]): the features no state changes. Cooks
    (and what they hold) are only ever on floor cells, objects lie only on counters, pot
    features are only at pots, urgency is on every cell but padding, and the terrain
    one-hots never change; everything else is 0 in every state."""
    flat = self.layout.terrain.reshape(-1)
    f = {name: i for i, name in enumerate(FEATURES)}
    cook = [f[n] for n in FEATURES[:10]]                                 # me, other, facings
    carried = [f[n] for n in ("onions_in_soup", "soup_ready", "dish", "onion")]
    in_pot = [f[n] for n in ("onions_in_pot", "onions_in_soup", "cook_time_remaining",
                             "soup_ready")]
    varies = np.zeros((self.num_cells, len(FEATURES)), bool)
    varies[flat == layouts.FLOOR] |= np.isin(np.arange(len(FEATURES)), cook + carried)
    varies[flat == layouts.COUNTER] |= np.isin(np.arange(len(FEATURES)), carried)
    varies[flat == layouts.POT] |= np.isin(np.arange(len(FEATURES)), in_pot)
    varies[flat != layouts.PADDING, f["urgency"]] = True
    values = np.stack([(self.terrain_packed >> shift) & mask
                       for shift, mask in zip(FIELD_SHIFTS, FIELD_MASKS)], axis=-1)
    return ~varies, np.where(varies, 0, values).astype(np.int8)

  @property
  def num_pots(self) -> int:
    return len(self.pot_cells)

  # --- bitboards -------------------------------------------------------------------------

  def _word_at(self, words, cell: jax.Array) -> jax.Array:
    """The uint32 word of `words` (K Python ints or traced scalars) that holds `cell`."""
    word = _u32(words[-1])
    for k in range(len(words) - 2, -1, -1):
      word = jnp.where((cell >> 5) == k, _u32(words[k]), word)
    return word

  def bit(self, words, cell: jax.Array) -> jax.Array:
    """uint32 0/1: bit `cell` of bitboard `words` (a shift and a mask; on grids over 32 cells
    also a select of the word)."""
    return (self._word_at(words, cell) >> _u32(cell & 31)) & 1

  def has(self, words, cell: jax.Array) -> jax.Array:
    return self.bit(words, cell) == 1

  def cell_bits(self, words) -> jax.Array:
    """int32[cells] 0/1: bitboard `words` (traced uint32 scalars) spread out, one per cell
    (elementwise over the cells: a select of the word, a shift and a mask)."""
    iota = np.arange(self.num_cells)
    word = words[-1]
    for k in range(len(words) - 2, -1, -1):
      word = jnp.where(jnp.asarray(iota < 32 * (k + 1)), words[k], word)
    return ((word >> jnp.asarray((iota & 31).astype(np.uint32))) & 1).astype(jnp.int32)

  def neighbour(self, cell: jax.Array, direction: jax.Array) -> jax.Array:
    """The cell one step from `cell` in `direction` (0..3); the border is never floor, so
    this stays on the grid for any cell a cook can stand on."""
    d = self.deltas
    return cell + jnp.where(direction == NORTH, d[0], jnp.where(
        direction == SOUTH, d[1], jnp.where(direction == EAST, d[2], d[3])))

  # --- the game ----------------------------------------------------------------------------

  def initial_fields(self) -> dict[str, jax.Array]:
    return dict(
        cook_cell=jnp.array(self.start_cells, jnp.int32),
        cook_dir=jnp.full((2,), NORTH, jnp.int32),
        held=jnp.zeros((2,), jnp.int32),
        counter_bits=jnp.zeros((3, self.num_words), jnp.uint32),
        pot_onions=jnp.zeros((self.num_pots,), jnp.int32),
        pot_tick=jnp.full((self.num_pots,), -1, jnp.int32),
    )

  def step(self, state: OvercookedState, action: jax.Array) -> dict[str, jax.Array]:
    """The fields of the next state (game fields, `rewards`, `shaped_rewards`, `truncated`)."""
    num_words, num_pots = self.num_words, self.num_pots
    cook_cell = [state.cook_cell[0], state.cook_cell[1]]
    cook_dir = [state.cook_dir[0], state.cook_dir[1]]
    held = [state.held[0], state.held[1]]
    pot_onions = [state.pot_onions[k] for k in range(num_pots)]
    pot_tick = [state.pot_tick[k] for k in range(num_pots)]
    acts = [action[0], action[1]]
    planes = [[state.counter_bits[j, k] for k in range(num_words)] for j in range(3)]

    def dish_on_a_counter():
      any_dish = jnp.uint32(0)
      for k in range(num_words):
        any_dish = any_dish | (~planes[0][k] & planes[1][k] & ~planes[2][k])  # code 010
      return any_dish != 0

    # overcooked-ai's is_dish_pickup_useful counts, from the pots as they were before any
    # interact, the ones with a soup in progress: cooking, ready, or holding 1..2 onions
    # (a full pot that has not started is not counted).
    soups_in_progress = sum(((t >= 0) | ((n >= 1) & (n < MAX_ONIONS))).astype(jnp.int32)
                            for n, t in zip(pot_onions, pot_tick))
    sparse = jnp.float32(0.0)
    shaped = []
    for i in range(2):
      face = self.neighbour(cook_cell[i], cook_dir[i])
      interact = acts[i] == INTERACT
      h = held[i]
      hands_free = h == NOTHING
      at_counter = interact & self.has(self.counter_bits, face)
      at_pot = interact & self.has(self.pot_bits, face)
      on_counter = sum(self.bit(planes[j], face).astype(jnp.int32) << j for j in range(3))
      put_down = at_counter & ~hands_free & (on_counter == NOTHING)
      pick_up = at_counter & hands_free & (on_counter != NOTHING)
      take_onion = interact & hands_free & self.has(self.onion_bits, face)
      take_dish = interact & hands_free & self.has(self.dish_bits, face)
      # The faced pot, if any: its contents as scalars.
      hit = [face == c for c in self.pot_cells]
      onions = sum(jnp.where(hit[k], pot_onions[k], 0) for k in range(num_pots))
      tick = sum(jnp.where(hit[k], pot_tick[k], 0) for k in range(num_pots))
      idle = tick < 0
      add_onion = at_pot & (h == ONION) & idle & (onions < MAX_ONIONS)
      take_soup = at_pot & (h == DISH) & (tick >= self.cook_time)
      start = at_pot & hands_free & idle & (onions > 0)
      if self.dynamics == "classic":  # cooking starts by itself at 3 onions, never by hand
        start = jnp.bool_(False)
      deliver = interact & (h >= SOUP_1) & self.has(self.serving_bits, face)
      useful_dish = ~dish_on_a_counter() & ((held[1 - i] == DISH).astype(jnp.int32)
                                            < soups_in_progress)
      weights = self.event_rewards[i]
      if weights is None:  # static: overcooked-ai's shaping
        shaped.append(jnp.where(add_onion, PLACEMENT_IN_POT_REW, 0.0)
                      + jnp.where(take_dish & useful_dish, DISH_PICKUP_REWARD, 0.0)
                      + jnp.where(take_soup, SOUP_PICKUP_REWARD, 0.0))
      else:  # a hidden reward: the cook's events, weighed (in `EVENTS` order)
        events = (take_onion, add_onion, take_dish, take_soup, deliver, put_down, pick_up)
        shaped.append(sum((jnp.where(e, jnp.float32(w), 0.0)
                           for w, e in zip(weights, events) if w), jnp.float32(0.0)))
      sparse = sparse + jnp.where(deliver & (h == SOUP_3), SOUP_VALUE, 0.0)

      held[i] = jnp.where(put_down | add_onion | deliver, NOTHING, jnp.where(
          pick_up, on_counter, jnp.where(take_onion, ONION, jnp.where(
              take_dish, DISH, jnp.where(take_soup, SOUP_1 - 1 + onions, h)))))
      # The counter: the code put down (or 0 when picked up), bit by bit.
      change = put_down | pick_up
      code = _u32(jnp.where(put_down, h, NOTHING))
      mask = jnp.uint32(1) << _u32(face & 31)
      for k in range(num_words):
        here = change & ((face >> 5) == k)
        for j in range(3):
          bit = jnp.where((code >> j) & 1 == 1, mask, jnp.uint32(0))
          planes[j][k] = jnp.where(here, (planes[j][k] & ~mask) | bit, planes[j][k])
      for k in range(num_pots):
        pot_onions[k] = jnp.where(hit[k] & add_onion, pot_onions[k] + 1,
                                  jnp.where(hit[k] & take_soup, 0, pot_onions[k]))
        pot_tick[k] = jnp.where(hit[k] & start, 0,
                                jnp.where(hit[k] & take_soup, -1, pot_tick[k]))

    cook_cell, cook_dir = self._move(cook_cell, cook_dir, acts)

    for k in range(num_pots):
      tick = pot_tick[k]
      if self.dynamics == "classic":
        tick = jnp.where((tick < 0) & (pot_onions[k] == MAX_ONIONS), 0, tick)
      pot_tick[k] = jnp.where((tick >= 0) & (tick < self.cook_time), tick + 1, tick)

    return dict(
        cook_cell=jnp.stack(cook_cell),
        cook_dir=jnp.stack(cook_dir),
        held=jnp.stack(held),
        counter_bits=jnp.stack([jnp.stack(p) for p in planes]),
        pot_onions=jnp.stack(pot_onions),
        pot_tick=jnp.stack(pot_tick),
        rewards=jnp.full((2,), sparse, jnp.float32),
        shaped_rewards=jnp.stack(shaped).astype(jnp.float32),
        truncated=state.step_count + 1 >= self.horizon,
    )

  def _move(self, cell, direction, acts):
    """overcooked-ai's resolve_movement: a move action turns the cook that way and moves it
    if the target is floor (the other cook is not an obstacle here); then, if both would end
    in one cell or would swap cells, neither moves (both still turn)."""
    new_cell, new_dir = [], []
    for i in range(2):
      moving = acts[i] < STAY
      target = self.neighbour(cell[i], acts[i])
      new_cell.append(jnp.where(moving & self.has(self.floor_bits, target), target, cell[i]))
      new_dir.append(jnp.where(moving, acts[i], direction[i]))
    collide = (new_cell[0] == new_cell[1]) | ((new_cell[0] == cell[1]) & (new_cell[1] == cell[0]))
    return [jnp.where(collide, cell[i], new_cell[i]) for i in range(2)], new_dir

  # --- observation -------------------------------------------------------------------------

  def counter_codes(self, counter_bits: jax.Array) -> jax.Array:
    """int32[cells]: the object code on each cell, from `counter_bits`."""
    return sum(self.cell_bits([counter_bits[j, k] for k in range(self.num_words)]) << j
               for j in range(3))

  def observe(self, state: OvercookedState) -> jax.Array:
    """int8[2, cells, 24]; the features are in the package docstring (`FEATURES`).

    Every (viewer, cell) is first packed into one int32 of bit fields (FIELD_SHIFTS,
    FIELD_MASKS), computed once into a buffer; the features are then spread into bytes."""
    n = self.num_cells
    iota = jnp.arange(n, dtype=jnp.int32)
    cells, dirs, held = state.cook_cell, state.cook_dir, state.held
    # Each cook's presence and facing, as seen by itself ("me") and by the other cook.
    here = [iota == cells[q] for q in range(2)]
    as_me = [jnp.where(here[q], (1 << _BIT["me"]) | ((1 << _BIT["me_facing_north"]) << dirs[q]),
                       0) for q in range(2)]
    as_other = [jnp.where(here[q], (1 << _BIT["other"])
                          | ((1 << _BIT["other_facing_north"]) << dirs[q]), 0) for q in range(2)]

    # Objects on counters (the code's bit planes, per cell) and in the cooks' hands.
    c0, c1, c2 = (self.cell_bits([state.counter_bits[j, k] for k in range(self.num_words)])
                  for j in range(3))
    onion = c0 & (1 - c1) & (1 - c2)                                          # code 001
    dish = (1 - c0) & c1 & (1 - c2)                                           # code 010
    soup = (c0 & c1) | c2                                                     # codes 011..101
    soup_onions = (c0 & soup) + 2 * c2                                        # 3, 4, 5 -> 1, 2, 3
    for q in range(2):
      h = held[q]
      onion = onion | (here[q] & (h == ONION))
      dish = dish | (here[q] & (h == DISH))
      soup = soup | (here[q] & (h >= SOUP_1))
      soup_onions = soup_onions + jnp.where(here[q] & (h >= SOUP_1), h - (SOUP_1 - 1), 0)
    urgent = (self.horizon - state.step_count < URGENCY_STEPS).astype(jnp.int32)
    shared = (jnp.asarray(self.terrain_packed) | (soup_onions << _BIT["onions_in_soup"])
              | (soup << _BIT["soup_ready"]) | (dish << _BIT["dish"]) | (onion << _BIT["onion"])
              | (urgent * jnp.asarray(self.in_kitchen) << _BIT["urgency"]))
    for k, c in enumerate(self.pot_cells):
      onions, tick = state.pot_onions[k], state.pot_tick[k]
      cooking = tick >= 0
      fields = jnp.where(cooking, (onions << _BIT["onions_in_soup"])
                         | ((self.cook_time - tick) << _BIT["cook_time_remaining"])
                         | ((tick >= self.cook_time).astype(jnp.int32) << _BIT["soup_ready"]),
                         onions << _BIT["onions_in_pot"])
      shared = shared | jnp.where(iota == c, fields, 0)
    # The per-cell part, the same for both viewers, computed once per cell into a buffer;
    # the cooks' bits are cheap, and recomputed where needed.
    shared = _materialize(shared)
    packed = jnp.stack([shared | as_me[0] | as_other[1], shared | as_me[1] | as_other[0]])
    # The bytes, 4 to an int32 word, computed word-major ([6, 2, n]: each word a few ops on
    # whole rows) into a buffer; the transpose and bitcast to int8 then fuse into one plain
    # byte copy (XLA:CPU runs per-byte extraction as scalar code: 4x slower, measured).
    words = _materialize(_byte_words(packed))
    return jax.lax.bitcast_convert_type(jnp.transpose(words, (1, 2, 0)),
                                        env_lib.OBSERVATION_DTYPE).reshape(2, n, len(FEATURES))
