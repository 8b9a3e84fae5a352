"""Classic-dynamics Overcooked against JaxMARL's `overcooked` (v1), on JaxMARL's own layouts
with its start positions and its (random) start orientations: the same random joint actions
(interact-heavy, so that pots fill; long enough on cramped_room for soups to cook, be picked
up and delivered) in both, compared at every step."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

jaxmarl = pytest.importorskip("jaxmarl")
from jaxmarl.environments.overcooked import overcooked_layouts  # noqa: E402

import jaxplay  # noqa: E402

NUM_STEPS = {"cramped_room": 3000}  # random play needs this long to cook and deliver there
DEFAULT_STEPS = 500
ACTION_PROBS = [0.15, 0.15, 0.15, 0.15, 0.0, 0.4]  # up down right left stay interact
HORIZON = 10_000  # no time limit inside the comparison (JaxMARL would reset at random)
# JaxMARL's object indices (jaxmarl.environments.overcooked.common.OBJECT_TO_INDEX).
EMPTY, ONION, PLATE, DISH = 1, 3, 5, 9      # DISH is a plate holding a soup
POT_EMPTY, POT_FULL = 23, 20                # pot status: 23 - onions, then 20..0 cooking


def grid_of(layout) -> list[str]:
  """JaxMARL's layout dict as our ASCII grid (1 and 2 where its agents 0 and 1 start)."""
  height, width = int(layout["height"]), int(layout["width"])
  cells = [" "] * (height * width)
  for key, char in [("wall_idx", "X"), ("goal_idx", "S"), ("plate_pile_idx", "D"),
                    ("onion_pile_idx", "O"), ("pot_idx", "P")]:
    for i in np.asarray(layout[key]).tolist():
      cells[i] = char
  for agent, i in enumerate(np.asarray(layout["agent_idx"]).tolist()):
    cells[i] = str(agent + 1)
  return ["".join(cells[r * width:(r + 1) * width]) for r in range(height)]


def describe_jaxmarl(env, state, layout) -> dict:
  """JaxMARL's state in the terms of our `describe` (x = column, y = row)."""
  maze = np.asarray(state.maze_map)
  pad = (maze.shape[0] - int(layout["height"])) // 2
  width = int(layout["width"])
  names = {EMPTY: None, ONION: "onion", PLATE: "dish", DISH: "soup"}
  pots = []
  for i in np.asarray(layout["pot_idx"]).tolist():
    x, y = i % width, i // width
    status = int(maze[pad + y, pad + x, 2])
    cooking = status <= POT_FULL
    pots.append([x, y, 3 if cooking else POT_EMPTY - status,
                 POT_FULL - status if cooking else -1, cooking and status > 0, status == 0])
  fixed = {int(i) for key in ("goal_idx", "plate_pile_idx", "onion_pile_idx", "pot_idx")
           for i in np.asarray(layout[key]).tolist()}
  counters = []
  for i in np.asarray(layout["wall_idx"]).tolist():
    x, y = i % width, i // width
    obj = int(maze[pad + y, pad + x, 0])
    if i not in fixed and obj in (ONION, PLATE, DISH):
      counters.append([x, y, names[obj]] + ([3] if obj == DISH else []))
  return dict(positions=np.asarray(state.agent_pos).astype(int).tolist(),
              orientations=np.asarray(state.agent_dir_idx).astype(int).tolist(),
              held=[names[int(v)] for v in np.asarray(state.agent_inv)],
              pots=sorted(pots), counters=sorted(counters))


@functools.lru_cache(maxsize=None)
def pair(layout_name: str):
  layout = overcooked_layouts[layout_name]
  theirs = jaxmarl.make("overcooked", layout=layout, max_steps=HORIZON)
  ours = jaxplay.make("overcooked", layout=grid_of(layout), dynamics="classic", horizon=HORIZON)
  # Everything jitted: op by op, the resets compiled some 200 one-operation programs.
  return (layout, theirs, ours, jax.jit(theirs.reset), jax.jit(ours.init), jax.jit(theirs.step),
          jax.jit(ours.step))


@pytest.mark.parametrize("layout_name", sorted(overcooked_layouts))
def test_classic_dynamics_match_jaxmarl(layout_name):
  layout, theirs, ours, their_reset, our_init, their_step, our_step = pair(layout_name)
  obs, their_state = their_reset(jax.random.key(0))
  state = our_init(jax.random.key(0))
  state = state.replace(cook_dir=jnp.asarray(their_state.agent_dir_idx, state.cook_dir.dtype))
  rng = np.random.default_rng(0)
  seen = {"cooking": 0, "soup": 0, "delivery": 0}
  for t in range(NUM_STEPS.get(layout_name, DEFAULT_STEPS)):
    joint = rng.choice(6, size=2, p=ACTION_PROBS)
    obs, their_state, reward, _, info = their_step(
        jax.random.key(t), their_state, {"agent_0": joint[0], "agent_1": joint[1]})
    state = our_step(state, jnp.asarray(joint, jnp.int32))
    mine, expected = ours.describe(state), describe_jaxmarl(theirs, their_state, layout)
    where = f"{layout_name}, step {t + 1}, joint action {joint.tolist()}"
    for field in ("positions", "orientations", "held", "pots", "counters"):
      assert mine[field] == expected[field], f"{field} differ at {where}: {mine[field]} vs " \
                                             f"{expected[field]}"
    assert mine["sparse_reward"] == float(reward["agent_0"]), f"sparse reward at {where}"
    their_shaped = [float(info["shaped_reward"][a]) for a in ("agent_0", "agent_1")]
    assert mine["shaped_rewards"] == their_shaped, f"shaped rewards at {where}"
    seen["cooking"] += any(pot[4] for pot in mine["pots"])
    seen["soup"] += "soup" in mine["held"]
    seen["delivery"] += mine["sparse_reward"] > 0
  if layout_name == "cramped_room":  # the comparison covered the whole soup cycle
    assert all(seen.values()), seen
