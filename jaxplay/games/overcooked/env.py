"""The Overcooked `Env` (registered as "overcooked"); the rules and the observation are in the
package docstring (`jaxplay.games.overcooked`)."""

from __future__ import annotations

from typing import Any, Sequence

import jax.numpy as jnp
import numpy as np

from jaxplay.core import env as env_lib
from jaxplay.core.errors import ConfigError, check_int
from jaxplay.core.registry import register
from jaxplay.games.overcooked import dynamics as dyn
from jaxplay.games.overcooked import layouts
from jaxplay.games.overcooked import render as drawing

OvercookedState = dyn.OvercookedState
DYNAMICS = ("classic", "new")
OBJECT_NAMES = {dyn.ONION: "onion", dyn.DISH: "dish", dyn.SOUP_1: "soup", dyn.SOUP_2: "soup",
                dyn.SOUP_3: "soup"}


def event_weights(spec: str) -> tuple[float, ...] | None:
  """A cook's hidden reward, "event=weight,..." over `dynamics.EVENTS`, as one weight per
  event (float[E]); "" -> None (overcooked-ai's shaped reward).

  Raises:
    ConfigError: not a string, an unknown event (the message lists them), an event named
      twice, or a weight that is not a finite number.
  """
  if not isinstance(spec, str):
    raise ConfigError(f"overcooked: each of event_rewards is a string like "
                      f"'onion_in_pot=5,dish_pickup=-5', got {spec!r}")
  if not spec.strip():
    return None
  weights = dict.fromkeys(dyn.EVENTS, 0.0)
  named = set()
  for term in spec.split(","):
    event, _, weight = (part.strip() for part in term.partition("="))
    if event not in weights:
      raise ConfigError(f"overcooked: event_rewards names {event!r}; the events are "
                        f"{', '.join(dyn.EVENTS)}")
    if event in named:
      raise ConfigError(f"overcooked: event_rewards weighs {event!r} twice in {spec!r}")
    try:
      value = float(weight)
    except ValueError:
      value = float("nan")
    if not np.isfinite(value):
      raise ConfigError(f"overcooked: event_rewards gives {event!r} the weight {weight!r}; "
                        f"weights are finite numbers (e.g. {event}=5)")
    weights[event] = value
    named.add(event)
  return tuple(weights.values())


class Overcooked(env_lib.Env):
  """Two cooks, one kitchen, onion soups; see the package docstring.

  Args:
    layout: a layout name (`layouts.LAYOUTS`: cramped_room, asymmetric_advantages,
      coordination_ring, forced_coordination, counter_circuit) or an ASCII grid (a string with
      one row per line, or a list of rows).
    dynamics: "classic" (cooking starts by itself at 3 onions; JaxMARL, Carroll et al. 2019)
      or "new" (overcooked-ai 1.1.0: a cook with empty hands starts a pot of 1..3 onions).
    horizon: steps per episode; the step that reaches it sets `truncated`.
    pad_to: (height, width) to place the kitchen in the top-left corner of a larger grid, so
      that one network sees one observation shape across layouts.
    start_positions: ((x0, y0), (x1, y1)) overriding the grid's `1` and `2`.
    cook_time: steps a soup cooks (overcooked-ai's default recipe time, 20).
    event_rewards: the shaped reward of each cook, a pair (seat 0's, seat 1's): "" for
      overcooked-ai's (onion into a pot 3, useful dish pickup 3, soup pickup 5), or a hidden
      reward over `dynamics.EVENTS`, e.g. "onion_in_pot=5,dish_pickup=-5" (unnamed events
      weigh 0). Hidden-utility self-play's biased partners train on such rewards; the game
      (and its sparse `rewards`) is the same whatever they are.
  """

  name = "overcooked"
  num_players = 2
  num_actions = 6
  chance_shape = (0,)
  simultaneous = True
  has_shaped_rewards = True
  reward_options = ("event_rewards",)
  common_payoff = True
  headline_metrics = ("return_0",)

  def __init__(self, layout: str | Sequence[str] = "cramped_room", dynamics: str = "classic",
               horizon: int = 400, pad_to: tuple[int, int] | None = None,
               start_positions: Sequence[Sequence[int]] | None = None, cook_time: int = 20,
               event_rewards: Sequence[str] = ("", "")):
    if not isinstance(dynamics, str) or dynamics not in DYNAMICS:
      raise ConfigError(f"overcooked: dynamics must be one of {DYNAMICS}, got {dynamics!r}")
    horizon = check_int("overcooked", "horizon", horizon, 1)
    cook_time = check_int("overcooked", "cook_time", cook_time, 1, dyn.MAX_COOK_TIME)
    parsed = layouts.get(layout, start_positions=start_positions)
    if pad_to is not None:
      parsed = parsed.padded(pad_to)
    self.layout = parsed
    self.dynamics = dynamics
    self.horizon = self.max_episode_steps = horizon
    self.cook_time = cook_time
    if not isinstance(event_rewards, (list, tuple)) or len(event_rewards) != 2:
      raise ConfigError(f"overcooked: event_rewards must be a pair of strings (seat 0's, seat "
                        f"1's), got {event_rewards!r}")
    self.kitchen = dyn.Kitchen(parsed, dynamics, cook_time, horizon,
                               tuple(map(event_weights, event_rewards)))
    self.observation_shape = (self.kitchen.num_cells, len(dyn.FEATURES))

  def _init_from(self, chance) -> OvercookedState:
    del chance
    return OvercookedState(
        current_player=jnp.int32(-1),
        **self.kitchen.initial_fields(),
        **self.fresh_fields(),
    )

  def _step(self, state: OvercookedState, action, key) -> OvercookedState:
    del key
    return state.replace(**self.kitchen.step(state, action))

  def _legal_action_mask(self, state: OvercookedState):
    """bool[2, A]: every action, for both cooks (cleared at the horizon, as at any end)."""
    del state
    return jnp.ones((2, self.num_actions), bool)

  def _observe(self, state: OvercookedState):
    return self.kitchen.observe(state)

  def fixed_features(self) -> env_lib.FixedFeatures:
    """The features no state changes: the terrain, and the cells a feature cannot reach
    (`dynamics.Kitchen.fixed_features`); cramped_room: 336 of its 480."""
    return env_lib.FixedFeatures(*self.kitchen.fixed_features())

  def render(self, state: OvercookedState) -> np.ndarray:
    """uint8[H, W, 3]: the kitchen of one state (`render.rgb`)."""
    return drawing.rgb(self, state)

  # --- reading a state -------------------------------------------------------------------

  def counter_objects(self, state: OvercookedState):
    """int32[..., cells]: the object code on each cell (0 nothing, 1 onion, 2 dish, 3..5 soup
    of 1..3 onions), decoded from `state.counter_bits`."""
    return self.kitchen.counter_codes(state.counter_bits)

  def describe(self, state: OvercookedState) -> dict[str, Any]:
    """One (unbatched) state as plain Python, in overcooked-ai's terms (x = column, y = row),
    as tools/overcooked_reference writes its fixtures:

      positions [[x, y], [x, y]]; orientations [d0, d1] (0 north, 1 south, 2 east, 3 west);
      held [name or None] x 2 ("onion", "dish", "soup"); held_soup_onions [n or None] x 2;
      counters sorted [x, y, name] ([x, y, "soup", n] for a soup of n onions);
      pots sorted [x, y, onions, cooking_tick, is_cooking, is_ready], every pot (an empty one
      is [x, y, 0, -1, False, False]); sparse_reward: the step's delivery reward (the team's,
      counted once); shaped_rewards [r0, r1]; step: steps taken.

    Raises:
      ConfigError: `state` is a batch of states (or states stacked in time).
    """
    batch = np.shape(state.step_count)
    if batch:
      raise ConfigError(
          f"overcooked: describe takes one game's state, got a batch of shape {batch}; pick "
          "game i out of it first: jax.tree.map(lambda x: x[i], states)")
    s = {k: np.asarray(v) for k, v in vars(state).items() if v is not None}
    width = self.kitchen.width
    on_counters = dyn.decode_counter_bits(s["counter_bits"], self.kitchen.num_cells)

    def xy(cell):
      return [int(cell) % width, int(cell) // width]

    def soup_onions(code):
      return int(code) - dyn.SOUP_1 + 1 if code >= dyn.SOUP_1 else None

    counters = []
    for c in np.flatnonzero(on_counters):
      code = int(on_counters[c])
      counters.append(xy(c) + [OBJECT_NAMES[code]]
                      + ([soup_onions(code)] if code >= dyn.SOUP_1 else []))
    pots = []
    for k, c in enumerate(self.kitchen.pot_cells):
      onions, tick = int(s["pot_onions"][k]), int(s["pot_tick"][k])
      ready = tick >= self.cook_time
      pots.append(xy(c) + [onions, tick, bool(tick >= 0 and not ready), bool(ready)])
    return dict(
        positions=[xy(c) for c in s["cook_cell"]],
        orientations=[int(d) for d in s["cook_dir"]],
        held=[OBJECT_NAMES.get(int(h)) for h in s["held"]],
        held_soup_onions=[soup_onions(h) for h in s["held"]],
        counters=sorted(counters),
        pots=sorted(pots),
        sparse_reward=float(s["rewards"][0]),
        shaped_rewards=[float(r) for r in s["shaped_rewards"]],
        step=int(s["step_count"]),
    )

  def __repr__(self) -> str:
    return (f"Overcooked(layout={self.layout.name!r}, dynamics={self.dynamics!r}, "
            f"horizon={self.horizon}, grid={self.kitchen.height}x{self.kitchen.width})")


register("overcooked", Overcooked)
