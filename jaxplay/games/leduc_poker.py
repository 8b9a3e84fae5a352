"""Leduc poker for 2 players, exactly as OpenSpiel's `leduc_poker` (default parameters).

A deck of 6 cards, ids 0..5 with rank id // 2 (J J Q Q K K). Each player antes 1 and gets one
private card. Actions: 0 = fold, 1 = call (or check), 2 = raise. Fold is legal only when facing
a bet (the stakes exceed the player's contribution); raise while fewer than 2 raises were made in
the round. A raise first calls, then adds 2 in round 1 and 4 in round 2. Player 0 acts first in
both rounds and players alternate. A round ends on a call other than the opening check (two
checks, or a call of a raise); after round 1 the public card is dealt and round 2 starts; the
game ends on a fold or at the end of round 2. Showdown: a player whose card pairs the public
card wins; otherwise the higher rank wins, and equal ranks split the pot. Returns are the
change in money: the winner gains the loser's contribution (a split gives 0 / 0).

Chance: `cards` int32[3] = [card of player 0, card of player 1, public card], three distinct card
ids in OpenSpiel's dealing order (the public card is dealt, by card id, after round 1), so any
OpenSpiel history replays with `init_from(history chance outcomes)`. The public card stays hidden
until round 2 starts.

OpenSpiel: `leduc_poker`. Its histories hold the public card where it is dealt, between the
rounds; `from_openspiel_history` moves it into the chance vector.

Observation (perfect recall), L = 10 tokens of F = 13 features
[player (2) | card (6) | action fold/call/raise (3) | round (2)]:
  token 0:         one-hot observing player | one-hot own card | zeros
  token 1:         zeros (2) | one-hot public card once dealt (zeros before) | zeros
  token 2 + s:     round-1 action slot s = 0..3: zeros (8) | one-hot action | 1 0
  token 6 + s:     round-2 action slot s = 0..3: zeros (8) | one-hot action | 0 1
An action slot not yet played is all zeros (a round has at most 4 actions: call raise raise call).
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from flax import struct

from jaxplay.core import chance as chance_lib
from jaxplay.core import env as env_lib
from jaxplay.core import openspiel as openspiel_lib
from jaxplay.core.registry import register

FOLD, CALL, RAISE = 0, 1, 2
NUM_CARDS = 6
MAX_RAISES = 2
SLOTS_PER_ROUND = 4

# Static per action slot (8 = 2 rounds x 4): the round feature index it carries when played.
_SLOT_ROUND_FEATURE = np.repeat(np.array([11, 12], np.int32), SLOTS_PER_ROUND)


@struct.dataclass
class LeducState(env_lib.State):
  cards: jnp.ndarray       # int32[3] card of player 0, of player 1, public card
  history: jnp.ndarray     # int32[8] actions by slot (round * 4 + position), -1 where none yet
  slot: jnp.ndarray        # int32[] slot of the next action (kept at the end); round 2: >= 4
  num_raises: jnp.ndarray  # int32[] raises in the current round
  contrib: jnp.ndarray     # int32[2] chips each player has put in the pot (ante included)


class LeducPoker(env_lib.Env):
  """OpenSpiel-exact Leduc poker; see the module docstring."""

  name = "leduc_poker"
  num_players = 2
  num_actions = 3
  observation_shape = (10, 13)
  chance_shape = (3,)
  evaluator = "exploitability"
  headline_metrics = ("exploitability",)
  max_episode_steps = 2 * SLOTS_PER_ROUND

  def __init__(self):
    self._deals = chance_lib.ordered_deals(NUM_CARDS, 3)

  def sample_chance(self, key):
    return chance_lib.draw_row(key, self._deals)

  def chance_outcomes(self):
    return chance_lib.uniform_outcomes(self._deals)

  def _init_from(self, cards) -> LeducState:
    return LeducState(
        current_player=jnp.int32(0),
        cards=cards,
        history=jnp.full((2 * SLOTS_PER_ROUND,), -1, jnp.int32),
        slot=jnp.int32(0),
        num_raises=jnp.int32(0),
        contrib=jnp.ones((2,), jnp.int32),
        **self.fresh_fields(),
    )

  def _step(self, state: LeducState, action, key) -> LeducState:
    """Elementwise on per-game scalars only (no reductions), so XLA fuses it per output field."""
    del key
    player = state.current_player
    a = jnp.where(player == 0, action[0], action[1])
    fold, call, raise_ = a == FOLD, a == CALL, a == RAISE
    second_round = state.slot >= SLOTS_PER_ROUND
    c0, c1 = state.contrib[0], state.contrib[1]

    # A raise first calls the stakes (the larger contribution), then adds 2 (round 1) or 4.
    stakes = jnp.maximum(c0, c1) + jnp.where(raise_, jnp.where(second_round, 4, 2), 0)
    contrib = jnp.where((jnp.arange(2) == player) & ~fold, stakes, state.contrib)
    num_raises = state.num_raises + raise_.astype(jnp.int32)
    history = jnp.where(jnp.arange(2 * SLOTS_PER_ROUND) == state.slot, a, state.history)

    # With 2 players every call but the opening check of a round closes the round.
    opening = (state.slot == 0) | (state.slot == SLOTS_PER_ROUND)
    round_over = call & ~opening
    terminated = fold | (round_over & second_round)
    new_round = round_over & ~second_round
    # A finished game keeps its slot, so slot >= 4 means exactly "round 2 has begun".
    slot = jnp.where(terminated, state.slot,
                     jnp.where(new_round, SLOTS_PER_ROUND, state.slot + 1))
    num_raises = jnp.where(new_round, 0, num_raises)
    next_player = jnp.where(new_round, 0, 1 - player)

    # Showdown (OpenSpiel's RankHand): a pair beats any two ranks; else (high, low) rank order.
    def rank(card):
      low, high = jnp.minimum(card, state.cards[2]), jnp.maximum(card, state.cards[2])
      return jnp.where(low // 2 == high // 2, NUM_CARDS * NUM_CARDS + low,
                       (high // 2) * NUM_CARDS + low // 2)
    rank0, rank1 = rank(state.cards[0]), rank(state.cards[1])
    showdown = jnp.sign(rank0 - rank1) * stakes  # at showdown both contributed `stakes`
    # A folder loses what it put in; the other player wins it. Zero-sum: [won, -won].
    won = jnp.where(fold, jnp.where(player == 0, -c0, c1), showdown)
    payoff = jnp.where(jnp.arange(2) == 0, won, -won)

    return state.replace(
        **env_lib.turn_fields(next_player, terminated, payoff),
        history=history,
        slot=slot,
        num_raises=num_raises,
        contrib=contrib,
    )

  def _legal_action_mask(self, state: LeducState):
    """bool[2, 3] for the mover: fold when facing a bet (exactly after a raise: the
    contributions differ), call always, raise while fewer than 2 this round."""
    legal = jnp.stack([state.contrib[0] != state.contrib[1], jnp.bool_(True),
                       state.num_raises < MAX_RAISES])
    return env_lib.turn_mask(state.current_player, legal, 2)

  def _observe(self, state: LeducState):
    """int8[2, 10, 13]: each token has at most two hot features, compared against an iota."""
    players = jnp.arange(2)
    played = state.history >= 0
    dealt = state.slot >= SLOTS_PER_ROUND  # round 2 has begun
    public = jnp.where(dealt, 2 + state.cards[2], -1)
    # first[p, t] / second[p, t]: the hot feature indices of token t for player p (-1: none).
    first = jnp.concatenate([
        players[:, None],
        jnp.broadcast_to(public, (2, 1)),
        jnp.broadcast_to(jnp.where(played, 8 + state.history, -1), (2, 2 * SLOTS_PER_ROUND)),
    ], axis=1)
    second = jnp.concatenate([
        2 + state.cards[:2, None],
        jnp.full((2, 1), -1, jnp.int32),
        jnp.broadcast_to(jnp.where(played, _SLOT_ROUND_FEATURE, -1), (2, 2 * SLOTS_PER_ROUND)),
    ], axis=1)
    features = jnp.arange(self.observation_shape[1])
    hot = (features == first[..., None]) | (features == second[..., None])
    return hot.astype(env_lib.OBSERVATION_DTYPE)

  # --- OpenSpiel ---------------------------------------------------------------------------

  def openspiel_game(self):
    return openspiel_lib.OpenSpielGame("leduc_poker", {}, _OPENSPIEL_DEFAULTS)

  def information_state_string(self, state: LeducState, player: int) -> str:
    """OpenSpiel's "[Observer: 0][Private: 3][Round 1][Player: 1][Pot: 4][Money: 99 97]
    [Round1: 2][Round2: ]", with "[Public: c]" before the rounds once round 2 started."""
    second_round = int(state.slot) >= SLOTS_PER_ROUND
    history = np.asarray(state.history).tolist()
    played = ([str(a) for a in history[:SLOTS_PER_ROUND] if a >= 0],
              [str(a) for a in history[SLOTS_PER_ROUND:] if a >= 0])
    contrib = np.asarray(state.contrib).tolist()
    public = f"[Public: {int(state.cards[2])}]" if second_round else ""
    money = " ".join(str(100 - c) for c in contrib)
    return (f"[Observer: {player}][Private: {int(state.cards[player])}]"
            f"[Round {2 if second_round else 1}][Player: {int(state.current_player)}]"
            f"[Pot: {sum(contrib)}][Money: {money}]{public}"
            f"[Round1: {' '.join(played[0])}][Round2: {' '.join(played[1])}]")

  def from_openspiel_history(self, history):
    """Two private cards, round 1's actions, the public card (once round 1 ended by a call),
    round 2's actions. Without a public card (the game ended in round 1) the lowest card not
    yet dealt stands in for it: `init_from` needs one, play never shows it."""
    ids = openspiel_lib.as_ids(self, history)
    private, rest = openspiel_lib.first(self, ids, 2, "the private cards"), ids[2:]
    end = _round_one_length(rest)
    if end is None or end == len(rest):  # no public card dealt
      public, actions = min(set(range(NUM_CARDS)) - set(private)), rest
    else:
      public, actions = rest[end], rest[:end] + rest[end + 1:]
    return (openspiel_lib.cards(self, ids, private + [public], NUM_CARDS),
            openspiel_lib.actions(self, ids, actions))


# OpenSpiel's leduc_poker parameters and their defaults (the 2-player game above).
_OPENSPIEL_DEFAULTS = {"action_mapping": False, "players": 2, "starting_player": 0,
                       "suit_isomorphism": False}


def _round_one_length(actions: list[int]) -> int | None:
  """How many actions round 1 took if it ended by a call (any call but the opening check
  closes a round of two players), else None (a fold, or the round is not over)."""
  for i, action in enumerate(actions):
    if action == FOLD:
      return None
    if action == CALL and i > 0:
      return i + 1
  return None


register("leduc_poker", LeducPoker)
