"""The PPO loss (Schulman et al. 2017) with the regularizers self-play in games needs.

    loss = - clipped surrogate                       (PPO's policy objective)
           + value_coef * value error                (optionally clipped around the old value)
           - entropy_coef * entropy
           + kl_coef * KL(pi_old || pi)              (a proximal term: with several epochs the
                                                      update approximates a mirror-descent step)
           + magnet_coef * KL(pi || pi_magnet)       (magnetic mirror descent, Sokota et al.
                                                      2023, with the magnet an exponential
                                                      moving average of the parameters)

Without the magnet, policy-gradient self-play in a zero-sum game with hidden information cycles
around the equilibrium instead of converging to it; pulling every update towards a slowly
moving average of the past policies damps the cycle (see BUILD_NOTES.md for Kuhn poker).

Samples are weighted: `policy_weight` marks the actors whose advantage is defined, and
`value_weight` those whose value target is; all means are weighted means.
"""

from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp
from flax import struct

from jaxplay.agents.policy import categorical_kl, masked_logits, masked_policy


@struct.dataclass
class Batch:
  """N samples.

  Attributes:
    observation: int8[N, L, F]; legal: bool[N, A]; game: int32[N]; action: int32[N].
    log_prob: float32[N] the behaviour policy's log-probability of `action`.
    logits: float32[N, A] the behaviour policy's masked logits.
    magnet_logits: float32[N, A] the magnet policy's masked logits (zeros without a magnet).
    advantage, target, old_value: float32[N] advantage, value target, behaviour value.
    policy_weight, value_weight: float32[N] in {0, 1}.
  """

  observation: jax.Array
  legal: jax.Array
  game: jax.Array
  action: jax.Array
  log_prob: jax.Array
  logits: jax.Array
  magnet_logits: jax.Array
  advantage: jax.Array
  target: jax.Array
  old_value: jax.Array
  policy_weight: jax.Array
  value_weight: jax.Array


@struct.dataclass
class LossConfig:
  clip_eps: float = 0.2
  value_coef: float = 0.5
  clip_value: bool = True
  normalize_advantages: bool = True
  kl_coef: float = 0.0
  magnet_coef: float = 0.0


def weighted_mean(x: jax.Array, weight: jax.Array) -> jax.Array:
  return (x * weight).sum() / jnp.maximum(weight.sum(), 1e-8)


def ppo_loss(params: Any, apply_fn: Callable, batch: Batch, config: LossConfig,
             entropy_coef: jax.Array | float) -> tuple[jax.Array, dict[str, jax.Array]]:
  """(total loss, metrics) of one minibatch; see the module docstring."""
  logits, value = apply_fn(params, batch.observation, batch.game)
  policy = masked_policy(logits, batch.legal)
  log_prob = policy.log_prob(batch.action)
  ratio = jnp.exp(log_prob - batch.log_prob)
  advantage = batch.advantage
  if config.normalize_advantages:
    mean = weighted_mean(advantage, batch.policy_weight)
    std = jnp.sqrt(weighted_mean((advantage - mean) ** 2, batch.policy_weight))
    advantage = (advantage - mean) / (std + 1e-8)
  clipped_ratio = jnp.clip(ratio, 1.0 - config.clip_eps, 1.0 + config.clip_eps)
  surrogate = jnp.minimum(ratio * advantage, clipped_ratio * advantage)
  policy_loss = -weighted_mean(surrogate, batch.policy_weight)

  value_error = (value - batch.target) ** 2
  if config.clip_value:
    clipped = batch.old_value + jnp.clip(value - batch.old_value, -config.clip_eps,
                                         config.clip_eps)
    value_error = jnp.maximum(value_error, (clipped - batch.target) ** 2)
  value_loss = 0.5 * weighted_mean(value_error, batch.value_weight)

  log_pi = jax.nn.log_softmax(masked_logits(logits, batch.legal))
  log_old = jax.nn.log_softmax(batch.logits)
  entropy = weighted_mean(policy.entropy(), batch.policy_weight)
  kl_old = weighted_mean(categorical_kl(log_old, log_pi), batch.policy_weight)
  loss = policy_loss + config.value_coef * value_loss - entropy_coef * entropy
  metrics = dict(policy_loss=policy_loss, value_loss=value_loss, entropy=entropy, kl=kl_old)
  if config.kl_coef:
    loss = loss + config.kl_coef * kl_old
  if config.magnet_coef:
    log_magnet = jax.nn.log_softmax(batch.magnet_logits)
    magnet_kl = weighted_mean(categorical_kl(log_pi, log_magnet), batch.policy_weight)
    loss = loss + config.magnet_coef * magnet_kl
    metrics["magnet_kl"] = magnet_kl
  metrics.update(
      loss=loss,
      clip_fraction=weighted_mean((jnp.abs(ratio - 1.0) > config.clip_eps).astype(jnp.float32),
                                  batch.policy_weight),
      explained_variance=1.0 - weighted_mean((batch.target - value) ** 2, batch.value_weight)
      / jnp.maximum(weighted_mean((batch.target - weighted_mean(batch.target,
                                                                batch.value_weight)) ** 2,
                                  batch.value_weight), 1e-8))
  return loss, metrics
