"""Tic-tac-toe, exactly as OpenSpiel's `tic_tac_toe`.

Actions 0..8 are cells in row-major order. Player 0 plays x and moves first. Three in a row
wins (+1 / -1); a full board without a line is a draw (0 / 0). No chance.

Observation (perfect recall: OpenSpiel's information state is the move history), L = 9 cell
tokens of F = 2 small-integer features, from the observing player's point of view:
  owner: +1 the observer's mark, -1 the opponent's, 0 empty | move number 1..9 (0 if empty)
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from flax import struct

from jaxplay.core import env as env_lib
from jaxplay.core import openspiel as openspiel_lib
from jaxplay.core.registry import register

LINES = ((0, 1, 2), (3, 4, 5), (6, 7, 8), (0, 3, 6), (1, 4, 7), (2, 5, 8), (0, 4, 8), (2, 4, 6))
LINE_BITS = np.array([sum(1 << cell for cell in line) for line in LINES], np.int32)


# Both players' marks in one int32: x's cells in bits 0..8, o's in bits 16..24 (bit c = cell c).
O_SHIFT = 16


@struct.dataclass
class TicTacToeState(env_lib.State):
  """The moves made so far are `step_count` (equal for every live state: an illegal move, the
  only step that counts without a move, ends the game)."""

  move_number: jnp.ndarray  # int8[9] 0 for an empty cell, k when taken by the k-th move
  board: jnp.ndarray        # int32[] x's bitboard | o's bitboard << O_SHIFT


class TicTacToe(env_lib.Env):
  """OpenSpiel-exact tic-tac-toe; see the module docstring."""

  name = "tic_tac_toe"
  num_players = 2
  num_actions = 9
  observation_shape = (9, 2)
  chance_shape = (0,)
  evaluator = "minimax"
  headline_metrics = ("vs_perfect/seat0_loss", "vs_perfect/seat1_loss", "vs_random/seat0_win")
  max_episode_steps = 9

  def _init_from(self, chance) -> TicTacToeState:
    del chance
    return TicTacToeState(
        current_player=jnp.int32(0),
        move_number=jnp.zeros((9,), jnp.int8),
        board=jnp.int32(0),
        **self.fresh_fields(),
    )

  def _step(self, state: TicTacToeState, action, key) -> TicTacToeState:
    # Everything but the move numbers is scalar bit arithmetic on one int32 board. Both
    # bitboards in one int32 (not int32[2] selected by player) and the move count read from
    # `step_count` (not a field of its own) leave fewer arrays for `Env.step` and `AutoReset`
    # to select and copy (BUILD_NOTES.md, "Benchmarks").
    del key
    player = state.current_player
    num_moves = state.step_count + 1
    cell = env_lib.of_player(action, player)
    move_number = jnp.where(jnp.arange(9) == cell, num_moves.astype(jnp.int8), state.move_number)
    shift = O_SHIFT * player
    board = state.board | (1 << (cell + shift))
    mine = board >> shift
    # Broadcast against the 8 line masks and reduce: XLA keeps this as one reduction per game
    # (a stack of 8 tests it would unroll into every element that depends on `won`).
    won = ((mine & LINE_BITS) == LINE_BITS).any()
    terminated = won | (num_moves == 9)
    payoff = jnp.where(won, jnp.where(jnp.arange(2) == player, 1.0, -1.0), 0.0)
    return state.replace(
        **env_lib.turn_fields(1 - player, terminated, payoff),
        move_number=move_number,
        board=board,
    )

  def _legal_action_mask(self, state: TicTacToeState):
    """bool[2, 9]: the empty cells, in the mover's row (from the board's bits)."""
    empty = ((~(state.board | (state.board >> O_SHIFT))) >> jnp.arange(9)) & 1 == 1
    return env_lib.turn_mask(state.current_player, empty, 2)

  def _observe(self, state: TicTacToeState):
    """int8[2, 9, 2], broadcast over players (stacking along the player axis would cost a
    transpose under vmap) and features (one select on the feature index rather than a
    `stack`, which XLA:CPU ran 1.6x slower fused into a `max` over the batch's observations;
    BUILD_NOTES.md, "The observation, computed where read")."""
    number = state.move_number[None, :, None]                                 # [1, 9, 1]
    x_owned = 2 * (number & 1) - (number > 0).astype(env_lib.OBSERVATION_DTYPE)  # +1 x, -1 o
    view = jnp.array([1, -1], env_lib.OBSERVATION_DTYPE)[:, None, None]      # x's, o's view
    feature = jnp.arange(2)[None, None, :]
    return jnp.where(feature == 0, x_owned * view, number).astype(env_lib.OBSERVATION_DTYPE)

  # --- OpenSpiel ---------------------------------------------------------------------------

  def openspiel_game(self):
    return openspiel_lib.OpenSpielGame("tic_tac_toe")

  def from_openspiel_history(self, history):
    """No chance: the history is the moves."""
    ids = openspiel_lib.as_ids(self, history)
    return np.zeros((0,), np.int32), openspiel_lib.actions(self, ids, ids)


register("tic_tac_toe", TicTacToe)
