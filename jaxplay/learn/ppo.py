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
    inputs: [N, ...] the network's inputs of each sample's observation (`from_inputs`);
    legal: bool[N, A]; game: int32[N]; action: int32[N].
    member: int32[N] the population member that acted (0 in self-play).
    log_prob: float32[N] the behaviour policy's log-probability of `action`.
    logits: float32[N, A] the behaviour policy's masked logits.
    magnet_logits: float32[N, A] the magnet policy's masked logits (zeros without a magnet).
    advantage, target, old_value: float32[N] advantage, value target, behaviour value.
    policy_weight, value_weight: float32[N] in {0, 1}.
  """

  inputs: jax.Array
  legal: jax.Array
  game: jax.Array
  action: jax.Array
  member: jax.Array
  log_prob: jax.Array
  logits: jax.Array
  magnet_logits: jax.Array
  advantage: jax.Array
  target: jax.Array
  old_value: jax.Array
  policy_weight: jax.Array
  value_weight: jax.Array


Coefficient = float | tuple[float, ...]


@struct.dataclass
class LossConfig:
  """The loss's settings. `clip_eps`, `normalize_advantages`, `kl_coef` and `magnet_coef`
  are one value for every sample or a tuple with one per game (indexed by `Batch.game`), so
  that one network can learn zero-sum games with the magnetic recipe and cooperative ones
  with plain PPO in one update. `clip_eps`, `value_coef`, `kl_coef` and `magnet_coef` may
  also be traced arrays ([] or [G]; a sweep's vmapped runs, `jaxplay.learn.hyperparams`):
  a traced `kl_coef` or `magnet_coef` counts as in use (`uses`)."""

  clip_eps: Coefficient = struct.field(pytree_node=False, default=0.2)
  value_coef: float = struct.field(pytree_node=False, default=0.5)
  clip_value: bool = struct.field(pytree_node=False, default=True)
  normalize_advantages: bool | tuple[bool, ...] = struct.field(pytree_node=False, default=True)
  kl_coef: Coefficient = struct.field(pytree_node=False, default=0.0)
  magnet_coef: Coefficient = struct.field(pytree_node=False, default=0.0)


def weighted_mean(x: jax.Array, weight: jax.Array) -> jax.Array:
  return (x * weight).sum() / jnp.maximum(weight.sum(), 1e-8)


def per_sample(value, game: jax.Array) -> jax.Array:
  """float32[N]: a setting for each sample, from one value or one per game (a tuple, or a
  traced float32[G])."""
  if isinstance(value, tuple) or jnp.ndim(value):
    return jnp.asarray(value, jnp.float32)[game]
  return jnp.full(game.shape, value, jnp.float32)


def uses(value) -> bool:
  """Whether a setting (one value or one per game) is nonzero for some game; a traced one
  (an array) always counts (runs traced together agree on which are zero)."""
  if isinstance(value, jax.Array):
    return True
  return any(value) if isinstance(value, tuple) else bool(value)


def _by_game(value: jax.Array | float, game: jax.Array) -> jax.Array:
  """A scheduled setting for each sample: one value, or float32[G] indexed by the game."""
  value = jnp.asarray(value, jnp.float32)
  return value[game] if value.ndim else value


def normalized_advantages(advantage: jax.Array, weight: jax.Array, game: jax.Array,
                          normalize) -> jax.Array:
  """Advantages standardized (weighted mean 0, std 1) within each game's samples, for the
  games whose `normalize` (one bool or one per game) is set; the others unchanged."""
  flags = normalize if isinstance(normalize, tuple) else (normalize,)
  out = advantage
  for g, flag in enumerate(flags):
    if not flag:
      continue
    mine = weight * (game == g) if isinstance(normalize, tuple) else weight
    mean = weighted_mean(advantage, mine)
    std = jnp.sqrt(weighted_mean((advantage - mean) ** 2, mine))
    out = jnp.where(mine > 0, (advantage - mean) / (std + 1e-8), out)
  return out


def ppo_loss(params: Any, apply_fn: Callable, batch: Batch, config: LossConfig,
             entropy_coef: jax.Array | float, magnet_fraction: jax.Array | float = 1.0
             ) -> tuple[jax.Array, dict[str, jax.Array]]:
  """(total loss, metrics) of one minibatch; see the module docstring. `apply_fn(params,
  inputs, game)` runs the network on `batch.inputs`; `entropy_coef` and `magnet_fraction`
  (the scheduled fraction of `config.magnet_coef` in force) are one value or float32[G], one
  per game."""
  logits, value = apply_fn(params, batch.inputs, batch.game)
  policy = masked_policy(logits, batch.legal)
  log_prob = policy.log_prob(batch.action)
  ratio = jnp.exp(log_prob - batch.log_prob)
  advantage = batch.advantage
  if uses(config.normalize_advantages):
    advantage = normalized_advantages(advantage, batch.policy_weight, batch.game,
                                      config.normalize_advantages)
  clip_eps = per_sample(config.clip_eps, batch.game)
  clipped_ratio = jnp.clip(ratio, 1.0 - clip_eps, 1.0 + clip_eps)
  surrogate = jnp.minimum(ratio * advantage, clipped_ratio * advantage)
  policy_loss = -weighted_mean(surrogate, batch.policy_weight)

  value_error = (value - batch.target) ** 2
  if config.clip_value:
    clipped = batch.old_value + jnp.clip(value - batch.old_value, -clip_eps, clip_eps)
    value_error = jnp.maximum(value_error, (clipped - batch.target) ** 2)
  value_loss = 0.5 * weighted_mean(value_error, batch.value_weight)

  log_pi = jax.nn.log_softmax(masked_logits(logits, batch.legal))
  log_old = jax.nn.log_softmax(batch.logits)
  entropies = policy.entropy()
  entropy = weighted_mean(entropies, batch.policy_weight)
  entropy_coef = _by_game(entropy_coef, batch.game)
  kl_old_each = categorical_kl(log_old, log_pi)
  kl_old = weighted_mean(kl_old_each, batch.policy_weight)
  loss = (policy_loss + config.value_coef * value_loss
          - weighted_mean(entropy_coef * entropies, batch.policy_weight))
  metrics = dict(policy_loss=policy_loss, value_loss=value_loss, entropy=entropy, kl=kl_old)
  if uses(config.kl_coef):
    loss = loss + weighted_mean(per_sample(config.kl_coef, batch.game) * kl_old_each,
                                batch.policy_weight)
  if uses(config.magnet_coef):
    log_magnet = jax.nn.log_softmax(batch.magnet_logits)
    magnet_kl_each = categorical_kl(log_pi, log_magnet)
    magnet_coef = (per_sample(config.magnet_coef, batch.game)
                   * _by_game(magnet_fraction, batch.game))
    loss = loss + weighted_mean(magnet_coef * magnet_kl_each, batch.policy_weight)
    metrics["magnet_kl"] = weighted_mean(magnet_kl_each, batch.policy_weight)
  metrics.update(
      loss=loss,
      clip_fraction=weighted_mean((jnp.abs(ratio - 1.0) > clip_eps).astype(jnp.float32),
                                  batch.policy_weight),
      explained_variance=1.0 - weighted_mean((batch.target - value) ** 2, batch.value_weight)
      / jnp.maximum(weighted_mean((batch.target - weighted_mean(batch.target,
                                                                batch.value_weight)) ** 2,
                                  batch.value_weight), 1e-8))
  return loss, metrics
