"""MEP's population-entropy reward (Zhao et al. 2023, "Maximum Entropy Population-Based
Training for Zero-Shot Human-AI Coordination"): a population of L self-play learners, each
rewarded at every decision it makes by

    bonus = -alpha * log pibar(a | s),    pibar(. | s) = (1 / L) sum_l pi_l(. | s),

the log-probability of its action under the population's mean policy. Over the acting
learner's own actions its expectation is the cross-entropy of its policy to the mean one: it
grows where the learner acts unlike the others (diversity between the learners: different
conventions) and where it is unsure (each one's own entropy), the lower bound of the
population entropy H(pibar) that MEP maximizes.

    bonus = population_entropy.reward_bonus(model, learners_params, alpha, num_players)
    traj = traj.replace(reward=traj.reward + bonus(traj, game))   # before the advantages

(`Learner.collect(reward_bonus=...)` does that; `Population(population_entropy=alpha)` builds it.)
alpha may be switched on later in a run (`weight_at`): where the learners have yet to learn
the task at all (counter_circuit), a bonus from the start can keep them from ever learning it.
"""

from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp

from jaxplay.agents.policy import masked_logits
from jaxplay.core.errors import ConfigError
from jaxplay.learn import side_by_side
from jaxplay.learn.rollout import Model


def mean_policy_log_prob(model: Model, params: Any, inputs: jax.Array, legal: jax.Array,
                         action: jax.Array, game: int, mode: str = "auto") -> jax.Array:
  """log pibar(a | s), pibar the mean of L policies, for samples [...].

  Args:
    model: the network; params: its L parameter sets stacked [L, ...].
    inputs: [..., *] the network's inputs (`Model.inputs`); legal: bool[..., A] the legal
      actions; action: int32[...] the actions taken; game: the game's index.
    mode: how the L networks run (`side_by_side.MODES`).

  Returns:
    float32[...]: log of the L policies' mean probability of each action (computed as a
    log-sum-exp of their log-probabilities).
  """
  lead = action.shape
  flat_inputs = inputs.reshape((-1,) + inputs.shape[len(lead):])
  flat_legal, flat_action = legal.reshape(-1, legal.shape[-1]), action.reshape(-1)
  games = jnp.full(flat_action.shape, game, jnp.int32)

  def log_prob(one_params):  # [N]: one network's log pi(a | s)
    logits, _ = model.apply(one_params, flat_inputs, games)
    log_probs = jax.nn.log_softmax(masked_logits(logits, flat_legal))
    return jnp.take_along_axis(log_probs, flat_action[:, None], axis=-1)[:, 0]

  per_learner = side_by_side.over_leading_axis(log_prob, mode)(params)     # [L, N]
  num_learners = per_learner.shape[0]
  return (jax.nn.logsumexp(per_learner, axis=0) - jnp.log(num_learners)).reshape(lead)


def seat_rewards(per_actor: jax.Array, seat: jax.Array, acted: jax.Array,
                 num_players: int) -> jax.Array:
  """Each actor slot's value [T, B, K] added up into its seat's reward float32[T, B, P]
  (only where the slot acted)."""
  per_actor = jnp.where(acted, per_actor, 0.0)
  return jnp.sum(per_actor[..., None] * jax.nn.one_hot(seat, num_players), axis=-2)


def reward_bonus(model: Model, params: Any, alpha: float | jax.Array, num_players: int,
                 mode: str = "auto") -> Callable[[Any, int], jax.Array]:
  """`(trajectory, game) -> float32[T, B, P]`: every seat's bonus -alpha log pibar(a | s) of
  each step (`rollout.Trajectory` [T, B, K]; pibar the mean policy of `params` [L, ...])."""
  def bonus(traj, game: int) -> jax.Array:
    log_pbar = mean_policy_log_prob(model, params, traj.inputs, traj.legal, traj.action,
                                    game, mode)
    return seat_rewards(-alpha * log_pbar, traj.seat, traj.acted, num_players)
  return bonus


def check_ramp(where: str, ramp: Any) -> tuple[int, int]:
  """(start, end) if `ramp` is two ints with 0 <= start <= end (env steps); otherwise
  ConfigError naming `where`."""
  ok = (isinstance(ramp, (tuple, list)) and len(ramp) == 2
        and all(isinstance(x, int) and not isinstance(x, bool) for x in ramp)
        and 0 <= ramp[0] <= ramp[1])
  if not ok:
    raise ConfigError(f"{where} must be two ints (start, end) of env steps with 0 <= start <= "
                      f"end, got {ramp!r}")
  return int(ramp[0]), int(ramp[1])


def weight_at(alpha: float, ramp: tuple[int, int], env_steps: jax.Array) -> jax.Array:
  """float32[]: the alpha in force after `env_steps` of a learner's env steps: 0 before the
  ramp's start, rising linearly to `alpha` at its end, `alpha` from then on ((0, 0): `alpha`
  throughout; (s, s): switched on at s)."""
  start, end = ramp
  env_steps = jnp.asarray(env_steps, jnp.float32)
  rise = jnp.clip((env_steps - start) / max(end - start, 1), 0.0, 1.0)
  return alpha * jnp.where(env_steps >= end, 1.0, rise)
