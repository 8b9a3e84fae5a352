"""The environment contract: a `State` every game extends and the `Env` base class.

A game is a pure function pair over an immutable state:

    state = env.init(key)                  # chance outcomes drawn from key
    state = env.init_from(chance)          # ... or given explicitly (replay a history)
    state = env.step(state, action, key)   # action: int32[num_players], a joint action

Every state carries per-player arrays so that one vmapped forward pass serves all seats.
Games implement `_init_from(chance)`, `_step(state, action, key)`, `_observe(state)`,
`_legal_action_mask(state)` and, if they have chance, `sample_chance(key)`; this module owns
what all games share: the step counter, the no-op on finished games, the illegal-action rule,
and the reads.

The observation and the legal-action mask are not stored: `state.observation` and
`state.legal_action_mask` compute them from the state when read (the state carries its env's
`Observer` as static data). A state is then only the game's own fields and the contract's
scalars, which a batch of games carries, selects and copies at every step; and XLA computes
the reads where they are used, fused into what reads them. On one H200 the observation's
move took the board games from behind Pgx to ahead of it at large batches (Kuhn 0.63x ->
1.25x at B = 524,288); on this project's 2-core CPU the mask's took tic-tac-toe to about twice
Pgx's rate (BUILD_NOTES.md, "The observation, computed where read" and "The legal-action
mask, computed where read").

Illegal actions (documented, tested behaviour under jit): if a player who may move chooses
an action outside its legal set (or outside [0, num_actions)), the game ends at once
(`terminated=True`); each offender gets reward -1 and the other players share +1 per offender
equally, so the rewards still sum to zero. The game's own fields (hence the observation) are
left as they were before the move. `jaxplay.core.wrappers.Checked` raises
`IllegalActionError` instead.
"""

from __future__ import annotations

import abc
import functools
import inspect
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from jaxplay.core.errors import ConfigError
from jaxplay.core.openspiel import History, OpenSpielError, OpenSpielGame

Array = jax.Array
PRNGKey = jax.Array

OBSERVATION_DTYPE = jnp.int8


class Observer:
  """What a state's players see and may do: the `_observe` and `_legal_action_mask` of the env
  that made it.

  States carry one as static (non-array) pytree data. Two observers are equal when their envs
  are of one class built with equal arguments (`Env.construction`), so that states of two
  `make("kuhn_poker")` calls mix in one pytree operation and share jit's compiled functions;
  that equality is also what makes reusing a compiled function correct.
  """

  def __init__(self, env: "Env"):
    self.env = env
    self.key = (type(env).__module__, type(env).__qualname__, env.construction)
    self._batched: dict[tuple[str, int], Callable[["State"], Array]] = {}

  def observation(self, state: "State") -> Array:
    """int8[P, L, F] of one (unbatched) state."""
    return self.env._observe(state)

  def legal_action_mask(self, state: "State") -> Array:
    """bool[P, A] of one (unbatched) state: the game's rule, and nothing once it is over."""
    return self.env._legal_action_mask(state) & ~(state.terminated | state.truncated)

  def batched(self, read: str, ndim: int) -> Callable[["State"], Array]:
    """`read` ("observation" or "legal_action_mask") of states with `ndim` batch dimensions:
    jitted (so that a state read outside jit compiles once rather than running op by op at
    every read; inside jit it is inlined) and vmapped once per batch dimension."""
    if (read, ndim) not in self._batched:
      compute = getattr(self, read)
      for _ in range(ndim):
        compute = jax.vmap(compute)
      self._batched[read, ndim] = jax.jit(compute)
    return self._batched[read, ndim]

  def __eq__(self, other: Any) -> bool:
    return isinstance(other, Observer) and self.key == other.key

  def __hash__(self) -> int:
    return hash(self.key)

  def __getstate__(self) -> dict:  # pickling an env or a state: the compiled functions stay
    return {**self.__dict__, "_batched": {}}

  def __repr__(self) -> str:
    return f"Observer({self.key[1]}{self.key[2]})"


@struct.dataclass
class State:
  """Fields every game state has. P players, A actions, observations of L tokens x F features.

  Attributes:
    current_player: int32[] who moves now; -1 when all players move at once. At a terminal
      state it is the player who would be next in turn order; nobody has legal actions.
    observation: (a property, computed when read) int8[..., P, L, F] each player's
      information state as tokens; `...` are the state's batch dimensions.
    legal_action_mask: (a property, computed when read) bool[..., P, A] row p: the actions
      player p may take now (all False for a player who does not move, and for everyone at a
      terminal state).
    rewards: float32[P] reward of the last transition, by player id.
    shaped_rewards: float32[P] the game's optional shaping signal for the last transition
      (Overcooked's intermediate rewards); zeros in games without one. Not part of the
      return: learners add it with a weight of their own.
    terminated: bool[] the game ended by its rules.
    truncated: bool[] the game was cut by a time limit.
    step_count: int32[] number of `step` calls since `init` that changed the state.
    observer: (static) the `Observer` that computes `observation` and `legal_action_mask`.
  """

  current_player: Array
  rewards: Array
  shaped_rewards: Array
  terminated: Array
  truncated: Array
  step_count: Array
  observer: Observer = struct.field(pytree_node=False)

  @property
  def observation(self) -> Array:
    return self._read("observation")

  @property
  def legal_action_mask(self) -> Array:
    return self._read("legal_action_mask")

  def _read(self, read: str) -> Array:
    compute = self.observer.batched(read, len(self.step_count.shape))
    if isinstance(self.step_count, jax.ShapeDtypeStruct):  # a state from `jax.eval_shape`
      return jax.eval_shape(compute, self)
    return compute(self)


class FixedFeatures(NamedTuple):
  """Observation features that hold one value in every state of a game, for every player.

  Attributes:
    mask: bool[L, F] True where the feature never changes.
    values: int8[L, F] its value there (0 where `mask` is False).

  A network may skip the arithmetic on these inputs without changing what it computes
  (`jaxplay.agents.networks.MLP`: a constant input times its weights is a constant).
  """

  mask: np.ndarray
  values: np.ndarray


def turn_mask(player: Array, legal: Array, num_players: int) -> Array:
  """bool[P, A]: row `player` is `legal` (bool[A]), every other row False."""
  return (jnp.arange(num_players) == player)[:, None] & legal[None, :]


def turn_fields(next_player: Array, terminated: Array, payoff: Array) -> dict[str, Array]:
  """The contract fields after a move in a turn-based game.

  Args:
    next_player: int32[] who moves next (kept as is at a terminal state).
    terminated: bool[] whether the move ended the game.
    payoff: float[P] the returns, paid out only if the game ended.
  """
  return dict(
      current_player=next_player,
      rewards=jnp.where(terminated, payoff, 0.0).astype(jnp.float32),
      terminated=terminated,
  )


def of_player(values: Array, player: Array) -> Array:
  """values[player] for values [P, ...], as P static slices and selects (no gather: XLA
  vectorizes this across a vmapped batch far better)."""
  out = values[0]
  for p in range(1, values.shape[0]):
    out = jnp.where(player == p, values[p], out)
  return out


def tree_select(pred: Array, on_true: Any, on_false: Any) -> Any:
  """Elementwise `pred ? on_true : on_false` over two pytrees of the same structure."""
  return jax.tree.map(lambda a, b: jnp.where(pred, a, b), on_true, on_false)


class Env(abc.ABC):
  """Base class of every game. Static configuration lives on the object; state is data.

  Subclasses set `name`, `num_players`, `num_actions`, `observation_shape` (L, F) and
  `chance_shape`, and implement `_init_from`, `_step`, `_observe` and (with chance)
  `sample_chance`.
  """

  def __init_subclass__(cls, **kwargs):
    # Records what each env is built from (`construction`) around the class's own __init__.
    super().__init_subclass__(**kwargs)
    init = cls.__dict__.get("__init__")
    if init is None:
      return

    @functools.wraps(init)
    def recording_init(self, *args, **kwargs):
      if "construction" not in self.__dict__:  # the most derived class's arguments count
        bound = inspect.signature(type(self).__init__).bind(self, *args, **kwargs)
        bound.apply_defaults()
        self.construction = "(" + ", ".join(
            f"{name}={value!r}" for name, value in list(bound.arguments.items())[1:]) + ")"
      init(self, *args, **kwargs)

    cls.__init__ = recording_init

  # What the env was built from, defaults filled in ("(layout='ring', ...)"): envs of one class
  # built alike are the same game, and their states' observers compare equal. Set per env by
  # the __init__ of classes that take arguments.
  construction: str = "()"

  @functools.cached_property
  def observer(self) -> Observer:
    """The `Observer` this env's states carry (`state.observation` calls its `_observe`,
    `state.legal_action_mask` its `_legal_action_mask`)."""
    return Observer(self)

  name: str
  num_players: int
  num_actions: int
  observation_shape: tuple[int, int]
  chance_shape: tuple[int, ...] = (0,)
  # True when `step` draws chance outcomes from its key (most games deal everything at init).
  stochastic_step: bool = False
  # True when all players move at once (current_player == -1).
  simultaneous: bool = False
  # True for wrappers that start a new game when one ends (`AutoReset`).
  auto_resets: bool = False
  # True when the game fills `shaped_rewards` (learners may then add them, weighted). Left
  # False, the field is zeros in every state: `Env.step` keeps them as they are, whatever
  # `_step` writes there.
  has_shaped_rewards: bool = False
  # Options (`make` keywords) that change only the training signal (`shaped_rewards`), not
  # the game: networks trained with different values still play the same game together
  # (partner pools and cross-play compare game options without them).
  reward_options: tuple[str, ...] = ()
  # True when every seat always gets the same reward (a cooperative game: Overcooked); win
  # probabilities and Elo ratings mean nothing there.
  common_payoff: bool = False

  # --- what a game declares about itself (see "A game owns what is about the game") -------
  # How the field measures a policy in this game: a kind of `jaxplay.eval.policy_eval`
  # ("exploitability": exact, on the game tree; "minimax": matches against perfect and random
  # play; "selfplay": returns of self-play games plus `episode_metrics`), or a factory
  # `(env, probs_fn, *, num_games, greedy) -> evaluator` of the game's own.
  evaluator: str | Callable[..., Any] = "selfplay"
  # The evaluation metrics worth a glance (the evaluator's names), for progress lines & plots.
  headline_metrics: tuple[str, ...] = ("return_0",)
  # The most steps a game can last (its time limit for games that only end by one).
  max_episode_steps: int = 1000

  # --- what a game implements -------------------------------------------------------------

  def sample_chance(self, key: PRNGKey) -> Array:
    """int32[chance_shape]: all chance outcomes of one game (a deal, an instance). Games
    with chance override this; the default is a game without any (chance_shape (0,))."""
    del key
    return jnp.zeros(self.chance_shape, jnp.int32)

  def chance_outcomes(self) -> tuple[np.ndarray, np.ndarray]:
    """Every chance outcome of one game with its probability, for exact evaluation
    (`jaxplay.eval`): int32[C, *chance_shape] and float64[C] summing to 1. Games with chance
    override this; the default is the single outcome of a game without any."""
    return np.zeros((1,) + tuple(self.chance_shape), np.int32), np.ones(1)

  @abc.abstractmethod
  def _init_from(self, chance: Array) -> State:
    """The initial state given the chance outcomes `sample_chance` would draw (build it with
    `**self.fresh_fields()`)."""

  @abc.abstractmethod
  def _step(self, state: State, action: Array, key: PRNGKey | None) -> State:
    """Advances a live state by a legal joint action. The caller sets `step_count`."""

  @abc.abstractmethod
  def _observe(self, state: State) -> Array:
    """int8[P, L, F]: every player's observation of `state`; a function of the state only."""

  @abc.abstractmethod
  def _legal_action_mask(self, state: State) -> Array:
    """bool[P, A]: the actions each player may take in `state` by the game's rules (row p all
    False when p does not move); a function of the state only. The contract's
    `legal_action_mask` is this with every row cleared once the game is over, so a game need
    not look at `terminated`."""

  def fixed_features(self) -> FixedFeatures:
    """The observation features that never change (see `FixedFeatures`). Games whose
    observations hold many (Overcooked: the kitchen's terrain, cells no cook can reach)
    override this; the default claims none."""
    shape = tuple(self.observation_shape)
    return FixedFeatures(np.zeros(shape, bool), np.zeros(shape, np.int8))

  # --- what a game may declare about itself --------------------------------------------------

  def episode_metrics(self, states: State) -> dict[str, float]:
    """Metrics of a batch of finished games (states [B]) beyond their returns, as the
    self-play evaluator reports them (negotiation: agreement, Pareto-optimality). None by
    default."""
    del states
    return {}

  def render(self, state: State) -> np.ndarray:
    """uint8[H, W, 3]: a picture of one (unbatched) state, for GIFs of episodes. Games that
    draw themselves override this."""
    del state
    raise ConfigError(f"{self.name} has no renderer (games that draw themselves override "
                      "Env.render)")

  def renders(self) -> bool:
    """Whether the game draws itself (overrides `render`)."""
    return type(self).render is not Env.render

  # --- the game's OpenSpiel counterpart (none by default) ---

  def openspiel_game(self) -> OpenSpielGame | None:
    """The OpenSpiel game this env plays exactly (players, action ids, chance, returns), or
    None. Games with a counterpart override this."""
    return None

  def information_state_string(self, state: State, player: int) -> str:
    """OpenSpiel's `InformationStateString(player)` of one unbatched state. Games whose
    counterpart writes them override this."""
    del state, player
    raise OpenSpielError(f"{self.name} writes no information-state strings (games that do "
                         "override Env.information_state_string)")

  def writes_information_state_strings(self) -> bool:
    """Whether the game overrides `information_state_string`."""
    return type(self).information_state_string is not Env.information_state_string

  def from_openspiel_history(self, history: History) -> tuple[np.ndarray, list[int]]:
    """Splits a full OpenSpiel history (`state.history()`: chance outcomes and player actions
    interleaved as OpenSpiel applies them) into int32[chance_shape] for `init_from` and the
    players' action ids in order. Games with a counterpart override this.

    Raises:
      OpenSpielError: the game has no counterpart, or the history is not one of its.
    """
    del history
    raise OpenSpielError(f"{self.name} has no OpenSpiel counterpart (games with one override "
                         "Env.openspiel_game and Env.from_openspiel_history)")

  def fresh_fields(self) -> dict[str, Any]:
    """The contract fields every game starts with."""
    return dict(
        observer=self.observer,
        rewards=jnp.zeros((self.num_players,), jnp.float32),
        shaped_rewards=jnp.zeros((self.num_players,), jnp.float32),
        terminated=jnp.bool_(False),
        truncated=jnp.bool_(False),
        step_count=jnp.int32(0),
    )

  # --- the contract --------------------------------------------------------------------

  def init(self, key: PRNGKey) -> State:
    """A new game with chance outcomes drawn from `key` (a typed or raw PRNG key)."""
    return self.init_from(self.sample_chance(key))

  def init_from(self, chance: Array) -> State:
    """A new game with chance outcomes given explicitly (int32[chance_shape]).

    A vector of another shape raises `ConfigError`. Its values are not validated: an
    impossible outcome (Kuhn [2, 2]: both players hold the king) is played by the rules'
    arithmetic (Kuhn then pays [2, 2], not zero-sum). `Checked` (`make(..., checked=True)`)
    refuses any vector that is not a row of `chance_outcomes()[0]`.
    """
    chance = jnp.asarray(chance, jnp.int32)
    if chance.shape != tuple(self.chance_shape):
      raise ConfigError(f"{self.name}: init_from takes a chance vector of shape "
                        f"{tuple(self.chance_shape)} (one row of chance_outcomes()[0]), got "
                        f"shape {chance.shape}")
    return self._init_from(chance)

  def step(self, state: State, action: Array, key: PRNGKey | None = None) -> State:
    """Apply a joint action (int32[P]; turn-based games read `action[current_player]`).

    A finished state (terminated or truncated) is returned unchanged with zero rewards.
    An illegal action ends the game as described in the module docstring.
    """
    action = jnp.asarray(action, jnp.int32)
    if action.shape != (self.num_players,):
      raise ValueError(
          f"{self.name}: step takes a joint action of shape ({self.num_players},), one action "
          f"per player (turn-based games read action[current_player]); got shape {action.shape}")
    done = state.terminated | state.truncated
    legal = state.legal_action_mask  # all False once done
    if self.simultaneous:
      offenders = illegal_players(legal, action) & ~done
      rewards_if_illegal = illegal_action_rewards(offenders)
      illegal = offenders.any()
    else:  # only the mover's row holds legal actions, so its choice alone can be illegal
      player = state.current_player
      chosen = jnp.arange(self.num_actions) == of_player(action, player)
      illegal = ~(of_player(legal, player) & chosen).any() & ~done
      # One offender: -1 for it, the others share +1 (no count of offenders to divide by).
      rewards_if_illegal = jnp.where(jnp.arange(self.num_players) == player, -1.0,
                                     1.0 / (self.num_players - 1))
    moved = self._step(state, action, key)
    # Keep the old state (finished game, or illegal move) or take the moved one; then set the
    # few fields that differ on the kept path. Games without shaping keep their zeros as they
    # are (and `AutoReset` keeps them across a reset), so XLA sees the field never change:
    # a select less for every game a step.
    kept = done | illegal
    shaped_rewards = (jnp.where(kept, 0.0, moved.shaped_rewards).astype(jnp.float32)
                      if self.has_shaped_rewards else state.shaped_rewards)
    return tree_select(kept, state, moved).replace(
        terminated=jnp.where(kept, state.terminated | illegal, moved.terminated),
        rewards=jnp.where(kept, jnp.where(done, 0.0, rewards_if_illegal),
                          moved.rewards).astype(jnp.float32),
        shaped_rewards=shaped_rewards,
        step_count=state.step_count + (~done).astype(jnp.int32),
    )

  def __repr__(self) -> str:
    return f"{type(self).__name__}(name={self.name!r}, num_players={self.num_players})"


def illegal_players(legal_action_mask: Array, action: Array) -> Array:
  """bool[P]: players who may move but chose an action outside their legal set."""
  may_move = jnp.zeros(action.shape, bool)
  chose_legal = jnp.zeros(action.shape, bool)
  for a in range(legal_action_mask.shape[-1]):  # column by column: vectorizes across games
    legal = legal_action_mask[..., a]
    may_move = may_move | legal
    chose_legal = chose_legal | (legal & (action == a))
  return may_move & ~chose_legal


def illegal_action_rewards(offenders: Array) -> Array:
  """float32[P]: -1 for each offender; the others share +1 per offender, summing to zero."""
  num_offenders = offenders.sum()
  num_others = jnp.maximum(offenders.shape[-1] - num_offenders, 1)
  return jnp.where(offenders, -1.0, num_offenders / num_others).astype(jnp.float32)
