"""Wrappers: time limit, auto-reset (keeping the terminal observation), episode statistics,
and a checked mode that raises on illegal actions.

Compose them innermost first, or let `wrap` do it:

    env = wrap(jaxplay.make("tic_tac_toe"), time_limit=50, auto_reset=True, episode_stats=True)
    # == EpisodeStats(AutoReset(TimeLimit(env, 50)))

A wrapper state keeps the wrapped state in `.inner` and shows the contract's fields
(`observation`, `legal_action_mask`, `rewards`, ...) itself, so code written against the
contract reads any wrapped state unchanged.
"""

from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct
from jax.experimental import checkify

from jaxplay.core import env as env_lib
from jaxplay.core.errors import ConfigError, IllegalActionError

class WrappedState:
  """Mixin of wrapper states: what the wrapper does not hold itself is read from `inner`."""

  def __getattr__(self, name: str) -> Any:
    if name.startswith("__") or name == "inner":  # dataclass/pickle internals; not yet set
      raise AttributeError(name)
    return getattr(self.inner, name)


class Wrapper:
  """Base of all wrappers: delegates everything it does not override to the wrapped env."""

  def __init__(self, env):
    self.env = env

  def __getattr__(self, name: str) -> Any:
    if name == "env":  # not yet set (e.g. during unpickling)
      raise AttributeError(name)
    return getattr(self.env, name)

  @property
  def unwrapped(self) -> env_lib.Env:
    return getattr(self.env, "unwrapped", self.env)

  def __repr__(self) -> str:
    return f"{type(self).__name__}({self.env!r})"


# --- time limit ---------------------------------------------------------------------------


class TimeLimit(Wrapper):
  """Truncates a game after `max_steps` steps (`truncated=True`, rewards as the step gave).

  Goes directly around a game (or `Checked`): it sets the game state's own `truncated`, so a
  later `step` is a no-op and `AutoReset` outside it starts a new game.
  """

  def __init__(self, env, max_steps: int):
    if not isinstance(max_steps, int) or max_steps < 1:
      raise ConfigError(f"TimeLimit: max_steps must be a positive int, got {max_steps!r}")
    if isinstance(env, (AutoReset, EpisodeStats)):
      raise ConfigError("TimeLimit goes inside AutoReset and EpisodeStats: "
                        "wrap(env, time_limit=..., auto_reset=..., episode_stats=...) orders them")
    super().__init__(env)
    self.max_steps = max_steps

  def init(self, key):
    return self.env.init(key)

  def init_from(self, chance):
    return self.env.init_from(chance)

  def step(self, state, action, key=None):
    state = self.env.step(state, action, key)
    cut = ~state.terminated & (state.step_count >= self.max_steps)
    return state.replace(truncated=state.truncated | cut)


# --- auto-reset ---------------------------------------------------------------------------


@struct.dataclass
class AutoResetState(WrappedState):
  """State of `AutoReset`.

  Attributes:
    inner: the live game: a fresh one right after a game ended.
    final: the game state the last transition reached, before any reset (its observation
      is not stored: `final_observation` computes it when read).
    rewards, terminated, truncated: of the last transition (the game that just ended, if any).
    final_observation: int8[..., P, L, F] observation of `final`: bootstrap from it when
      `truncated`. Computed on demand, so a program that never reads it never pays for it.
  """

  inner: Any
  final: Any
  observe: Callable = struct.field(pytree_node=False)

  @property
  def rewards(self) -> jax.Array:
    return self.final.rewards

  @property
  def terminated(self) -> jax.Array:
    return self.final.terminated

  @property
  def truncated(self) -> jax.Array:
    return self.final.truncated

  @property
  def final_observation(self) -> jax.Array:
    observe = self.observe
    for _ in range(self.final.current_player.ndim):  # one vmap per batch dimension
      observe = jax.vmap(observe)
    return observe(self.final)


class AutoReset(Wrapper):
  """Starts a new game as soon as one ends; the ending transition's rewards, flags and
  observation stay readable on the returned state."""

  auto_resets = True

  def wrap_state(self, inner, final) -> AutoResetState:
    """The wrapper state for live game `inner` after a transition that reached `final`."""
    return AutoResetState(inner=inner, final=final.replace(observation=None),
                          observe=self.unwrapped._observe)

  def init(self, key):
    state = self.env.init(key)
    return self.wrap_state(state, state)

  def init_from(self, chance):
    state = self.env.init_from(chance)
    return self.wrap_state(state, state)

  def step(self, state: AutoResetState, action, key=None) -> AutoResetState:
    if key is None:
      raise ValueError("AutoReset.step needs a key: the next game's chance outcomes come from it")
    if self.env.stochastic_step:
      step_key, init_key = jax.random.split(key)
    else:  # the step draws nothing, so the whole key can go to the next deal.
      step_key, init_key = None, key
    after = self.env.step(state.inner, action, step_key)
    done = after.terminated | after.truncated
    return self.wrap_state(env_lib.tree_select(done, self.env.init(init_key), after), after)


# --- episode statistics -------------------------------------------------------------------


@struct.dataclass
class EpisodeStatsState(WrappedState):
  """State of `EpisodeStats`.

  Attributes:
    inner: the wrapped state.
    episode_return: float32[P] sum of rewards of the running episode.
    episode_length: int32[] steps of the running episode.
    returned_episode_return: float32[P] return of the last finished episode (0 before any).
    returned_episode_length: int32[] length of the last finished episode (0 before any).
    num_episodes: int32[] finished episodes so far.
  """

  inner: Any
  episode_return: jax.Array
  episode_length: jax.Array
  returned_episode_return: jax.Array
  returned_episode_length: jax.Array
  num_episodes: jax.Array


class EpisodeStats(Wrapper):
  """Keeps the return (per player) and length of the running and the last finished episode."""

  def _wrap(self, inner) -> EpisodeStatsState:
    zeros = jnp.zeros((self.num_players,), jnp.float32)
    return EpisodeStatsState(inner=inner, episode_return=zeros, episode_length=jnp.int32(0),
                             returned_episode_return=zeros,
                             returned_episode_length=jnp.int32(0), num_episodes=jnp.int32(0))

  def init(self, key):
    return self._wrap(self.env.init(key))

  def init_from(self, chance):
    return self._wrap(self.env.init_from(chance))

  def step(self, state: EpisodeStatsState, action, key=None) -> EpisodeStatsState:
    inner = self.env.step(state.inner, action, key)
    # Without auto-reset a finished game stays finished: its no-op steps are not counted.
    live = jnp.bool_(True) if self.env.auto_resets else ~(state.terminated | state.truncated)
    ended = live & (inner.terminated | inner.truncated)
    ret = state.episode_return + jnp.where(live, inner.rewards, 0.0)
    length = state.episode_length + live.astype(jnp.int32)
    return EpisodeStatsState(
        inner=inner,
        episode_return=jnp.where(ended, 0.0, ret),
        episode_length=jnp.where(ended, 0, length),
        returned_episode_return=jnp.where(ended, ret, state.returned_episode_return),
        returned_episode_length=jnp.where(ended, length, state.returned_episode_length),
        num_episodes=state.num_episodes + ended.astype(jnp.int32),
    )


def wrap(env, *, time_limit: int | None = None, auto_reset: bool = False,
         episode_stats: bool = False):
  """Applies the wrappers asked for, in the only order that is correct."""
  if time_limit is not None:
    env = TimeLimit(env, time_limit)
  if auto_reset:
    env = AutoReset(env)
  if episode_stats:
    env = EpisodeStats(env)
  return env


# --- checked mode -------------------------------------------------------------------------


class Checked(Wrapper):
  """Raises instead of applying an illegal action.

  Called eagerly (outside jit) it raises `IllegalActionError` naming the player, the action
  and the legal actions. Inside jit or vmap it emits a `checkify` check: run it as
  `checkify.checkify(jax.jit(env.step))(state, action, key)` and `err.throw()`.
  """

  def init(self, key):
    return self.env.init(key)

  def init_from(self, chance):
    return self.env.init_from(chance)

  def step(self, state, action, key=None):
    action = jnp.asarray(action, jnp.int32)
    done = state.terminated | state.truncated
    offenders = env_lib.illegal_players(state.legal_action_mask, action) & ~done[..., None]
    if any(isinstance(x, jax.core.Tracer) for x in (offenders, state.legal_action_mask)):
      player = jnp.argmax(offenders, axis=-1)
      checkify.check(
          ~offenders.any(),
          f"illegal action in {self.name}: player {{player}} chose action {{action}}; "
          "legal actions of that player (mask): {legal}",
          player=player, action=action[..., player],
          legal=state.legal_action_mask[..., player, :])
    else:
      _raise_if_illegal(self.name, np.asarray(offenders), np.asarray(action),
                        np.asarray(state.legal_action_mask))
    return self.env.step(state, action, key)


def _raise_if_illegal(name: str, offenders: np.ndarray, action: np.ndarray,
                      legal_action_mask: np.ndarray) -> None:
  hits = np.argwhere(offenders)
  if len(hits) == 0:
    return
  *game, player = hits[0]
  where = f" (game {tuple(int(i) for i in game)} of the batch)" if game else ""
  legal = np.flatnonzero(legal_action_mask[tuple(game)][player]).tolist()
  raise IllegalActionError(
      f"illegal action in {name}{where}: player {player} chose action "
      f"{int(action[tuple(game)][player])}; legal actions of player {player}: {legal}")
