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

import functools
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from jaxplay.core import env as env_lib
from jaxplay.core.errors import ConfigError, IllegalActionError, IllegalChanceError

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
    final: the game state the last transition reached, before any reset.
    rewards, shaped_rewards, terminated, truncated: of the last transition (the game that just
      ended, if any).
    final_observation: int8[..., P, L, F] observation of `final`: bootstrap from it when
      `truncated`. Computed when read (as every observation is), so a program that never
      reads it never pays for it.
  """

  inner: Any
  final: Any

  @property
  def rewards(self) -> jax.Array:
    return self.final.rewards

  @property
  def shaped_rewards(self) -> jax.Array:
    return self.final.shaped_rewards

  @property
  def terminated(self) -> jax.Array:
    return self.final.terminated

  @property
  def truncated(self) -> jax.Array:
    return self.final.truncated

  @property
  def final_observation(self) -> jax.Array:
    return self.final.observation


class AutoReset(Wrapper):
  """Starts a new game as soon as one ends; the ending transition's rewards, flags and
  observation stay readable on the returned state."""

  auto_resets = True

  def wrap_state(self, inner, final) -> AutoResetState:
    """The wrapper state for live game `inner` after a transition that reached `final`."""
    return AutoResetState(inner=inner, final=final)

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
    fresh = self.env.init(init_key)
    if not self.env.has_shaped_rewards:  # zeros in every state: kept as they are (`Env.step`)
      fresh = fresh.replace(shaped_rewards=after.shaped_rewards)
    return self.wrap_state(env_lib.tree_select(done, fresh, after), after)


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
  """Raises instead of applying an illegal action or playing an impossible chance outcome.

  `step`: an action outside a player's legal set raises `IllegalActionError` naming the player,
  the action, the legal actions and, in a batch, the game. `init_from` (and `init`): a chance
  vector that is not a row of `env.chance_outcomes()[0]` raises `IllegalChanceError`.

  Eager calls raise these errors themselves. Traced calls (`jax.jit`, `vmap`, `lax.scan`,
  `checkify.checkify`) check on the host through `jax.debug.callback` (one call per traced
  step, however large the batch) and run legal moves as usual. On an illegal move the check
  fails while the compiled program runs, and XLA cannot raise a Python exception type out of
  it: the call raises `jax.errors.JaxRuntimeError` whose message contains the
  `IllegalActionError` (or `IllegalChanceError`) message.
  """

  def init(self, key):
    return self.init_from(self.env.sample_chance(key))

  def init_from(self, chance):
    state = self.env.init_from(chance)  # refuses a chance vector of the wrong shape
    host_check(functools.partial(_raise_if_impossible, self.name, self._chance_table),
               jnp.asarray(chance, jnp.int32))
    return state

  def step(self, state, action, key=None):
    action = jnp.asarray(action, jnp.int32)
    done = state.terminated | state.truncated
    offenders = env_lib.illegal_players(state.legal_action_mask, action) & ~done[..., None]
    host_check(functools.partial(_raise_if_illegal, self.name), offenders, action,
               state.legal_action_mask)
    return self.env.step(state, action, key)

  @functools.cached_property
  def _chance_table(self) -> _ChanceTable:
    return _ChanceTable.of(self.env.chance_outcomes()[0])


def host_check(callback: Callable[..., None], *args: jax.Array) -> None:
  """Runs `callback(*args)` on the host, on numpy arrays, where it may raise.

  Concrete args: at once. Under a trace (jit, scan, vmap): as a `jax.debug.callback` when the
  program runs. Under vmap the callback gets the whole batch (leading axes, broadcast where an
  arg is not batched) in one call, not one unrolled call per element (what `jax.debug.callback`
  alone does, compiling in time linear in the batch size).
  """
  if not any(isinstance(x, jax.core.Tracer) for x in args):
    callback(*map(np.asarray, args))
    return

  @jax.custom_batching.custom_vmap
  def check(*args):
    jax.debug.callback(lambda *xs: callback(*map(np.asarray, xs)), *args)
    return jnp.zeros((), bool)  # custom_vmap needs an output

  @check.def_vmap
  def check_batch(axis_size, in_batched, *args):
    args = [x if batched else jnp.broadcast_to(x, (axis_size,) + x.shape)
            for x, batched in zip(args, in_batched)]
    return check(*args), False

  check(*args)


def _where(game: tuple[int, ...]) -> str:
  """' (game (i, ...) of the batch)', or '' for an unbatched call."""
  return f" (game {tuple(int(i) for i in game)} of the batch)" if game else ""


def _raise_if_illegal(name: str, offenders: np.ndarray, action: np.ndarray,
                      legal_action_mask: np.ndarray) -> None:
  """IllegalActionError for the first offender of bool[..., P] `offenders`, if any."""
  hits = np.argwhere(offenders)
  if len(hits) == 0:
    return
  *game, player = hits[0]
  legal = np.flatnonzero(legal_action_mask[tuple(game)][player]).tolist()
  raise IllegalActionError(
      f"illegal action in {name}{_where(game)}: player {player} chose action "
      f"{int(action[tuple(game)][player])}; legal actions of player {player}: {legal}")


class _ChanceTable(NamedTuple):
  """A game's chance outcomes as a set, for membership tests on the host.

  Attributes:
    ndim: dimensions of one chance vector (`len(chance_shape)`).
    rows: the bytes of every outcome (int32, C order).
    allowed: what a valid chance vector is, in words (count, value range, an example).
  """

  ndim: int
  rows: frozenset[bytes]
  allowed: str

  @classmethod
  def of(cls, outcomes: np.ndarray) -> "_ChanceTable":
    """From int32[C, *chance_shape], `Env.chance_outcomes()[0]`."""
    outcomes = np.ascontiguousarray(outcomes, np.int32)
    flat = outcomes.reshape(len(outcomes), -1)
    distinct = flat.shape[1] > 1 and all(len(set(row)) == len(row) for row in flat.tolist())
    entries = (f"{'distinct ' if distinct else ''}entries in {flat.min()}..{flat.max()}, "
               if flat.size else "")
    allowed = (f"the {len(outcomes)} rows of env.chance_outcomes()[0] ({entries}"
               f"e.g. {outcomes[0].tolist()})")
    return cls(outcomes.ndim - 1, frozenset(row.tobytes() for row in outcomes), allowed)


def _raise_if_impossible(name: str, table: _ChanceTable, chance: np.ndarray) -> None:
  """IllegalChanceError for the first chance vector of int32[..., *chance_shape] that is not
  one of `table`'s outcomes."""
  batch = chance.shape[:chance.ndim - table.ndim]
  for game in np.ndindex(*batch):
    vector = np.ascontiguousarray(chance[game], np.int32)
    if vector.tobytes() not in table.rows:
      raise IllegalChanceError(
          f"impossible chance outcome in {name}{_where(game)}: {vector.tolist()}; "
          f"valid chance vectors are {table.allowed}")
