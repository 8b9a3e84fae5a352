"""Overcooked: hand-made scenarios for each rule, layouts and bad grids, padding, the
observation against a plain numpy reference, rendering, and parity with overcooked-ai 1.1.0
(the JSON trajectories of tools/overcooked_reference in tests/fixtures/overcooked/)."""

from __future__ import annotations

import functools
import glob
import json
import os

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from PIL import Image, ImageSequence

import jaxplay
from jaxplay.games import overcooked as oc
from jaxplay.games.overcooked import dynamics as dyn
from jaxplay.games.overcooked import layouts, render
from jaxplay.io import gif

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures", "overcooked")
A = {"U": 0, "D": 1, "R": 2, "L": 3, "S": 4, "I": 5}
N, S, E, W = range(4)
F = {name: i for i, name in enumerate(dyn.FEATURES)}


@functools.lru_cache(maxsize=None)
def kit(layout="cramped_room", dynamics="classic", horizon=400, pad_to=None):
  """An env and its jitted step, built once per configuration for the whole module."""
  env = oc.Overcooked(layout=layout, dynamics=dynamics, horizon=horizon, pad_to=pad_to)
  return env, jax.jit(env.step)


def play(env_and_step, moves0: str, moves1: str, state=None):
  """Steps cook 0 through `moves0` and cook 1 through `moves1` (letters UDRLSI, the shorter
  padded with S); returns every state after a step."""
  env, step = env_and_step
  state = env.init(jax.random.key(0)) if state is None else state
  length = max(len(moves0), len(moves1))
  states = []
  for a0, a1 in zip(moves0.ljust(length, "S"), moves1.ljust(length, "S")):
    state = step(state, jnp.array([A[a0], A[a1]], jnp.int32))
    states.append(state)
  return states


def placed(env, state, cells_dirs):
  """`state` with the cooks moved to [((x, y), direction), ...] (held objects unchanged)."""
  w = env.kitchen.width
  return state.replace(cook_cell=jnp.array([y * w + x for (x, y), _ in cells_dirs], jnp.int32),
                       cook_dir=jnp.array([d for _, d in cells_dirs], jnp.int32))


def holding(state, held0, held1):
  return state.replace(held=jnp.array([held0, held1], jnp.int32))


# cramped_room: cook 0 starts at (1, 2), cook 1 at (3, 1); pot (2, 0), onions (0, 1) and
# (4, 1), dishes (1, 3), serving (3, 3).
#   XXPXX
#   O  2O
#   X1  X
#   XDXSX
FILL_ONCE = "RILUI"  # cook 1 from (3, 1): onion from (4, 1), to (2, 1), face the pot, put it in


# --- start, actions, movement --------------------------------------------------------------


def test_start_state_and_spaces():
  env, _ = kit()
  state = env.init(jax.random.key(0))
  d = env.describe(state)
  assert d["positions"] == [[1, 2], [3, 1]] and d["orientations"] == [N, N]
  assert d["held"] == [None, None] and d["counters"] == [] and d["pots"] == [[2, 0, 0, -1, False,
                                                                               False]]
  assert env.simultaneous and int(state.current_player) == -1
  assert state.legal_action_mask.shape == (2, 6) and bool(state.legal_action_mask.all())
  assert state.observation.shape == (2, 20, len(dyn.FEATURES)) == (2,) + env.observation_shape
  assert state.observation.dtype == jnp.int8
  assert env.sample_chance(jax.random.key(1)).shape == (0,)
  assert env.sample_chance(jax.random.key(1)).dtype == jnp.int32
  np.testing.assert_array_equal(state.shaped_rewards, [0.0, 0.0])


def test_a_move_turns_and_moves_only_onto_floor():
  env = kit()
  d = [env[0].describe(s) for s in play(env, "ULD", "RD")]
  assert d[0]["positions"] == [[1, 1], [3, 1]] and d[0]["orientations"] == [N, E]  # (4,1): O
  assert d[1]["positions"] == [[1, 1], [3, 2]] and d[1]["orientations"] == [W, S]  # (0,1): O
  assert d[2]["positions"] == [[1, 2], [3, 2]] and d[2]["orientations"] == [S, S]


@pytest.mark.parametrize("start, moves, end", [
    # both into one cell: neither moves, both turn
    ([((1, 1), N), ((3, 1), N)], "RL", [[1, 1], [3, 1]]),
    # swap: neither moves
    ([((1, 1), N), ((2, 1), N)], "RL", [[1, 1], [2, 1]]),
    # into a cook who stays: neither moves
    ([((1, 1), N), ((2, 1), N)], "RS", [[1, 1], [2, 1]]),
    # into a cook who interacts: neither moves
    ([((1, 1), N), ((2, 1), N)], "RI", [[1, 1], [2, 1]]),
    # into a cook who bumps into a dispenser (stays): neither moves
    ([((2, 1), N), ((3, 1), N)], "RR", [[2, 1], [3, 1]]),
    # following a cook who leaves: both move
    ([((1, 1), N), ((2, 1), N)], "RR", [[2, 1], [3, 1]]),
    ([((1, 2), N), ((1, 1), N)], "UR", [[1, 1], [2, 1]]),
    # crossing paths without sharing a cell: both move
    ([((1, 1), N), ((2, 2), N)], "RL", [[2, 1], [1, 2]]),
])
def test_collisions_follow_overcooked_ai(start, moves, end):
  env, step = kit()
  state = placed(env, env.init(jax.random.key(0)), start)
  state = step(state, jnp.array([A[moves[0]], A[moves[1]]], jnp.int32))
  d = env.describe(state)
  assert d["positions"] == end
  expected_dirs = [A[m] if A[m] < 4 else start[i][1] for i, m in enumerate(moves)]
  assert d["orientations"] == expected_dirs  # a move action always turns the cook


# --- objects ---------------------------------------------------------------------------------


def test_dispensers_give_to_empty_hands_only():
  env = kit()
  d = [env[0].describe(s) for s in play(env, "DII", "RII")]
  assert d[1]["held"] == ["dish", "onion"]
  assert d[2]["held"] == ["dish", "onion"]  # full hands: nothing more
  assert d[1]["shaped_rewards"] == [0.0, 0.0]  # a dish with no soup in progress is not useful


def test_counter_put_down_and_pick_up():
  env = kit()
  # cook 1: onion from (4, 1), turn to counter (3, 0), put down, pick up, turn (no-op), put down.
  d = [env[0].describe(s) for s in play(env, "", "RIUIIUI")]
  assert d[3]["held"][1] is None and d[3]["counters"] == [[3, 0, "onion"]]
  assert d[4]["held"][1] == "onion" and d[4]["counters"] == []
  assert d[5]["held"][1] == "onion" and d[5]["orientations"][1] == N
  assert d[6]["held"][1] is None and d[6]["counters"] == [[3, 0, "onion"]]
  assert all(x["shaped_rewards"] == [0.0, 0.0] for x in d)  # onions and drops earn nothing


def test_two_cooks_pass_an_object_over_one_counter_in_one_step():
  # forced_coordination: counter (2, 1) lies between floor (1, 1) and (3, 1).
  env, step = kit("forced_coordination")
  state = placed(env, env.init(jax.random.key(0)), [((1, 1), E), ((3, 1), W)])
  state = holding(state, dyn.ONION, dyn.NOTHING)
  # cook 0 puts the onion down, then (same step) cook 1, empty-handed, picks it up.
  d = env.describe(step(state, jnp.array([A["I"], A["I"]], jnp.int32)))
  assert d["held"] == [None, "onion"] and d["counters"] == []
  # the other way round: cook 0 picks the counter's onion up, cook 1 then puts its dish down.
  state = holding(state, dyn.NOTHING, dyn.DISH)
  state = state.replace(counter_bits=env.kitchen.initial_fields()["counter_bits"])
  state = step(state, jnp.array([A["S"], A["I"]], jnp.int32))  # cook 1 puts the dish down
  assert env.describe(state)["counters"] == [[2, 1, "dish"]]
  state = holding(state, dyn.NOTHING, dyn.ONION)
  d = env.describe(step(state, jnp.array([A["I"], A["I"]], jnp.int32)))
  assert d["held"] == ["dish", None] and d["counters"] == [[2, 1, "onion"]]


@pytest.mark.parametrize("dynamics", ["classic", "new"])
def test_pot_takes_three_onions_then_refuses(dynamics):
  env = kit(dynamics=dynamics)
  states = play(env, "", FILL_ONCE * 4)
  d = [env[0].describe(s) for s in states]
  for i in range(3):
    after = d[5 * i + 4]
    assert after["held"][1] is None
    assert after["shaped_rewards"] == [0.0, 3.0]
    assert after["pots"][0][2] == i + 1
  fourth = d[19]
  assert fourth["held"][1] == "onion" and fourth["shaped_rewards"] == [0.0, 0.0]
  assert fourth["pots"][0][2] == 3
  if dynamics == "classic":  # cooking started by itself with the 3rd onion: tick 1 that step
    assert d[14]["pots"][0][3:] == [1, True, False]
    assert fourth["pots"][0][3] == 6
  else:  # a full pot waits for a cook
    assert d[14]["pots"][0][3:] == [-1, False, False]
    assert fourth["pots"][0][3:] == [-1, False, False]


def test_classic_soup_is_ready_after_cook_time_and_stays_ready():
  env = kit()
  states = play(env, "", FILL_ONCE * 3 + "S" * 25)
  ticks = [env[0].describe(s)["pots"][0][3] for s in states[14:]]
  assert ticks[:21] == list(range(1, 21)) + [20]
  pots = [env[0].describe(s)["pots"][0] for s in states]
  assert pots[14 + 18][4:] == [True, False] and pots[14 + 19][4:] == [False, True]
  assert all(p[3] == 20 for p in pots[14 + 19:])


def test_new_dynamics_cooking_starts_by_an_empty_handed_interact():
  env = kit(dynamics="new")
  states = play(env, "", FILL_ONCE + "I")  # one onion, then interact with empty hands
  d = env[0].describe(states[-1])
  assert d["pots"][0][2:] == [1, 1, True, False]  # a 1-onion soup cooks too
  assert d["shaped_rewards"] == [0.0, 0.0]
  # ... while in classic dynamics an empty-handed interact does nothing.
  classic = kit()
  d = classic[0].describe(play(classic, "", FILL_ONCE + "I")[-1])
  assert d["pots"][0][2:] == [1, -1, False, False]


def test_dish_soup_pickup_and_delivery_pay_as_overcooked_ai():
  env, step = kit()
  state = env.init(jax.random.key(0))
  # A cooking pot: 3 onions, tick 5; cook 0 empty-handed at (1, 2) facing the dish dispenser.
  state = state.replace(pot_onions=jnp.array([3], jnp.int32), pot_tick=jnp.array([5], jnp.int32))
  state = placed(env, state, [((1, 2), S), ((3, 2), S)])
  state = step(state, jnp.array([A["I"], A["S"]], jnp.int32))
  d = env.describe(state)
  assert d["held"] == ["dish", None] and d["shaped_rewards"] == [3.0, 0.0]  # useful dish
  # To the pot; a dish on a soup that is not ready does nothing.
  state = placed(env, state, [((2, 1), N), ((3, 2), S)])
  state = step(state, jnp.array([A["I"], A["S"]], jnp.int32))
  d = env.describe(state)
  assert d["held"] == ["dish", None] and d["pots"][0][2:] == [3, 7, True, False]
  state = state.replace(pot_tick=jnp.array([20], jnp.int32))
  state = step(state, jnp.array([A["I"], A["S"]], jnp.int32))
  d = env.describe(state)
  assert d["held"] == ["soup", None] and d["held_soup_onions"] == [3, None]
  assert d["pots"][0] == [2, 0, 0, -1, False, False] and d["shaped_rewards"] == [5.0, 0.0]
  np.testing.assert_array_equal(state.rewards, [0.0, 0.0])
  # Serve it from (3, 2) facing south: +20 to both cooks; the shaped reward has no part in it.
  state = placed(env, state, [((3, 2), S), ((1, 1), N)])
  state = step(state, jnp.array([A["I"], A["S"]], jnp.int32))
  d = env.describe(state)
  assert d["held"] == [None, None] and d["sparse_reward"] == 20.0
  np.testing.assert_array_equal(state.rewards, [20.0, 20.0])
  np.testing.assert_array_equal(state.shaped_rewards, [0.0, 0.0])
  # Serving counters take only soups.
  state = step(holding(state, dyn.DISH, dyn.NOTHING), jnp.array([A["I"], A["S"]], jnp.int32))
  assert env.describe(state)["held"] == ["dish", None]
  np.testing.assert_array_equal(state.rewards, [0.0, 0.0])


def test_a_soup_of_fewer_onions_is_served_for_nothing():
  env, step = kit(dynamics="new")
  state = env.init(jax.random.key(0))
  state = placed(env, state, [((3, 2), S), ((1, 1), N)])
  state = step(holding(state, dyn.SOUP_2, dyn.NOTHING), jnp.array([A["I"], A["S"]], jnp.int32))
  d = env.describe(state)
  assert d["held"] == [None, None] and d["sparse_reward"] == 0.0
  # ... and a 3-onion soup is worth 20 in the new dynamics too.
  state = step(holding(state, dyn.SOUP_3, dyn.NOTHING), jnp.array([A["I"], A["S"]], jnp.int32))
  np.testing.assert_array_equal(state.rewards, [20.0, 20.0])


@pytest.mark.parametrize("pot, held_other, dish_on_counter, useful", [
    ((0, -1), dyn.NOTHING, False, False),   # empty pot: nothing to serve
    ((1, -1), dyn.NOTHING, False, True),    # 1 onion, idle: a soup in progress
    ((2, -1), dyn.NOTHING, False, True),
    ((3, -1), dyn.NOTHING, False, False),   # full but not started: not counted (new dynamics)
    ((3, 4), dyn.NOTHING, False, True),     # cooking
    ((3, 20), dyn.NOTHING, False, True),    # ready
    ((3, 4), dyn.DISH, False, False),       # the other cook already holds a dish
    ((3, 4), dyn.ONION, False, True),
    ((3, 4), dyn.NOTHING, True, False),     # a dish lies on a counter
])
def test_dish_pickup_is_rewarded_when_useful(pot, held_other, dish_on_counter, useful):
  env, step = kit(dynamics="new")
  state = env.init(jax.random.key(0))
  state = state.replace(pot_onions=jnp.array([pot[0]], jnp.int32),
                        pot_tick=jnp.array([pot[1]], jnp.int32))
  state = holding(placed(env, state, [((1, 2), S), ((3, 1), N)]), dyn.NOTHING, held_other)
  if dish_on_counter:  # cook 1 first puts a dish on counter (3, 0)
    state = holding(placed(env, state, [((1, 2), N), ((3, 1), N)]), dyn.NOTHING, dyn.DISH)
    state = state.replace(pot_onions=jnp.array([pot[0]], jnp.int32),
                          pot_tick=jnp.array([pot[1]], jnp.int32))
    state = step(state, jnp.array([A["S"], A["I"]], jnp.int32))
    assert env.describe(state)["counters"] == [[3, 0, "dish"]]
    state = placed(env, state.replace(pot_tick=jnp.array([pot[1]], jnp.int32)),
                   [((1, 2), S), ((3, 1), N)])
  state = step(state, jnp.array([A["I"], A["S"]], jnp.int32))
  d = env.describe(state)
  assert d["held"][0] == "dish"
  assert d["shaped_rewards"] == [3.0 if useful else 0.0, 0.0]


def test_two_cooks_on_one_pot_in_one_step():
  # asymmetric_advantages: pot (4, 2) between floor (3, 2) and (5, 2). New dynamics: cook 0
  # puts the 3rd onion in, then cook 1 (empty hands) starts the pot, in the same step.
  env, step = kit("asymmetric_advantages", dynamics="new")
  state = env.init(jax.random.key(0))
  state = state.replace(pot_onions=jnp.array([2, 0], jnp.int32))
  state = holding(placed(env, state, [((3, 2), E), ((5, 2), W)]), dyn.ONION, dyn.NOTHING)
  d = env.describe(step(state, jnp.array([A["I"], A["I"]], jnp.int32)))
  assert d["pots"][0] == [4, 2, 3, 1, True, False] and d["shaped_rewards"] == [3.0, 0.0]
  # The other order: cook 0 starts a 2-onion pot; cook 1's onion then finds it cooking.
  state = holding(state, dyn.NOTHING, dyn.ONION)
  d = env.describe(step(state, jnp.array([A["I"], A["I"]], jnp.int32)))
  assert d["pots"][0] == [4, 2, 2, 1, True, False] and d["held"] == [None, "onion"]
  assert d["shaped_rewards"] == [0.0, 0.0]


# --- the episode -----------------------------------------------------------------------------


def test_horizon_truncates_and_then_nothing_moves():
  env, step = kit(horizon=5)
  states = play((env, step), "RRRRRR", "LLLLLL")
  assert [bool(s.truncated) for s in states] == [False] * 4 + [True] * 2
  assert not any(bool(s.terminated) for s in states)
  assert not bool(states[4].legal_action_mask.any())
  assert int(states[5].step_count) == 5
  np.testing.assert_array_equal(states[5].observation, states[4].observation)
  # Stepping a finished game zeroes both kinds of reward of the (no-)transition.
  shaped_last = states[4].replace(shaped_rewards=jnp.array([3.0, 5.0]))
  after = step(shaped_last, jnp.array([5, 5], jnp.int32))
  np.testing.assert_array_equal(after.shaped_rewards, [0.0, 0.0])
  np.testing.assert_array_equal(after.rewards, [0.0, 0.0])
  # Urgency: fewer than 40 steps left, on every cell.
  assert (np.asarray(states[0].observation)[..., F["urgency"]] == 1).all()
  assert (np.asarray(kit()[0].init(jax.random.key(0)).observation)[..., F["urgency"]] == 0).all()


def test_an_out_of_range_action_ends_the_game_against_the_offender():
  env, step = kit()
  state = step(env.init(jax.random.key(0)), jnp.array([4, 6], jnp.int32))
  assert bool(state.terminated) and not bool(state.legal_action_mask.any())
  np.testing.assert_array_equal(state.rewards, [1.0, -1.0])


def test_make_and_options():
  # Importing the package registers the game.
  env = jaxplay.make("overcooked", layout="counter_circuit", dynamics="new", horizon=50)
  assert isinstance(env, oc.Overcooked) and env.observation_shape == (40, len(dyn.FEATURES))
  assert jaxplay.make("overcooked", layout="counter_circuit_o_1order").layout.name == (
      "counter_circuit")
  for kwargs, message in [
      (dict(dynamics="old"), "dynamics must be one of"),
      (dict(horizon=0), "horizon must be a positive int"),
      (dict(cook_time=100), "cook_time must be an int in 1..63"),
      (dict(layout="kitchen"), "unknown layout 'kitchen'.*cramped_room"),
      (dict(pad_to=(3, 9)), r"pad_to=\(3, 9\) is smaller than layout 'cramped_room'"),
      (dict(pad_to=5), "pad_to must be a pair of ints"),
      (dict(start_positions=[(1, 1)]), "start_positions must be two"),
      (dict(start_positions=[(0, 0), (1, 1)]),
       r"cook 0 starts at \(x=0, y=0\), which is not a floor"),
  ]:
    with pytest.raises(jaxplay.ConfigError, match=message):
      jaxplay.make("overcooked", **kwargs)


def test_views():
  with pytest.raises(jaxplay.ConfigError, match="turn-based"):
    jaxplay.PgxView(oc.Overcooked())
  view = jaxplay.JaxMARLView(oc.Overcooked(horizon=3))
  obs, state = view.reset(jax.random.key(0))
  assert obs["agent_0"].shape == (20, len(dyn.FEATURES))
  step = jax.jit(view.step)
  for t in range(3):
    obs, state, rewards, dones, infos = step(jax.random.key(t), state,
                                             {"agent_0": jnp.int32(4), "agent_1": jnp.int32(5)})
  assert bool(dones["__all__"]) and bool(infos["truncated"]) and int(state.inner.step_count) == 0


# --- layouts ---------------------------------------------------------------------------------


def test_the_five_layouts_are_drawn_as_in_references():
  assert sorted(layouts.LAYOUTS) == ["asymmetric_advantages", "coordination_ring",
                                     "counter_circuit", "cramped_room", "forced_coordination"]
  for name, grid in layouts.LAYOUTS.items():
    assert layouts.get(name).ascii() == grid.split("\n")
  lay = layouts.get("asymmetric_advantages")
  assert lay.start == ((6, 2), (1, 3)) and (lay.height, lay.width) == (5, 9)


@pytest.mark.parametrize("grid, message", [
    ("XXPXX\nO  2O\nX1  Y\nXDXSX", r"unknown symbol 'Y' at x=4, y=2"),
    ("XXPXX\nO  2O\nX1  T\nXDXSX", r"unknown symbol 'T'.*tomatoes are not supported"),
    ("XXPXX\nO  2O\nX1   X\nXDXSX", r"ragged rows.*\[5, 5, 6, 5\]"),
    ("XXPXX\nO   O\nX1  X\nXDXSX", r"exactly two cooks.*1 x '1' and 0 x '2'"),
    ("XXPXX\nO 22O\nX1  X\nXDXSX", r"exactly two cooks.*1 x '1' and 2 x '2'"),
    ("XXPXX\nO  2O\nX1 3X\nXDXSX", r"unknown symbol '3'"),
    ("XXXXX\nO  2O\nX1  X\nXDXSX", r"no pot \('P'\)"),
    ("XXPXX\nX  2X\nX1  X\nXDXSX", r"no onion dispenser \('O'\)"),
    ("XXPXX\nO  2O\nX1  X\nXXXSX", r"no dish dispenser \('D'\)"),
    ("XXPXX\nO  2O\nX1  X\nXDXXX", r"no serving counter \('S'\)"),
    ("XXPXX\n   2O\nX1  X\nXDXSX", r"border cell x=0, y=1 is floor"),
    ("\n\n", "the layout grid is empty"),
    ("XPO\nD1S", "at least 3 x 3"),
])
def test_bad_grids_say_what_is_wrong(grid, message):
  with pytest.raises(jaxplay.ConfigError, match=message):
    oc.Overcooked(layout=grid)


def test_custom_grids_as_string_or_rows():
  rows = ["XXPXXX", "O 1  D", "X   2X", "XXSXXX"]
  a = oc.Overcooked(layout="\n".join(rows))
  b = oc.Overcooked(layout=["  " + r for r in rows])  # surrounding spaces are ignored
  assert a.layout.ascii() == b.layout.ascii() == rows
  c = oc.Overcooked(layout=["XXPXXX", "O    D", "X    X", "XXSXXX"],
                    start_positions=[(2, 1), (4, 2)])
  assert c.layout.ascii() == rows and c.describe(c.init(jax.random.key(0)))["positions"] == [
      [2, 1], [4, 2]]


# --- observation -----------------------------------------------------------------------------


def reference_observation(env, d) -> np.ndarray:
  """The observation, built cell by cell in numpy from `env.describe(state)` (see the
  package docstring for the features)."""
  k = env.kitchen
  obs = np.zeros((2, k.num_cells, len(dyn.FEATURES)), np.int8)
  terrain = env.layout.terrain.reshape(-1)
  for name, code in (("pot", layouts.POT), ("counter", layouts.COUNTER),
                     ("onion_dispenser", layouts.ONION_DISPENSER),
                     ("dish_dispenser", layouts.DISH_DISPENSER), ("serving", layouts.SERVING),
                     ("padding", layouts.PADDING), ("floor", layouts.FLOOR)):
    obs[:, terrain == code, F[name]] = 1
  cell = lambda x, y: y * k.width + x
  for p in range(2):
    for q, who in ((p, "me"), (1 - p, "other")):
      c = cell(*d["positions"][q])
      obs[p, c, F[who]] = 1
      obs[p, c, F[f"{who}_facing_{dyn.DIRECTION_NAMES[d['orientations'][q]]}"]] = 1

  def draw(c, name, onions):
    if name == "soup":
      obs[:, c, F["soup_ready"]] = 1
      obs[:, c, F["onions_in_soup"]] = onions
    else:
      obs[:, c, F[name]] = 1

  for x, y, name, *onions in d["counters"]:
    draw(cell(x, y), name, onions[0] if onions else 0)
  for q in range(2):
    if d["held"][q]:
      draw(cell(*d["positions"][q]), d["held"][q], d["held_soup_onions"][q])
  for x, y, onions, tick, cooking, ready in d["pots"]:
    if tick < 0:
      obs[:, cell(x, y), F["onions_in_pot"]] = onions
    else:
      obs[:, cell(x, y), F["onions_in_soup"]] = onions
      obs[:, cell(x, y), F["cook_time_remaining"]] = env.cook_time - tick
      obs[:, cell(x, y), F["soup_ready"]] = int(ready)
  if env.horizon - d["step"] < dyn.URGENCY_STEPS:
    obs[:, terrain != layouts.PADDING, F["urgency"]] = 1
  return obs


@functools.lru_cache(maxsize=None)
def random_rollout(layout, dynamics, pad_to=None, games=16, steps=120, horizon=100):
  """`games` games of uniformly random play (auto-reset off), every state, as numpy."""
  env = oc.Overcooked(layout=layout, dynamics=dynamics, pad_to=pad_to, horizon=horizon)

  @jax.jit
  def run(key):
    def body(state, key):
      action = jaxplay.random_legal_actions(key, state.legal_action_mask)
      # Bias towards interacting, so that objects pile up on counters and in pots.
      action = jnp.where(jax.random.bernoulli(key, 0.3, action.shape), 5, action)
      state = jax.vmap(env.step)(state, action)
      return state, state
    state = jax.vmap(env.init)(jax.random.split(key, games))
    return jax.lax.scan(body, state, jax.random.split(key, steps))[1]

  return env, jax.tree.map(np.asarray, run(jax.random.key(3)))


# The random-play rollouts the kitchen-wide checks replay.
ROLLOUTS = pytest.mark.parametrize("layout, dynamics, pad_to", [
    ("cramped_room", "classic", None),
    ("counter_circuit", "new", None),          # 40 cells: two bitboard words
    ("forced_coordination", "new", (6, 9)),    # padded, 54 cells
])


@ROLLOUTS
def test_observation_matches_a_cell_by_cell_reference(layout, dynamics, pad_to):
  env, states = random_rollout(layout, dynamics, pad_to)
  seen = set()
  for t in range(0, states.step_count.shape[0], 3):
    for g in range(states.step_count.shape[1]):
      state = jax.tree.map(lambda a: a[t, g], states)
      d = env.describe(state)
      np.testing.assert_array_equal(state.observation, reference_observation(env, d),
                                    err_msg=f"step {t}, game {g}: {d}")
      seen |= {c[2] for c in d["counters"]} | {h for h in d["held"] if h}
  assert seen >= {"onion", "dish"}, "random play should move objects around"


@ROLLOUTS
def test_random_play_keeps_the_kitchen_consistent(layout, dynamics, pad_to):
  env, states = random_rollout(layout, dynamics, pad_to)
  terrain = env.layout.terrain.reshape(-1)
  cells = states.cook_cell.reshape(-1, 2)
  assert (terrain[cells] == layouts.FLOOR).all(), "a cook left the floor"
  assert (cells[:, 0] != cells[:, 1]).all(), "two cooks in one cell"
  objects = dyn.decode_counter_bits(states.counter_bits, env.kitchen.num_cells)
  assert (terrain[np.flatnonzero(objects.reshape(-1, objects.shape[-1]).any(0))]
          == layouts.COUNTER).all(), "an object off the counters"
  assert ((states.pot_onions >= 0) & (states.pot_onions <= 3)).all()
  assert ((states.pot_tick >= -1) & (states.pot_tick <= env.cook_time)).all()
  assert ((states.pot_tick < 0) | (states.pot_onions > 0)).all(), "an empty pot cooking"
  if dynamics == "classic":
    assert ((states.pot_onions == 3) == (states.pot_tick >= 0)).all()
  assert set(np.unique(states.rewards)) <= {0.0, 20.0, 40.0}
  assert set(np.unique(states.shaped_rewards)) <= {0.0, 3.0, 5.0}
  assert states.truncated[-1].all() and not states.terminated.any()


def test_padding_puts_the_kitchen_top_left_and_marks_the_rest():
  plain, padded = kit()[0], kit(pad_to=(6, 9))[0]
  assert padded.observation_shape == (54, len(dyn.FEATURES))
  obs = np.asarray(padded.init(jax.random.key(0)).observation).reshape(2, 6, 9, -1)
  inner = np.asarray(plain.init(jax.random.key(0)).observation).reshape(2, 4, 5, -1)
  np.testing.assert_array_equal(obs[:, :4, :5], inner)
  outside = np.ones((6, 9), bool)
  outside[:4, :5] = False
  assert (obs[:, outside, F["padding"]] == 1).all()
  others = [i for i in range(len(dyn.FEATURES)) if i != F["padding"]]
  assert (obs[:, outside][..., others] == 0).all()
  assert (obs[:, ~outside, F["padding"]] == 0).all()
  urgent = np.asarray(oc.Overcooked(pad_to=(6, 9), horizon=10).init(jax.random.key(0))
                      .observation).reshape(2, 6, 9, -1)
  assert (urgent[:, ~outside, F["urgency"]] == 1).all()
  assert (urgent[:, outside][..., others] == 0).all()  # padding stays all-zero but the flag
  # The same game on both grids.
  moves0, moves1 = "DIURUIIRDDI", "RILUIRILUIR"
  a, b = play(kit(), moves0, moves1), play(kit(pad_to=(6, 9)), moves0, moves1)
  for sa, sb in zip(a, b):
    da, db = plain.describe(sa), padded.describe(sb)
    assert da == db
    np.testing.assert_array_equal(np.asarray(sb.observation).reshape(2, 6, 9, -1)[:, :4, :5],
                                  np.asarray(sa.observation).reshape(2, 4, 5, -1))


# --- rendering -------------------------------------------------------------------------------


def _read_gif(path) -> tuple[list[np.ndarray], list[int]]:
  """The frames of a GIF as uint8[H, W, 3] and their durations in ms."""
  with Image.open(path) as gif:
    frames = [(np.asarray(f.convert("RGB")), f.info["duration"])
              for f in ImageSequence.Iterator(gif)]
  return [f for f, _ in frames], [d for _, d in frames]


def test_rgb_gif_and_text(tmp_path):
  env = kit()
  states = play(env, "DIU", "RIL")
  image = render.rgb(env[0], states[-1])
  assert image.shape == (4 * render.CELL, 5 * render.CELL, 3) and image.dtype == np.uint8
  cook0 = image[1 * 32:2 * 32, 1 * 32:2 * 32].reshape(-1, 3)  # cook 0 at (1, 1)
  assert (cook0 == render.COLORS["cook0"]).all(-1).any()
  assert (cook0 == render.COLORS["dish"]).all(-1).any()  # ... holding a dish
  frames = [env[0].render(s) for s in states]
  # A list of states and the same states stacked in time give the same file, in a new folder.
  path = gif.save_episode(env[0], states, tmp_path / "new" / "folder" / "episode.gif")
  stacked = jax.tree.map(lambda *xs: jnp.stack(xs), *states)
  path2 = gif.save_episode(env[0], stacked, tmp_path / "stacked.gif")
  data = open(path, "rb").read()
  assert data[:6] == b"GIF89a" and data == open(path2, "rb").read()
  # Exact colours, 1/fps (6 fps: 0.17 s) a frame; Pillow merges a repeated frame into the
  # one before it.
  decoded, durations = _read_gif(path)
  distinct = [frames[0]] + [b for a, b in zip(frames, frames[1:]) if not np.array_equal(a, b)]
  assert len(decoded) == len(distinct)
  for got, want in zip(decoded, distinct):
    np.testing.assert_array_equal(got, want)
  assert sum(durations) == len(frames) * 170
  text = render.text(env[0], states[-1])
  assert text.splitlines()[1].split() == ["X", "X", "P", "X", "X"]
  assert "^0d" in text and "<1o" in text


# --- parity with overcooked-ai 1.1.0 -----------------------------------------------------------

FIXTURE_FILES = sorted(glob.glob(os.path.join(FIXTURES, "*.json")))
COMPARED = ("positions", "orientations", "held", "held_soup_onions", "counters", "pots",
            "sparse_reward", "shaped_rewards")


@functools.lru_cache(maxsize=None)
def replayer(grid: tuple[str, ...], start: tuple[tuple[int, int], ...], horizon: int):
  env = oc.Overcooked(layout=list(grid), start_positions=start, dynamics="new", horizon=horizon)

  @jax.jit
  def replay(actions):
    def body(state, action):
      state = env.step(state, action)
      return state, state
    return jax.lax.scan(body, env.init(jax.random.key(0)), actions)[1]

  return env, replay


@pytest.mark.skipif(not FIXTURE_FILES, reason=f"no overcooked-ai reference trajectories in "
                    f"{FIXTURES} yet (tools/overcooked_reference/generate.py writes them)")
@pytest.mark.parametrize("path", FIXTURE_FILES, ids=os.path.basename)
def test_parity_with_overcooked_ai(path):
  with open(path) as f:
    fixture = json.load(f)
  name = layouts.ALIASES.get(fixture["layout"], fixture["layout"])
  start = tuple(tuple(p) for p in fixture["start_positions"])
  env, replay = replayer(tuple(fixture["grid"]), start, fixture["horizon"])
  named = layouts.get(name)  # our drawing of the layout is overcooked-ai's
  assert [row.replace("1", " ").replace("2", " ") for row in named.ascii()] == fixture["grid"]
  assert named.start == start
  states = jax.tree.map(np.asarray, replay(jnp.array(fixture["actions"], jnp.int32)))
  assert len(fixture["steps"]) == len(fixture["actions"])
  for t, want in enumerate(fixture["steps"]):
    state = jax.tree.map(lambda a: a[t], states)
    got = env.describe(state)
    got = {k: json.loads(json.dumps(got[k])) for k in COMPARED}
    assert got == {k: want[k] for k in COMPARED}, (
        f"{os.path.basename(path)} step {t}, joint action {fixture['actions'][t]}")
    if t % 10 == 0:
      np.testing.assert_array_equal(state.observation,
                                    reference_observation(env, env.describe(state)))
  total = sum(step["sparse_reward"] for step in fixture["steps"])
  assert float(states.rewards[:, 0].sum()) == total
  assert bool(states.truncated[-1]) == (len(fixture["actions"]) >= fixture["horizon"])


@ROLLOUTS
def test_fixed_features_hold_in_every_state(layout, dynamics, pad_to):
  env, states = random_rollout(layout, dynamics, pad_to)
  mask, values = env.fixed_features()
  chex.assert_shape((mask, values), env.observation_shape)
  observations = states.observation.reshape((-1,) + env.observation_shape)
  np.testing.assert_array_equal(observations[:, mask], np.broadcast_to(
      values[mask], observations[:, mask].shape))
  assert mask.mean() > 0.5, "most of the grid is terrain that never changes"
