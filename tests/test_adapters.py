"""The Pgx- and JaxMARL-style views: code written for those libraries runs on our games."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from pgx._src import api_test as pgx_api_test
from pgx.experimental import act_randomly, auto_reset

import jaxplay
from jaxplay.core.pgx_adapter import PgxState

TURN_BASED = [name for name in jaxplay.registered_games() if not jaxplay.make(name).simultaneous]


@pytest.mark.parametrize("name", TURN_BASED)
def test_pgx_view_passes_pgx_api_test(name, monkeypatch):
  env = jaxplay.PgxView(jaxplay.make(name))
  # The two checks that need one of Pgx's own env ids: the id list, and the SVG renderer
  # (Pgx draws only its own games). Everything else in api_test runs as Pgx wrote it.
  monkeypatch.setattr(pgx_api_test, "get_args", lambda _: (env.id,))
  monkeypatch.setattr(PgxState, "save_svg", lambda self, filename: None, raising=False)
  # Pgx 2.6's api_test_single samples with axis=1 from a 1-D mask, which fails on Pgx's own
  # games under this JAX too: sample from the mask as a batch of one instead.
  def act_on_one_or_many(key, mask):
    return act_randomly(key, mask) if mask.ndim == 2 else act_randomly(key, mask[None])[0]

  monkeypatch.setattr(pgx_api_test, "act_randomly", jax.jit(act_on_one_or_many))
  pgx_api_test.api_test(env, num=5, use_key=True)
  pgx_api_test.api_test(env, num=2, use_key=False)


@pytest.mark.parametrize("name", TURN_BASED)
def test_pgx_helpers_run_unchanged(name):
  env = jaxplay.PgxView(jaxplay.make(name))
  assert env.observation_shape == jax.eval_shape(env.init, jax.random.key(0)).observation.shape
  step = jax.jit(jax.vmap(auto_reset(env.step, env.init)))
  state = jax.jit(jax.vmap(env.init))(jax.random.split(jax.random.key(0), 16))
  act = jax.jit(act_randomly)
  key, ended = jax.random.key(1), 0
  for _ in range(12):
    key, act_key, step_key = jax.random.split(key, 3)
    action = act(act_key, state.legal_action_mask)
    state = step(state, action, jax.random.split(step_key, 16))
    ended += int(state.terminated.sum())
    # The view shows the current player's row of the jaxplay state.
    inner = jax.tree.map(np.asarray, state._inner)
    rows = np.take_along_axis(inner.observation, inner.current_player[:, None, None, None], 1)
    np.testing.assert_array_equal(state.observation, rows[:, 0])
  assert ended > 0


def test_pgx_view_refuses_simultaneous_games():
  class Simultaneous:
    simultaneous, name = True, "overcooked"

  with pytest.raises(jaxplay.ConfigError, match="turn-based"):
    jaxplay.PgxView(Simultaneous())


@pytest.mark.parametrize("name", jaxplay.registered_games())
def test_jaxmarl_view(name):
  options = {"horizon": 12} if name == "overcooked" else {}  # it ends only by its time limit
  env = jaxplay.JaxMARLView(jaxplay.make(name, **options))
  reset, step = jax.jit(env.reset), jax.jit(env.step)
  obs, state = reset(jax.random.key(0))
  assert list(obs) == env.agents
  for agent in env.agents:  # the declared spaces are the shapes returned
    space = env.observation_space(agent)
    assert obs[agent].shape == space.shape and obs[agent].dtype == space.dtype
    assert bool(space.contains(obs[agent]))
    assert env.action_space(agent).n == env.env.num_actions

  @jax.jit
  def random_actions(key, state):
    """A random legal joint action (and the dict JaxMARL's step takes), as a JaxMARL user
    draws them: from the view's available actions."""
    avail = env.get_avail_actions(state)
    joint = jaxplay.random_legal_actions(key, jnp.stack([avail[a] for a in env.agents]))
    return joint, {agent: joint[i] for i, agent in enumerate(env.agents)}

  plain_step = jax.jit(env.env.step)
  key, finished = jax.random.key(1), 0
  for _ in range(30):
    key, act_key, step_key = jax.random.split(key, 3)
    joint, actions = random_actions(act_key, state)
    before = state
    obs, state, rewards, dones, infos = step(step_key, state, actions)
    assert set(dones) == set(env.agents) | {"__all__"}
    assert set(rewards) == set(env.agents)
    plain = plain_step(before.inner, joint, step_key)
    for i, agent in enumerate(env.agents):  # the terminal observation is kept
      np.testing.assert_array_equal(infos["final_observation"][agent], plain.observation[i])
      np.testing.assert_allclose(rewards[agent], plain.rewards[i])
    finished += int(dones["__all__"])
    if dones["__all__"]:  # a new game has started
      assert state.inner.step_count == 0
  assert finished > 0
