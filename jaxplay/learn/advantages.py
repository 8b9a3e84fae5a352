"""Advantage estimators over each seat's own decisions (pure functions, time-major).

Shapes: T steps, B games, K actor slots (the seats that act at a step: 1 in a turn-based game,
P in a simultaneous one), P seats. `done[t]`: step t ended the game, so nothing after it belongs
to the same game.

A seat's decisions form a chain: from one of its decisions to its next, it collects the rewards
of every step in between (its opponents' moves included) and the discount of every step.
`seat_gae` is generalized advantage estimation (Schulman et al. 2016) along these chains: with
K = P and every seat acting every step it is the usual per-agent GAE; in a turn-based game it
skips the opponents' turns instead of asking the critic about states the seat does not act in.

RAE (role-conditioned advantage estimation, SPIRAL, Liu et al. 2025): A = G - b[game, role],
with G the Monte-Carlo return of the seat from its decision to the end of the game and b an
exponential moving average of the role's returns, b <- alpha b + (1 - alpha) R. Here one step
of the average is taken per batch, with R the mean of the role's complete returns in the batch
(`update_role_baseline`).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

Array = jax.Array


def seat_gae(reward: Array, done: Array, seat: Array, acted: Array, value: Array,
             bootstrap: Array, last_value: Array, last_decides: Array, gamma: float,
             lam: float) -> tuple[Array, Array, Array]:
  """GAE along each seat's chain of decisions.

  Args:
    reward: [T, B, P] every seat's reward of each step.
    done: bool[T, B] the step ended the game.
    seat: int32[T, B, K] the seat of each actor slot; acted: bool[T, B, K] it acted.
    value: [T, B, K] the actors' value estimates.
    bootstrap: [T, B, P] where a game ended by a time limit, the value of each seat's
      observation there (0 where the game ended by its rules).
    last_value: [B, P] each seat's value after the last step; last_decides: bool[B, P] whether
      the seat acts there (only then is its value a bootstrap target).
    gamma: discount per step; lam: GAE's lambda, per decision.

  Returns:
    (advantage [T, B, K], value target [T, B, K], valid bool[T, B, K]: the actor acted and
    its chain reaches the end of its game or a bootstrap value within the rollout).
  """
  num_players = reward.shape[-1]
  zeros = jnp.zeros_like(last_value)
  carry = dict(value=jnp.where(last_decides, last_value, 0.0), advantage=zeros, reward=zeros,
               discount=jnp.ones_like(last_value), complete=last_decides)

  def backward(carry, inputs):
    r, d, s, a, v, boot = inputs
    ended = d[:, None]
    carry = dict(  # a game ended at this step: its future is a fresh chain (or a bootstrap)
        value=jnp.where(ended, boot, carry["value"]),
        advantage=jnp.where(ended, 0.0, carry["advantage"]),
        reward=jnp.where(ended, 0.0, carry["reward"]) * gamma + r,
        discount=jnp.where(ended, 1.0, carry["discount"]) * gamma,
        complete=carry["complete"] | ended)
    mine = (s[..., None] == jnp.arange(num_players)) & a[..., None]     # [B, K, P]
    gather = lambda x: jnp.einsum("bkp,bp->bk", mine.astype(x.dtype), x)
    delta = gather(carry["reward"]) + gather(carry["discount"]) * gather(carry["value"]) - v
    advantage = delta + lam * gather(carry["discount"]) * gather(carry["advantage"])
    valid = a & (jnp.einsum("bkp,bp->bk", mine.astype(jnp.int32),
                            carry["complete"].astype(jnp.int32)) > 0)
    decided = mine.any(1)                                                # [B, P]
    scatter = lambda x: jnp.einsum("bkp,bk->bp", mine.astype(x.dtype), x)
    carry = dict(value=jnp.where(decided, scatter(v), carry["value"]),
                 advantage=jnp.where(decided, scatter(advantage), carry["advantage"]),
                 reward=jnp.where(decided, 0.0, carry["reward"]),
                 discount=jnp.where(decided, 1.0, carry["discount"]),
                 complete=carry["complete"])
    return carry, (advantage, valid)

  _, (advantage, valid) = jax.lax.scan(
      backward, carry, (reward, done, seat, acted, value, bootstrap), reverse=True)
  return advantage, advantage + value, valid


def monte_carlo_returns(reward: Array, done: Array, seat: Array, acted: Array,
                        gamma: float = 1.0) -> tuple[Array, Array]:
  """(G [T, B, K]: each actor's discounted return from its decision to the end of its game,
  complete bool[T, B, K]: the game ended within the rollout, so G is a whole return)."""
  zeros = jnp.zeros(seat.shape, reward.dtype)
  no_bootstrap = jnp.zeros(reward.shape[1:], reward.dtype)
  returns, _, complete = seat_gae(
      reward, done, seat, acted, zeros, jnp.zeros_like(reward), no_bootstrap,
      jnp.zeros(no_bootstrap.shape, bool), gamma, 1.0)
  return returns, complete


def rae_advantages(returns: Array, complete: Array, seat: Array, baseline: Array) -> Array:
  """[T, B, K]: each actor's return minus its role's baseline (baseline [P]); zero where the
  return is incomplete."""
  b = jax.lax.stop_gradient(baseline)[seat]
  return jnp.where(complete, returns - b, 0.0)


def update_role_baseline(baseline: Array, returns: Array, complete: Array, seat: Array,
                         alpha: float, total=lambda x: x) -> Array:
  """[P]: b <- alpha b + (1 - alpha) R per role, R the mean of the role's complete returns in
  the batch (returns [T, B, K], complete bool[T, B, K], seat int32[T, B, K]); unchanged for a
  role without any. With rewards only at the end of a game and no discount, as in SPIRAL's
  games, R is the mean final reward of the role. `total`: sums a value over the batch's
  pieces on other devices (`jaxplay.parallel.Shards.total`), so that R is the whole batch's."""
  num_players = baseline.shape[0]
  weight = ((seat[..., None] == jnp.arange(num_players)) & complete[..., None]).astype(
      returns.dtype)                                                     # [T, B, K, P]
  count = total(weight.sum(axis=(0, 1, 2)))
  mean = total((returns[..., None] * weight).sum(axis=(0, 1, 2))) / jnp.maximum(count, 1.0)
  return jnp.where(count > 0, alpha * baseline + (1.0 - alpha) * mean, baseline)
