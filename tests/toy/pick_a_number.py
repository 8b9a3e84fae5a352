"""Pick a number: player 0 picks 0..3 and wins that many thirds of a chip from player 1.

A game of its own, registered from outside jaxplay, that declares its own evaluator (the exact
expected payoff of the policy) and headline metric. Importing this module registers it.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct

from jaxplay.core import env as env_lib
from jaxplay.core.registry import register, registered_games

NUM_CHOICES = 4


@struct.dataclass
class PickState(env_lib.State):
  choice: jax.Array  # int32[] the number picked, -1 before


class ExpectedPayoff:
  """The evaluator the game declares: player 0's expected payoff under the policy, exactly
  (one decision, so the policy's probabilities at the first state say everything)."""

  def __init__(self, env, probs_fn, *, num_games: int, greedy: bool):
    del num_games, greedy
    self.env, self.probs_fn = env, jax.jit(probs_fn)

  def __call__(self, params, key):
    del key
    state = self.env.init_from(jnp.zeros((0,), jnp.int32))
    probs = self.probs_fn(params, state.observation[:1], state.legal_action_mask[:1])[0]
    return {"expected_payoff": float(probs @ (jnp.arange(NUM_CHOICES) / 3.0)),
            "best_choice_prob": float(probs[-1])}


class PickANumber(env_lib.Env):
  name = "pick_a_number"
  num_players = 2
  num_actions = NUM_CHOICES
  observation_shape = (1, 2)
  evaluator = staticmethod(ExpectedPayoff)
  headline_metrics = ("expected_payoff",)
  max_episode_steps = 1

  def _init_from(self, chance) -> PickState:
    del chance
    return PickState(current_player=jnp.int32(0), choice=jnp.int32(-1), **self.fresh_fields())

  def _step(self, state: PickState, action, key) -> PickState:
    del key
    choice = action[0]
    payoff = jnp.array([1.0, -1.0]) * choice / 3.0
    return state.replace(choice=choice,
                         **env_lib.turn_fields(jnp.int32(1), jnp.bool_(True), payoff))

  def _legal_action_mask(self, state: PickState):
    return env_lib.turn_mask(state.current_player, jnp.ones(NUM_CHOICES, bool), 2)

  def _observe(self, state: PickState):
    return (jnp.arange(2)[:, None, None] == jnp.arange(2)).astype(env_lib.OBSERVATION_DTYPE)


if PickANumber.name not in registered_games():
  register(PickANumber.name, PickANumber)
