"""Replays OpenSpiel histories in a jaxplay env (no OpenSpiel needed).

A history is OpenSpiel's `state.history()`: chance outcomes and player actions interleaved
as OpenSpiel applies them. The game splits it (`Env.from_openspiel_history`) into its chance
vector and the players' actions, which are then played in one jitted `lax.scan` (vmapped
over histories for many):

    states = replay(jaxplay.make("kuhn_poker"), [0, 2, 1, 1])  # cards 0 and 2; bet, call
    states.rewards[-1]                                         # [-2., 2.]
"""

from __future__ import annotations

import functools
from typing import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from jaxplay.core import env as env_lib
from jaxplay.core.openspiel import History, OpenSpielError


def replay(env: env_lib.Env, history: History) -> env_lib.State:
  """The states of one history stacked along time [T+1]: the initial state, then the state
  after each of its T player actions.

  Raises:
    OpenSpielError: the history is not one of the env's OpenSpiel game, or plays an action
      that is not legal where it is played.
  """
  states, _ = replay_batch(env, [history])
  return jax.tree.map(lambda x: x[0], states)


def replay_batch(env: env_lib.Env, histories: Sequence[History]
                 ) -> tuple[env_lib.State, np.ndarray]:
  """The states of B histories of different lengths [B, T+1] (T: the most player actions of
  any), as `replay` gives them, in one jitted program; past its end a history's states
  repeat its last one. Also returns int[B], each history's number of player actions.

  Raises:
    OpenSpielError: as `replay`, naming the history.
  """
  if not len(histories):
    raise OpenSpielError(f"{env.name}: replay_batch needs at least one history")
  splits = [env.from_openspiel_history(history) for history in histories]
  lengths = np.array([len(actions) for _, actions in splits], np.int32)
  horizon = int(lengths.max())
  # Padded to a power of two, so that histories of similar lengths share one compilation.
  actions = np.zeros((len(splits), 1 << max(horizon - 1, 0).bit_length()), np.int32)
  for b, (_, played) in enumerate(splits):
    actions[b, :len(played)] = played
  chance = np.stack([np.asarray(c, np.int32).reshape(env.chance_shape) for c, _ in splits])
  states = _play(env, jnp.asarray(chance), jnp.asarray(actions), jnp.asarray(lengths))
  states = jax.tree.map(lambda x: x[:, :horizon + 1], states)
  _check_legal(env, histories, states, actions[:, :horizon], lengths)
  return states, lengths


@functools.partial(jax.jit, static_argnums=0)
def _play(env, chance, actions, lengths):
  """States [B, T+1] of the games dealt `chance` [B, ...] playing `actions` [B, T] up to
  `lengths` [B]."""

  def one_game(chance, actions, length):
    first = env.init_from(chance)

    def body(state, step):
      t, action = step
      moved = env.step(state, jnp.full((env.num_players,), action, jnp.int32))
      state = env_lib.tree_select(t < length, moved, state)
      return state, state

    _, later = jax.lax.scan(body, first, (jnp.arange(actions.shape[0]), actions))
    return jax.tree.map(lambda a, b: jnp.concatenate([a[None], b]), first, later)

  return jax.vmap(one_game)(chance, actions, lengths)


def _check_legal(env, histories, states, actions, lengths) -> None:
  """Raises for the first history whose action t was not legal in its state t (or came
  after the game ended)."""
  horizon = actions.shape[1]
  mover = np.asarray(states.current_player)[:, :horizon]
  mask = np.asarray(states.legal_action_mask)[:, :horizon]
  mover_mask = np.take_along_axis(mask, np.maximum(mover, 0)[:, :, None, None], 2)[:, :, 0]
  legal = np.take_along_axis(mover_mask, actions[:, :, None], 2)[..., 0] & (mover >= 0)
  bad = ~legal & (np.arange(horizon) < lengths[:, None])
  if bad.any():
    b, t = np.argwhere(bad)[0]
    raise OpenSpielError(
        f"{env.name}: history {b} ({list(histories[b])}) plays action {actions[b, t]} as its "
        f"player action {t}, which is not legal there (or the game was over)")
