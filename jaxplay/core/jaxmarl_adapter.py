"""A JaxMARL-style view of any jaxplay game.

    env = JaxMARLView(jaxplay.make("kuhn_poker"))
    obs, state = env.reset(key)                       # obs: {"agent_0": int8[L, F], ...}
    obs, state, rewards, dones, infos = env.step(key, state, {"agent_0": a0, "agent_1": a1})

`step` resets finished games (as JaxMARL's does) but, unlike JaxMARL, keeps the observation
of the state the game ended in: `infos["final_observation"]` (a dict like `obs`). `dones`
has one entry per agent and `"__all__"`. `step_env` steps without resetting.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxplay.core import env as env_lib
from jaxplay.core import spaces
from jaxplay.core.wrappers import AutoReset, AutoResetState


class JaxMARLView:
  """Wraps a jaxplay env (not already auto-resetting) in JaxMARL's `MultiAgentEnv` interface."""

  def __init__(self, env):
    self.env = env
    self._auto = AutoReset(env)
    self.num_agents = env.num_players
    self.agents = [f"agent_{i}" for i in range(env.num_players)]

  def observation_space(self, agent: str) -> spaces.Box:
    info = jnp.iinfo(env_lib.OBSERVATION_DTYPE)
    return spaces.Box(int(info.min), int(info.max), tuple(self.env.observation_shape),
                      env_lib.OBSERVATION_DTYPE)

  def action_space(self, agent: str) -> spaces.Discrete:
    return spaces.Discrete(self.env.num_actions)

  def _per_agent(self, array) -> dict[str, jax.Array]:
    return {agent: array[i] for i, agent in enumerate(self.agents)}

  def _joint(self, actions: dict[str, jax.Array]) -> jax.Array:
    return jnp.stack([jnp.asarray(actions[a], jnp.int32) for a in self.agents])

  def reset(self, key: jax.Array):
    state = self._auto.init(key)
    return self._per_agent(state.observation), state

  def get_avail_actions(self, state) -> dict[str, jax.Array]:
    return self._per_agent(state.legal_action_mask)

  def _outputs(self, state):
    done = state.terminated | state.truncated
    dones = {agent: done for agent in self.agents} | {"__all__": done}
    infos = {"current_player": state.current_player, "truncated": state.truncated}
    return self._per_agent(state.rewards), dones, infos

  def step(self, key: jax.Array, state: AutoResetState, actions: dict[str, jax.Array]):
    """Steps, then starts a new game where one ended (its observations are returned)."""
    state = self._auto.step(state, self._joint(actions), key)
    rewards, dones, infos = self._outputs(state)
    infos["final_observation"] = self._per_agent(state.final_observation)
    return self._per_agent(state.observation), state, rewards, dones, infos

  def step_env(self, key: jax.Array, state: AutoResetState, actions: dict[str, jax.Array]):
    """Steps without resetting: a finished game stays finished."""
    inner = self.env.step(state.inner, self._joint(actions), key)
    state = self._auto.wrap_state(inner, inner)
    rewards, dones, infos = self._outputs(state)
    return self._per_agent(state.observation), state, rewards, dones, infos
