"""Kuhn poker for 2..10 players, exactly as OpenSpiel's `kuhn_poker`.

N players, a deck of N+1 cards (0 lowest), one card each, ante 1. Actions: 0 = pass (check or
fold), 1 = bet (bet or call), bet size 1. Player 0 acts first and play goes round once; after
the first bet every later player, wrapping round to the one before the bettor, calls or folds.
Showdown: with no bet the highest card wins; otherwise the highest card among those who bet.
The winner takes the pot; every other player loses what it put in (1, or 2 if it bet).

Chance: `cards` int32[N], the card dealt to each player (OpenSpiel deals player 0 first, by
card id), so any OpenSpiel history replays with `init_from(history[:N])`.

OpenSpiel: `kuhn_poker(players=N)`; information-state strings are the player's card, then the
actions so far as p (pass) / b (bet), e.g. "1pb".

Observation (perfect recall), L = 2N tokens of F = 2N + 3 features:
  token 0:        one-hot observing player (N) | one-hot own card (N+1) | 0 0
  token 1 + t:    zeros (2N+1)                 | one-hot t-th action (pass, bet); zeros if not yet
"""

from __future__ import annotations

import functools

import jax.numpy as jnp
import numpy as np
from flax import struct

from jaxplay.core import chance as chance_lib
from jaxplay.core import env as env_lib
from jaxplay.core import openspiel as openspiel_lib
from jaxplay.core.errors import check_int
from jaxplay.core.registry import register

PASS, BET = 0, 1


@struct.dataclass
class KuhnState(env_lib.State):
  cards: jnp.ndarray         # int32[N] card of each player
  history: jnp.ndarray       # int32[2N-1] actions so far, -1 where none yet
  num_moves: jnp.ndarray     # int32[] actions taken so far
  first_bettor: jnp.ndarray  # int32[] -1 until someone bets
  has_bet: jnp.ndarray       # bool[N] who put a second chip in


class KuhnPoker(env_lib.Env):
  """OpenSpiel-exact Kuhn poker; see the module docstring."""

  num_actions = 2
  evaluator = "exploitability"
  headline_metrics = ("exploitability",)

  def __init__(self, num_players: int = 2):
    n = check_int("kuhn_poker", "num_players", num_players, 2, 10)
    self.name = "kuhn_poker"
    self.num_players = n
    self.max_moves = self.max_episode_steps = 2 * n - 1
    self.observation_shape = (2 * n, 2 * n + 3)
    self.chance_shape = (n,)
    self._deals = chance_lib.ordered_deals(n + 1, n)

  def sample_chance(self, key):
    return chance_lib.draw_row(key, self._deals)

  def chance_outcomes(self):
    return chance_lib.uniform_outcomes(self._deals)

  def _init_from(self, cards) -> KuhnState:
    n = self.num_players
    return KuhnState(
        current_player=jnp.int32(0),
        cards=cards,
        history=jnp.full((self.max_moves,), -1, jnp.int32),
        num_moves=jnp.int32(0),
        first_bettor=jnp.int32(-1),
        has_bet=jnp.zeros((n,), bool),
        **self.fresh_fields(),
    )

  def _step(self, state: KuhnState, action, key) -> KuhnState:
    del key
    n = self.num_players
    player = state.current_player
    bet = env_lib.of_player(action, player) == BET
    is_player = jnp.arange(n) == player
    history = jnp.where(jnp.arange(self.max_moves) == state.num_moves, bet.astype(jnp.int32),
                        state.history)
    num_moves = state.num_moves + 1
    first_bettor = jnp.where((state.first_bettor < 0) & bet, player, state.first_bettor)
    has_bet = state.has_bet | (is_player & bet)
    no_bet = first_bettor < 0
    terminated = jnp.where(no_bet, num_moves == n, num_moves == n + first_bettor)

    # The winner holds the highest card among those in the showdown (everyone if no bet).
    score = jnp.where(no_bet | has_bet, state.cards, -1)
    best = functools.reduce(jnp.maximum, [score[p] for p in range(n)])
    is_winner = score == best
    put_in = 1.0 + has_bet
    pot = n + functools.reduce(jnp.add, [has_bet[p].astype(jnp.float32) for p in range(n)])
    payoff = jnp.where(is_winner, pot - put_in, -put_in)
    next_player = jnp.where(num_moves >= n, num_moves - n, num_moves)
    return state.replace(
        **env_lib.turn_fields(next_player, terminated, payoff),
        history=history,
        num_moves=num_moves,
        first_bettor=first_bettor,
        has_bet=has_bet,
    )

  def _legal_action_mask(self, state: KuhnState):
    """bool[N, 2]: pass and bet, for the mover."""
    return env_lib.turn_mask(state.current_player, jnp.ones(2, bool), self.num_players)

  def _observe(self, state: KuhnState):
    """int8[N, 2N, 2N+3], built from one-hot comparisons (no scatter)."""
    n = self.num_players
    players = jnp.arange(n)
    own = jnp.concatenate([
        players[:, None] == players[None, :],                   # [N, N] observing player
        state.cards[:, None] == jnp.arange(n + 1)[None, :],     # [N, N+1] own card
        jnp.zeros((n, 2), bool),
    ], axis=1)
    actions = jnp.concatenate([
        jnp.zeros((self.max_moves, 2 * n + 1), bool),
        state.history[:, None] == jnp.arange(2)[None, :],       # [2N-1, 2]
    ], axis=1)
    tokens = jnp.concatenate([
        own[:, None, :],
        jnp.broadcast_to(actions, (n,) + actions.shape),
    ], axis=1)
    return tokens.astype(env_lib.OBSERVATION_DTYPE)

  # --- OpenSpiel ---------------------------------------------------------------------------

  def openspiel_game(self):
    return openspiel_lib.OpenSpielGame("kuhn_poker", {"players": self.num_players},
                                       {"players": 2})

  def information_state_string(self, state: KuhnState, player: int) -> str:
    """The player's card, then p (pass) / b (bet) per action so far: "1pb"."""
    moves = "".join("pb"[a] for a in np.asarray(state.history).tolist() if a >= 0)
    return f"{int(state.cards[player])}{moves}"

  def from_openspiel_history(self, history):
    """The first N outcomes are the cards of players 0..N-1; the rest are actions."""
    ids = openspiel_lib.as_ids(self, history)
    n = self.num_players
    dealt = openspiel_lib.first(self, ids, n, "a card for each player")
    return (openspiel_lib.cards(self, ids, dealt, n + 1),
            openspiel_lib.actions(self, ids, ids[n:]))


register("kuhn_poker", KuhnPoker)
