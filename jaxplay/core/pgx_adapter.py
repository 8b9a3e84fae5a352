"""A Pgx-style view of a turn-based jaxplay game.

Code written for Pgx runs on it unchanged: `state.observation` and `state.legal_action_mask`
are the current player's, `env.step(state, action, key)` takes a scalar action, the mask is
all True at terminal states (Pgx's convention), and `_step_count` counts steps. Pgx's helpers
(`pgx.experimental.act_randomly`, `pgx.experimental.auto_reset`) work on it.

    env = PgxView(jaxplay.make("tic_tac_toe"))
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import struct

from jaxplay.core.errors import ConfigError


@struct.dataclass
class PgxState:
  """Pgx's public fields plus the jaxplay state underneath (`_inner`)."""

  current_player: jax.Array     # int32[]
  observation: jax.Array        # int8[L, F] of the current player
  rewards: jax.Array            # float32[P]
  terminated: jax.Array         # bool[]
  truncated: jax.Array          # bool[]
  legal_action_mask: jax.Array  # bool[A] of the current player; all True when terminated
  _step_count: jax.Array        # int32[]
  _inner: Any
  _env_id: str = struct.field(pytree_node=False, default="")

  @property
  def env_id(self) -> str:
    return self._env_id


class PgxView:
  """Wraps a jaxplay env (turn-based, not auto-resetting) in Pgx's `Env` interface."""

  version = "v1"

  def __init__(self, env):
    if env.simultaneous:
      raise ConfigError(f"PgxView needs a turn-based game; {env.name} has simultaneous moves "
                        "(use JaxMARLView)")
    self.env = env

  @property
  def id(self) -> str:
    return f"jaxplay/{self.env.name}"

  @property
  def num_players(self) -> int:
    return self.env.num_players

  @property
  def num_actions(self) -> int:
    return self.env.num_actions

  @property
  def observation_shape(self) -> tuple[int, ...]:
    return tuple(self.env.observation_shape)

  def _view(self, inner) -> PgxState:
    player = inner.current_player
    return PgxState(
        current_player=player,
        observation=inner.observation[player],
        rewards=inner.rewards,
        terminated=inner.terminated,
        truncated=inner.truncated,
        legal_action_mask=inner.legal_action_mask[player] | inner.terminated,
        _step_count=inner.step_count,
        _inner=inner,
        _env_id=self.id,
    )

  def init(self, key: jax.Array) -> PgxState:
    return self._view(self.env.init(key))

  def step(self, state: PgxState, action: jax.Array, key: jax.Array | None = None) -> PgxState:
    """Steps the game underneath (Pgx's `auto_reset` may have cleared the view's flags)."""
    joint = jnp.full((self.num_players,), action, jnp.int32)
    return self._view(self.env.step(state._inner, joint, key))

  def observe(self, state: PgxState, player_id: jax.Array | None = None) -> jax.Array:
    player = state.current_player if player_id is None else player_id
    return state._inner.observation[player]
