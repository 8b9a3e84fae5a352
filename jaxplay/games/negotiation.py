"""Deal or No Deal negotiation (Lewis et al. 2017), exactly as OpenSpiel's `bargaining`.

A pool of 5..7 items of three types (book, hat, ball; at least one of each). Each player
privately values the item types so that its values times the counts sum to 10; no type is
worthless to both players, and some type is valued by both. Players alternate, player 0
first. A turn is an offer (the quantities the proposer keeps, within the pool) or, once an
offer is on the table, Agree. On agreement the last proposer scores its values . offer and the
other player its values . (pool - offer); after `max_turns` offers without agreement both
score 0. Options as in OpenSpiel: `discount` multiplies the scores by discount^(k - 2) when
the game ends at the k-th action (k >= 3); `prob_end` ends the game (no deal) after each offer
from the second on with that probability.

Action ids (OpenSpiel's): 0..119 are the (books, hats, balls) triples with sum <= 7, books
counting fastest; 120 = Agree. With cheap talk (`num_messages` > 0), a turn starts with that
many message actions 121 .. 120 + vocab_size before the offer; messages are free (they count
for neither `max_turns`, `discount` nor `prob_end`).

Objective (Liao, Tomlin & Klein 2024): the reward of player i is score_i + w * score_j, with
w = 0 for "semi_competitive" (default), 1 for "cooperative", -1 for "competitive", or any float
in [-1, 1]. `final_scores(state)` gives the scores themselves.

Chance: `chance_shape = (10,)`, int32 [pool (3), values of player 0 (3), values of player 1 (3),
end_after], where end_after is the number of offers after which chance ends the game
(max_turns when it does not). Instances are drawn uniformly from every valid instance (what
OpenSpiel's instance generator's rejection sampling yields), with `instances="openspiel"` from
OpenSpiel's 1000 built-in ones, or from explicit rows `instances=((pool, v0, v1), ...)` (9 ints
each; small sets make game trees small enough for exact evaluation).

OpenSpiel: `bargaining(discount=..., max_turns=..., prob_end=...)` is this game with
`instances="openspiel"`, the semi-competitive objective and no cheap talk. Its histories start
with the index of the instance (into `openspiel_instances()`); with prob_end > 0, each offer
from the second on that does not reach max_turns is followed by chance's continue (1000) or
end (1001).

Observation (perfect recall), L = 2 + max_turns * (1 + num_messages) tokens of
F = 13 + (vocab_size if cheap talk) small-integer features:
  0 instance token | 1 offer token | 2 agreement token | 3 message token |
  4, 5 observer's seat one-hot | 6 made by the observer | 7..9 item counts | 10..12 values |
  13.. message symbol one-hot
  token 0:                      instance: seat, pool counts, the observer's own values
  token 1 + t (t < max_turns):  the t-th offer: by observer?, the quantities its proposer keeps
  token 1 + max_turns:          agreement, once reached
  then max_turns * num_messages message tokens, turn by turn: by observer?, symbol one-hot
"""

from __future__ import annotations

import functools
import itertools
import pathlib

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from jaxplay.core import chance as chance_lib
from jaxplay.core import env as env_lib
from jaxplay.core import openspiel as openspiel_lib
from jaxplay.core.errors import ConfigError, check_int, check_number, is_real
from jaxplay.core.registry import register

NUM_ITEM_TYPES = 3
POOL_MIN_ITEMS, POOL_MAX_ITEMS, TOTAL_VALUE = 5, 7, 10
OBJECTIVES = {"semi_competitive": 0.0, "cooperative": 1.0, "competitive": -1.0}
_INSTANCES_FILE = pathlib.Path(__file__).parent / "data" / "bargaining_instances1000.txt"
# OpenSpiel's bargaining parameters and their defaults.
_OPENSPIEL_DEFAULTS = {"discount": 1.0, "instances_file": "", "max_num_instances": 1000,
                       "max_turns": 10, "prob_end": 0.0}

# Feature indices of the observation tokens.
INSTANCE, OFFER, AGREEMENT, MESSAGE, SEAT, BY_OBSERVER, COUNTS, VALUES, SYMBOL = (
    0, 1, 2, 3, 4, 6, 7, 10, 13)


def offer_table() -> np.ndarray:
  """int32[120, 3]: the quantities of each offer action, in OpenSpiel's order."""
  digits = itertools.product(range(POOL_MAX_ITEMS + 1), repeat=NUM_ITEM_TYPES)
  return np.array([d[::-1] for d in digits if sum(d) <= POOL_MAX_ITEMS], np.int32)


OFFERS = offer_table()
AGREE = len(OFFERS)  # 120


def offer_action(books: int, hats: int, balls: int) -> int:
  """The action id of the offer in which the proposer keeps these quantities."""
  matches = np.flatnonzero((OFFERS == [books, hats, balls]).all(axis=1))
  if len(matches) == 0:
    raise ConfigError(f"no offer keeps ({books}, {hats}, {balls}): quantities must be >= 0 and "
                      f"sum to at most {POOL_MAX_ITEMS}")
  return int(matches[0])


@functools.lru_cache(maxsize=None)
def valid_instances() -> np.ndarray:
  """int32[N, 9]: every valid (pool, values of player 0, values of player 1)."""
  rows = []
  for pool in itertools.product(range(1, POOL_MAX_ITEMS + 1), repeat=NUM_ITEM_TYPES):
    if not POOL_MIN_ITEMS <= sum(pool) <= POOL_MAX_ITEMS:
      continue
    values = [v for v in itertools.product(range(TOTAL_VALUE + 1), repeat=NUM_ITEM_TYPES)
              if np.dot(v, pool) == TOTAL_VALUE]
    for v0, v1 in itertools.product(values, values):
      pairs = list(zip(v0, v1))
      if all(a or b for a, b in pairs) and any(a and b for a, b in pairs):
        rows.append(pool + v0 + v1)
  return np.array(rows, np.int32)


def _instance_table(instances) -> np.ndarray:
  """int32[K, 9] from the `instances` option: a name or explicit (pool, values, values) rows."""
  if isinstance(instances, str) and instances in ("sampled", "openspiel"):
    return valid_instances() if instances == "sampled" else openspiel_instances()
  allowed = ("negotiation: instances must be 'sampled' (every valid instance), 'openspiel' (its "
             "1000 built-in ones) or a sequence of valid rows of 9 ints (pool 3, values of player "
             f"0 3, values of player 1 3); got {instances!r}")
  if isinstance(instances, str):
    raise ConfigError(allowed)
  try:
    rows = np.asarray(instances)
  except (TypeError, ValueError):
    raise ConfigError(allowed) from None
  if rows.dtype.kind not in "iu" or rows.ndim != 2 or rows.shape[1] != 9 or not len(rows):
    raise ConfigError(allowed)
  valid = {tuple(row) for row in valid_instances()}
  invalid = [tuple(int(x) for x in row) for row in rows if tuple(row) not in valid]
  if invalid:
    raise ConfigError(f"negotiation: {invalid[0]} is not a valid instance (pool of 5..7 items, "
                      "at least one of each type; each player's values sum to 10; no type "
                      "worthless to both; some type valued by both)")
  return rows.astype(np.int32)


@functools.lru_cache(maxsize=None)
def openspiel_instances() -> np.ndarray:
  """int32[1000, 9]: OpenSpiel's built-in instances, in its order."""
  lines = [line for line in _INSTANCES_FILE.read_text().splitlines()
           if line and not line.startswith("#")]
  return np.array([[int(x) for part in line.split() for x in part.split(",")] for line in lines],
                  np.int32)


@struct.dataclass
class NegotiationState(env_lib.State):
  pool: jnp.ndarray        # int32[3]
  values: jnp.ndarray      # int32[2, 3] each player's values
  end_after: jnp.ndarray   # int32[] chance ends the game after this many offers
  offers: jnp.ndarray      # int32[max_turns, 3] offers so far (zeros where none yet)
  num_offers: jnp.ndarray  # int32[]
  agreed: jnp.ndarray      # bool[]
  messages: jnp.ndarray    # int32[max_turns, num_messages] symbols sent, -1 where none yet
  num_sent: jnp.ndarray    # int32[] messages sent this turn


class Negotiation(env_lib.Env):
  """OpenSpiel-exact bargaining with an objective and optional cheap talk; see the module
  docstring."""

  name = "negotiation"
  num_players = 2
  headline_metrics = ("agreement", "pareto_optimal", "joint_score_fraction")

  def __init__(self, objective: str | float = "semi_competitive", max_turns: int = 10,
               discount: float = 1.0, prob_end: float = 0.0,
               instances: str | tuple[tuple[int, ...], ...] = "sampled",
               num_messages: int = 0, vocab_size: int = 8):
    if isinstance(objective, str) and objective in OBJECTIVES:
      self.weight = OBJECTIVES[objective]
    elif is_real(objective) and -1.0 <= objective <= 1.0:
      self.weight = float(objective)
    else:
      raise ConfigError(f"negotiation: objective must be one of {sorted(OBJECTIVES)} or a number "
                        f"in [-1, 1], got {objective!r}")
    max_turns = check_int("negotiation", "max_turns", max_turns, 1)
    discount = check_number("negotiation", "discount", discount, 0.0, 1.0, low_open=True)
    prob_end = check_number("negotiation", "prob_end", prob_end, 0.0, 1.0, high_open=True)
    self._instances = _instance_table(instances)
    num_messages = check_int("negotiation", "num_messages", num_messages, 0)
    vocab_size = check_int("negotiation", "vocab_size", vocab_size, 1)
    self.objective, self.max_turns, self.discount, self.prob_end = (
        objective, max_turns, discount, prob_end)
    self.num_messages = num_messages
    self.max_episode_steps = max_turns * (1 + num_messages) + 1
    self.vocab_size = vocab_size if num_messages else 0
    self.num_actions = AGREE + 1 + self.vocab_size
    self.observation_shape = (2 + max_turns * (1 + num_messages), SYMBOL + self.vocab_size)
    self.chance_shape = (10,)

  # --- chance ---------------------------------------------------------------------------

  def sample_chance(self, key):
    instance_bits, end_bits = chance_lib.key_bits(key, (2,))
    instance = jnp.asarray(self._instances)[chance_lib.bits_below(instance_bits,
                                                                  len(self._instances))]
    return jnp.concatenate([instance, self._draw_end_after(end_bits)[None]])

  def chance_outcomes(self):
    """Every instance (uniform) times every end_after (geometric in prob_end)."""
    turns = np.arange(2, self.max_turns + 1)
    end_probs = (1 - self.prob_end) ** (turns - 2) * self.prob_end
    end_probs[-1] = 1.0 - end_probs[:-1].sum()
    if self.prob_end == 0.0 or self.max_turns < 2:
      turns, end_probs = np.array([self.max_turns]), np.ones(1)
    count = len(self._instances)
    outcomes = np.concatenate([np.repeat(self._instances, len(turns), axis=0),
                               np.tile(turns, count)[:, None]], axis=1)
    return outcomes.astype(np.int32), np.tile(end_probs, count) / count

  def _draw_end_after(self, bits):
    """Chance ends the game after offer k >= 2 with prob_end, unless it ended before."""
    if self.prob_end == 0.0:
      return jnp.int32(self.max_turns)
    uniform = chance_lib.open_unit_float(bits)
    continues = jnp.floor(jnp.log(uniform) / np.log1p(-self.prob_end)).astype(jnp.int32)
    return jnp.minimum(2 + continues, self.max_turns)

  # --- the game ----------------------------------------------------------------------------

  def _init_from(self, chance) -> NegotiationState:
    return NegotiationState(
        current_player=jnp.int32(0),
        pool=chance[:3],
        values=chance[3:9].reshape(2, 3),
        end_after=chance[9],
        offers=jnp.zeros((self.max_turns, 3), jnp.int32),
        num_offers=jnp.int32(0),
        agreed=jnp.bool_(False),
        messages=jnp.full((self.max_turns, self.num_messages), -1, jnp.int32),
        num_sent=jnp.int32(0),
        **self.fresh_fields(),
    )

  def _legal_action_mask(self, state: NegotiationState):
    """bool[2, A] for the mover: offers within the pool and Agree after an offer, or the
    message symbols while it still has messages to send this turn."""
    talking = state.num_sent < self.num_messages
    offers = (jnp.asarray(OFFERS) <= state.pool).all(axis=1) & ~talking
    symbols = jnp.full((self.vocab_size,), talking)
    legal = jnp.concatenate([offers, ((state.num_offers > 0) & ~talking)[None], symbols])
    return env_lib.turn_mask(state.current_player, legal, 2)

  def _step(self, state: NegotiationState, action, key) -> NegotiationState:
    del key
    player = state.current_player
    a = env_lib.of_player(action, player)
    talking = state.num_sent < self.num_messages  # this action is a message
    is_agree = ~talking & (a == AGREE)
    is_offer = ~talking & ~is_agree
    offer = jnp.asarray(OFFERS)[jnp.minimum(a, AGREE - 1)]
    turn = state.num_offers
    offers = jnp.where((jnp.arange(self.max_turns) == turn)[:, None] & is_offer, offer,
                       state.offers)
    num_offers = turn + is_offer.astype(jnp.int32)
    messages = jnp.where((jnp.arange(self.max_turns) == turn)[:, None]
                         & (jnp.arange(self.num_messages) == state.num_sent) & talking,
                         a - AGREE - 1, state.messages)
    terminated = is_agree | (is_offer & ((num_offers >= self.max_turns)
                                         | (num_offers >= state.end_after)))
    next_player = jnp.where(talking, player, 1 - player)
    num_sent = jnp.where(talking, state.num_sent + 1, 0)
    state = state.replace(offers=offers, num_offers=num_offers, agreed=is_agree,
                          messages=messages, num_sent=num_sent)
    scores = final_scores(state)
    # OpenSpiel discounts from the third (non-message) action: the k-th by discount^(k - 2).
    exponent = jnp.maximum(num_offers + is_agree.astype(jnp.int32) - 2, 0)
    returns = scores * jnp.float32(self.discount) ** exponent
    payoff = returns + self.weight * returns[::-1]
    return state.replace(**env_lib.turn_fields(next_player, terminated, payoff))

  def _observe(self, state: NegotiationState):
    """int8[2, L, F]: each kind of token as a concatenation of its feature blocks
    (cheaper on XLA:CPU than testing every feature index for every element)."""
    turns, talk, vocab = self.max_turns, self.num_messages, self.vocab_size
    int8 = lambda x: jnp.asarray(x).astype(env_lib.OBSERVATION_DTYPE)
    zeros = lambda *shape: jnp.zeros(shape, env_lib.OBSERVATION_DTYPE)
    kind = lambda k, *shape: jnp.broadcast_to(int8(jnp.arange(4) == k), shape + (4,))
    me = jnp.arange(2)
    by_me = int8(jnp.arange(turns)[None, :] % 2 == me[:, None])[..., None]      # [2, T, 1]
    instance = jnp.concatenate([
        kind(INSTANCE, 2), int8(me[:, None] == me[None, :]), zeros(2, 1),
        jnp.broadcast_to(int8(state.pool), (2, 3)), int8(state.values), zeros(2, vocab)], -1)
    offers = jnp.concatenate([
        kind(OFFER, 2, turns), zeros(2, turns, 2), by_me,
        jnp.broadcast_to(int8(state.offers), (2, turns, 3)), zeros(2, turns, 3 + vocab)], -1)
    offers = offers * int8(jnp.arange(turns) < state.num_offers)[None, :, None]
    agreement = jnp.concatenate([kind(AGREEMENT, 2, 1), zeros(2, 1, 9 + vocab)], -1)
    tokens = [instance[:, None], offers, agreement * int8(state.agreed)]
    if talk:
      messages = jnp.concatenate([
          kind(MESSAGE, 2, turns, talk), zeros(2, turns, talk, 2),
          jnp.broadcast_to(by_me[..., None], (2, turns, talk, 1)), zeros(2, turns, talk, 6),
          jnp.broadcast_to(int8(state.messages[..., None] == jnp.arange(vocab)),
                           (2, turns, talk, vocab))], -1)
      messages = messages * int8(state.messages >= 0)[None, ..., None]
      tokens.append(messages.reshape(2, turns * talk, -1))
    return jnp.concatenate(tokens, axis=1)

  # --- OpenSpiel ---------------------------------------------------------------------------

  def openspiel_game(self):
    """OpenSpiel's bargaining, when this env plays it: its 1000 instances, the
    semi-competitive objective, no cheap talk."""
    if (self.weight != 0.0 or self.num_messages
        or not np.array_equal(self._instances, openspiel_instances())):
      return None
    params = {"discount": float(self.discount), "max_turns": self.max_turns,
              "prob_end": float(self.prob_end)}
    return openspiel_lib.OpenSpielGame("bargaining", params, _OPENSPIEL_DEFAULTS)

  def from_openspiel_history(self, history):
    """The instance index, then the actions with chance's continue/end outcomes among them
    (see the module docstring); chance ending the game after offer k gives end_after = k."""
    if self.openspiel_game() is None:
      raise openspiel_lib.OpenSpielError(
          "negotiation has an OpenSpiel counterpart (bargaining) only with "
          "instances='openspiel', the semi_competitive objective and num_messages=0")
    ids = openspiel_lib.as_ids(self, history)
    index = openspiel_lib.first(self, ids, 1, "the instance index")[0]
    proceed, end = len(self._instances), len(self._instances) + 1
    if not 0 <= index < proceed:
      raise openspiel_lib.history_error(self, ids, f"the instance index is in 0..{proceed - 1}")
    actions, offers, end_after = [], 0, self.max_turns
    rest = iter(enumerate(ids[1:], start=1))
    for _, action in rest:
      actions.append(action)
      offers += int(0 <= action < AGREE)
      if not (self.prob_end > 0 and 0 <= action < AGREE and 2 <= offers < self.max_turns):
        continue
      position, outcome = next(rest, (len(ids), proceed))  # chance: continue or end
      if outcome not in (proceed, end):
        raise openspiel_lib.history_error(self, ids, f"position {position} is chance's "
                                          f"continue ({proceed}) or end ({end})")
      if outcome == end and position != len(ids) - 1:
        raise openspiel_lib.history_error(self, ids, f"chance ended the game at position "
                                          f"{position}, yet it goes on")
      end_after = offers if outcome == end else end_after
    chance = np.append(self._instances[index], end_after).astype(np.int32)
    return chance, openspiel_lib.actions(self, ids, actions)

  def episode_metrics(self, states: NegotiationState) -> dict[str, float]:
    """Means over finished games [B] of `metrics`, and the joint score as a fraction of the
    best each instance allows (mean joint score / mean best joint score)."""
    means = {k: float(np.mean(v)) for k, v in jax.device_get(jax.vmap(metrics)(states)).items()}
    means["joint_score_fraction"] = means["joint_score"] / means["best_joint_score"]
    return means


# --- metrics for evaluation -------------------------------------------------------------


def final_scores(state: NegotiationState) -> jax.Array:
  """float32[2]: each player's score of the agreed deal (values . items, undiscounted); zeros
  without agreement."""
  last = jnp.maximum(state.num_offers - 1, 0)
  offer = (state.offers * (jnp.arange(state.offers.shape[0]) == last)[:, None]).sum(0)
  proposer = last % 2
  player0_items = jnp.where(proposer == 0, offer, state.pool - offer)
  items = jnp.stack([player0_items, state.pool - player0_items])     # [2, 3]
  return jnp.where(state.agreed, (state.values * items).sum(-1), 0).astype(jnp.float32)


def _allocation_scores(pool: jax.Array, values: jax.Array):
  """float32[120, 2] scores of every allocation (player 0 gets an offer's quantities) and
  bool[120] which are feasible."""
  items0 = jnp.asarray(OFFERS)
  feasible = (items0 <= pool).all(-1)
  scores = jnp.stack([items0 @ values[0], (pool - items0) @ values[1]], -1)
  return scores.astype(jnp.float32), feasible


def best_joint_score(pool: jax.Array, values: jax.Array) -> jax.Array:
  """float32[]: the largest sum of both scores any split of the pool achieves."""
  scores, feasible = _allocation_scores(pool, values)
  return jnp.max(jnp.where(feasible, scores.sum(-1), -1.0))


def is_pareto_optimal(state: NegotiationState) -> jax.Array:
  """bool[]: an agreement was reached and no split gives one player more and neither less."""
  scores, feasible = _allocation_scores(state.pool, state.values)
  deal = final_scores(state)
  dominates = (scores >= deal).all(-1) & (scores > deal).any(-1) & feasible
  return state.agreed & ~dominates.any()


def metrics(state: NegotiationState) -> dict[str, jax.Array]:
  """Evaluation metrics of a finished game (vmap over games and average)."""
  scores = final_scores(state)
  return dict(agreement=state.agreed, score_0=scores[0], score_1=scores[1],
              joint_score=scores.sum(), pareto_optimal=is_pareto_optimal(state),
              best_joint_score=best_joint_score(state.pool, state.values))


register("negotiation", Negotiation)
