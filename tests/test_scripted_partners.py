"""Scripted Overcooked partners (jaxplay.agents.scripted): the shortest-path tables, the
independent cook alone beside a static partner on every layout that lets one cook do it all,
an onion fetcher with a dish fetcher, the static and random partners, dropping, jit and
determinism."""

from __future__ import annotations

import functools

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxplay
from jaxplay.agents import agent as agent_lib
from jaxplay.agents import scripted
from jaxplay.core.errors import ConfigError
from jaxplay.eval.play import play
from jaxplay.games.overcooked import dynamics as dyn
from jaxplay.games.overcooked import layouts

B, HORIZON = 8, 400
BOTH_SEATS = jnp.tile(jnp.array([[0, 1], [1, 0]], jnp.int32), (B // 2, 1))  # agent 0 in seat b % 2
# Whether a cook alone can make a soup from seat 0 / seat 1 while the other cook stands still
# on its start cell (the layout's `1` / `2`), and why not.
SOLO = {
    "cramped_room": (True, False),          # cook 0's start is the only cell beside the dishes
    "asymmetric_advantages": (True, True),
    "coordination_ring": (False, True),     # cook 1's start is the only cell beside the dishes
    "forced_coordination": (False, False),  # onions and dishes on one side, the pot on the other
    "counter_circuit": (True, True),        # the ring is open the other way round
}


@functools.lru_cache(maxsize=None)
def kitchen(layout: str, dynamics: str = "classic"):
  return jaxplay.make("overcooked", layout=layout, dynamics=dynamics, horizon=HORIZON)


def solo_possible(env, seat: int) -> bool:
  """Whether the cook in `seat` reaches an onion dispenser, a pot, a dish dispenser and a
  serving counter around the other cook standing on its start cell."""
  tables = scripted.layout_tables(env.layout)
  cook, still = env.kitchen.start_cells[seat], env.kitchen.start_cells[1 - seat]
  reach = np.asarray(tables.distance[still, :, cook]) < scripted.UNREACHABLE
  terrain = np.asarray(tables.terrain)
  return all(reach[terrain == kind].any() for kind in (
      layouts.ONION_DISPENSER, layouts.POT, layouts.DISH_DISPENSER, layouts.SERVING))


def test_tables_hold_shortest_paths_around_the_other_cook():
  env = kitchen("cramped_room")
  tables = scripted.layout_tables(env.layout)
  width, tile = env.kitchen.width, np.asarray(tables.tile_of_cell)
  cell = lambda x, y: y * width + x
  free = -1                                       # the row that avoids no cell
  start = cell(1, 2)
  pot, dishes, serving = tile[cell(2, 0)], tile[cell(1, 3)], tile[cell(3, 3)]
  assert tables.distance[free, dishes, start] == 0
  assert tables.first_action[free, dishes, start] == dyn.DOWN           # turn to face it
  assert tables.distance[free, pot, start] == 2                          # to (2, 1)
  assert tables.distance[free, serving, start] == 2                      # to (3, 2)
  assert tables.distance[cell(2, 1), pot, start] == scripted.UNREACHABLE  # its one cell taken
  assert tables.distance[cell(2, 2), serving, start] == 4                # round by the top
  assert tables.first_action[cell(2, 2), serving, start] == dyn.UP
  assert tables.tile_of_cell[cell(0, 0)] == tables.terrain.shape[0]      # a corner: no tile
  assert [solo_possible(env, seat) for seat in (0, 1)] == list(SOLO["cramped_room"])


@pytest.mark.parametrize("dynamics", ["classic", "new"])
@pytest.mark.parametrize("layout", sorted(SOLO))
def test_the_independent_cook_delivers_beside_a_static_partner(layout, dynamics):
  env = kitchen(layout, dynamics)
  possible = np.array([solo_possible(env, seat) for seat in (0, 1)])
  np.testing.assert_array_equal(possible, SOLO[layout])
  if not possible.any():
    pytest.skip(f"{layout}: no cook can make a soup alone (onions and dishes are on one side "
                "of the counter, the pot and the serving counter on the other)")
  cook = scripted.independent_cook(env)
  played = play(env, (cook, scripted.static_partner()), BOTH_SEATS, jax.random.key(1), HORIZON)
  returns = np.asarray(played.returns[:, 0])
  cook_seat = np.arange(B) % 2
  assert (returns[possible[cook_seat]] >= dyn.SOUP_VALUE).all(), (layout, returns)
  assert (returns[~possible[cook_seat]] == 0).all()


@pytest.mark.parametrize("layout,dynamics", [("cramped_room", "classic"),
                                             ("cramped_room", "new"),
                                             ("counter_circuit", "classic")])
def test_an_onion_fetcher_and_a_dish_fetcher_deliver_together(layout, dynamics):
  env = kitchen(layout, dynamics)
  fetchers = (scripted.onion_fetcher(env), scripted.dish_fetcher(env))
  played = play(env, fetchers, BOTH_SEATS, jax.random.key(2), HORIZON,
                record=("returns", "shaped_returns"))
  assert (np.asarray(played.returns) >= dyn.SOUP_VALUE).all()
  shaped = np.asarray(played.shaped_returns)
  onion_seat = np.arange(B) % 2
  by_onions = shaped[np.arange(B), onion_seat]           # onions into pots: 3 each
  by_dishes = shaped[np.arange(B), 1 - onion_seat]       # dishes and soups taken: 3 and 5
  assert (by_onions >= 3 * dyn.PLACEMENT_IN_POT_REW).all()
  assert (by_dishes >= dyn.SOUP_PICKUP_REWARD).all()
  assert (by_onions % dyn.PLACEMENT_IN_POT_REW == 0).all()  # it never takes dishes or soups


def test_two_independent_cooks_hand_over_through_the_counters_on_forced_coordination():
  env = kitchen("forced_coordination")
  cooks = (scripted.independent_cook(env),)
  played = play(env, cooks, jnp.zeros((B, 2), jnp.int32), jax.random.key(6), HORIZON,
                record=("returns", "states"))
  assert (np.asarray(played.returns) >= dyn.SOUP_VALUE).all()
  objects = np.asarray(jax.vmap(jax.vmap(env.counter_objects))(played.states))  # [T, B, C]
  middle = np.zeros(env.kitchen.num_cells, bool)
  middle[[y * env.kitchen.width + 2 for y in (1, 2, 3)]] = True   # the counters between them
  assert (objects[:, :, ~middle] == dyn.NOTHING).all()
  for code in (dyn.ONION, dyn.DISH):
    assert (objects[:, :, middle] == code).any(axis=(0, 2)).all()    # handed over in every game


def test_the_static_partner_stays_and_the_random_partner_plays_legal_actions():
  env = kitchen("cramped_room")
  played = play(env, (scripted.static_partner(), scripted.random_partner()), BOTH_SEATS,
                jax.random.key(3), 50, record=("actions", "states"))
  actions = np.asarray(played.actions)                   # [T, B, 2]
  static = np.arange(B) % 2
  assert (actions[:, np.arange(B), static] == dyn.STAY).all()
  moves = actions[:, np.arange(B), 1 - static]
  legal = np.asarray(played.states.legal_action_mask[:-1])  # before each step: [T, B, 2, A]
  assert np.take_along_axis(legal[:, np.arange(B), 1 - static], moves[..., None], -1).all()
  assert set(np.unique(moves)) == set(range(env.num_actions))


@pytest.mark.parametrize("make", [scripted.onion_fetcher, scripted.dish_fetcher,
                                  scripted.independent_cook])
def test_drop_probability_one_puts_things_down_and_zero_never(make):
  env = kitchen("cramped_room")
  seats = jnp.zeros((B, 2), jnp.int32).at[:, 1].set(1)  # the scripted cook in seat 0
  objects = {}
  for p in (0.0, 1.0):
    agents = (make(env, drop_probability=p), scripted.static_partner())
    played = play(env, agents, seats, jax.random.key(4), 100, record=("states",))
    objects[p] = np.asarray(jax.vmap(jax.vmap(env.counter_objects))(played.states))  # [T, B, C]
  assert (objects[0.0] == dyn.NOTHING).all()
  assert ((objects[1.0] != dyn.NOTHING).any(axis=(0, 2))).all()   # in every game


def test_the_random_partner_drops_too_when_asked():
  env = kitchen("cramped_room")
  agents = (scripted.random_partner(env, drop_probability=1.0), scripted.static_partner())
  seats = jnp.zeros((B, 2), jnp.int32).at[:, 1].set(1)
  played = play(env, agents, seats, jax.random.key(5), 100, record=("states",))
  held = np.asarray(played.states.held[:, :, 0])                         # [T + 1, B]
  objects = np.asarray(jax.vmap(jax.vmap(env.counter_objects))(played.states))
  assert (objects != dyn.NOTHING).any()                                   # it put one down
  assert (held != dyn.NOTHING).any()


def test_the_partners_are_jittable_vmapped_and_deterministic():
  env = kitchen("coordination_ring", "new")
  states = jax.jit(jax.vmap(env.init))(jax.random.split(jax.random.key(0), B))
  states = jax.jit(jax.vmap(env.step))(states, jax.random.randint(jax.random.key(1), (B, 2), 0, 6))
  now = agent_lib.actors(states, True, jnp.full((B,), -1, jnp.int32))
  for agent in (scripted.onion_fetcher(env, 0.5), scripted.dish_fetcher(env, 0.5),
                scripted.independent_cook(env, 0.5), scripted.random_partner(env, 0.5),
                scripted.static_partner()):
    act = jax.jit(agent.act)
    first = act(agent.params, jax.random.key(7), now)
    chex.assert_shape(first, (B, 2))
    chex.assert_type(first, jnp.int32)
    chex.assert_trees_all_equal(first, act(agent.params, jax.random.key(7), now))
    assert ((np.asarray(first) >= 0) & (np.asarray(first) < env.num_actions)).all()
  cook = scripted.independent_cook(env)
  runs = [play(env, (cook,), jnp.zeros((B, 2), jnp.int32), jax.random.key(8), 30,
               record=("actions",)).actions for _ in range(2)]
  chex.assert_trees_all_equal(*runs)


def test_bad_probabilities_are_refused():
  with pytest.raises(ConfigError, match="drop_probability must be in"):
    scripted.onion_fetcher(kitchen("cramped_room"), drop_probability=1.5)
