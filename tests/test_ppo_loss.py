"""The PPO loss on hand-computed examples: clipping on both sides, the clipped value loss,
entropy, the proximal KL and the magnet KL; masked policies."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxplay.agents import policy as policy_lib
from jaxplay.learn.ppo import Batch, LossConfig, normalized_advantages, ppo_loss

LN2 = np.log(2.0)


def fixed_apply(params, observation, game):
  """A 'network' whose outputs are its parameters: logits [N, A] and values [N]."""
  del observation, game
  return params["logits"], params["value"]


def batch(**overrides) -> Batch:
  n = 2
  fields = dict(
      inputs=jnp.zeros((n, 1, 1), jnp.int8), legal=jnp.ones((n, 2), bool),
      game=jnp.zeros(n, jnp.int32), action=jnp.array([0, 1]), member=jnp.zeros(n, jnp.int32),
      log_prob=jnp.log(jnp.array([0.25, 0.75])), logits=jnp.log(jnp.array([[0.25, 0.75]] * 2)),
      magnet_logits=jnp.zeros((n, 2)), advantage=jnp.array([1.0, -2.0]),
      target=jnp.array([1.0, 0.0]), old_value=jnp.array([0.0, 0.5]),
      policy_weight=jnp.ones(n), value_weight=jnp.ones(n))
  fields.update(overrides)
  return Batch(**fields)


# The new policy is uniform over the two actions and the values are [0.5, 0.0].
PARAMS = {"logits": jnp.zeros((2, 2)), "value": jnp.array([0.5, 0.0])}
PLAIN = LossConfig(clip_eps=0.2, value_coef=0.0, clip_value=False, normalize_advantages=False)


def test_clipped_surrogate_by_hand():
  loss, metrics = ppo_loss(PARAMS, fixed_apply, batch(), PLAIN, entropy_coef=0.0)
  # Sample 0: ratio 0.5 / 0.25 = 2, advantage +1: clipped to 1.2 -> 1.2.
  # Sample 1: ratio 0.5 / 0.75 = 2/3, advantage -2: min(-4/3, 0.8 * -2) = -1.6.
  np.testing.assert_allclose(loss, -(1.2 - 1.6) / 2, rtol=1e-6)
  np.testing.assert_allclose(metrics["clip_fraction"], 1.0)


def test_value_loss_clipped_and_unclipped():
  config = PLAIN.replace(value_coef=1.0)
  loss, metrics = ppo_loss(PARAMS, fixed_apply, batch(advantage=jnp.zeros(2)), config, 0.0)
  # Errors: (0.5 - 1)^2 = 0.25 and (0 - 0)^2 = 0: 0.5 * mean = 0.0625.
  np.testing.assert_allclose(metrics["value_loss"], 0.0625, rtol=1e-6)
  np.testing.assert_allclose(loss, 0.0625, rtol=1e-6)
  _, metrics = ppo_loss(PARAMS, fixed_apply, batch(advantage=jnp.zeros(2)),
                        config.replace(clip_value=True), 0.0)
  # Clipped values: 0 + clip(0.5, +-0.2) = 0.2 -> (0.2 - 1)^2 = 0.64 > 0.25;
  # 0.5 + clip(-0.5) = 0.3 -> 0.09 > 0. So 0.5 * (0.64 + 0.09) / 2.
  np.testing.assert_allclose(metrics["value_loss"], 0.5 * (0.64 + 0.09) / 2, rtol=1e-6)


def test_entropy_and_kl_terms():
  config = PLAIN.replace(kl_coef=2.0, magnet_coef=3.0)
  zero_advantage = batch(advantage=jnp.zeros(2), magnet_logits=jnp.log(jnp.array([[0.9, 0.1]] * 2)))
  loss, metrics = ppo_loss(PARAMS, fixed_apply, zero_advantage, config, entropy_coef=0.5)
  kl_old = 0.25 * np.log(0.25 / 0.5) + 0.75 * np.log(0.75 / 0.5)      # KL(old || uniform)
  kl_magnet = 0.5 * np.log(0.5 / 0.9) + 0.5 * np.log(0.5 / 0.1)       # KL(uniform || magnet)
  np.testing.assert_allclose(metrics["entropy"], LN2, rtol=1e-6)
  np.testing.assert_allclose(metrics["kl"], kl_old, rtol=1e-5)
  np.testing.assert_allclose(metrics["magnet_kl"], kl_magnet, rtol=1e-5)
  np.testing.assert_allclose(loss, -0.5 * LN2 + 2.0 * kl_old + 3.0 * kl_magnet, rtol=1e-5)


def test_weights_select_samples_and_advantages_normalize():
  only_first = batch(policy_weight=jnp.array([1.0, 0.0]))
  loss, _ = ppo_loss(PARAMS, fixed_apply, only_first, PLAIN, 0.0)
  np.testing.assert_allclose(loss, -1.2, rtol=1e-6)
  normalized = PLAIN.replace(normalize_advantages=True, clip_eps=100.0)
  loss, _ = ppo_loss(PARAMS, fixed_apply, batch(), normalized, 0.0)
  # Advantages [1, -2] normalize to [1, -1]; unclipped ratios 2 and 2/3.
  np.testing.assert_allclose(loss, -(2.0 - 2.0 / 3.0) / 2, rtol=1e-5)


def test_gradient_of_the_surrogate_moves_towards_the_advantage():
  grads, _ = jax.grad(ppo_loss, has_aux=True)(
      PARAMS, fixed_apply, batch(advantage=jnp.array([1.0, 1.0]), action=jnp.array([0, 0])),
      PLAIN.replace(clip_eps=100.0), 0.0)
  assert (grads["logits"][:, 0] < 0).all() and (grads["logits"][:, 1] > 0).all()


def test_masked_policy_gives_illegal_actions_no_mass():
  logits = jnp.array([[3.0, 1.0, 2.0]])
  legal = jnp.array([[True, False, True]])
  pi = policy_lib.masked_policy(logits, legal)
  probs = policy_lib.masked_probs(logits, legal)
  assert probs[0, 1] == 0.0
  chex.assert_trees_all_close(probs[0], jnp.array([np.e / (np.e + 1), 0.0, 1 / (np.e + 1)]),
                              rtol=1e-6)
  chex.assert_trees_all_close(jnp.exp(pi.log_prob(jnp.array([0]))), probs[:, 0], rtol=1e-6)
  assert np.isfinite(pi.entropy()).all()
  samples = pi.sample(seed=jax.random.key(0), sample_shape=(200,))
  assert not (samples == 1).any()


@pytest.mark.parametrize("p, q", [([0.5, 0.5, 0.0], [0.25, 0.25, 0.5]), ([1.0, 0.0, 0.0],
                                                                         [0.5, 0.25, 0.25])])
def test_categorical_kl(p, q):
  p, q = np.array(p), np.array(q)
  expected = sum(a * np.log(a / b) for a, b in zip(p, q) if a > 0)
  log_p = jnp.log(jnp.asarray(p))
  np.testing.assert_allclose(policy_lib.categorical_kl(log_p, jnp.log(jnp.asarray(q))),
                             expected, rtol=1e-6)


def test_per_game_settings_apply_to_their_games_samples():
  """Sample 0 is game 0, sample 1 game 1; a per-game tuple sets each sample's term."""
  two_games = batch(game=jnp.array([0, 1]), advantage=jnp.zeros(2),
                    magnet_logits=jnp.log(jnp.array([[0.9, 0.1]] * 2)))
  config = PLAIN.replace(kl_coef=(2.0, 0.0), magnet_coef=(0.0, 3.0))
  loss, _ = ppo_loss(PARAMS, fixed_apply, two_games, config, entropy_coef=jnp.array([0.5, 0.0]))
  kl_old_0 = 0.25 * np.log(0.25 / 0.5) + 0.75 * np.log(0.75 / 0.5)     # sample 0's old policy
  kl_magnet = 0.5 * np.log(0.5 / 0.9) + 0.5 * np.log(0.5 / 0.1)
  np.testing.assert_allclose(loss, (-0.5 * LN2 + 2.0 * kl_old_0 + 3.0 * kl_magnet) / 2,
                             rtol=1e-5)
  # The magnet's schedule: game 1's coefficient at a quarter of its value.
  loss, _ = ppo_loss(PARAMS, fixed_apply, two_games, config, jnp.array([0.5, 0.0]),
                     magnet_fraction=jnp.array([1.0, 0.25]))
  np.testing.assert_allclose(loss, (-0.5 * LN2 + 2.0 * kl_old_0 + 0.75 * kl_magnet) / 2,
                             rtol=1e-5)
  # Per-game clipping: game 0 clips at 0.2 (ratio 2 -> 1.2), game 1 never (ratio 2/3).
  loss, _ = ppo_loss(PARAMS, fixed_apply, batch(game=jnp.array([0, 1])),
                     PLAIN.replace(clip_eps=(0.2, 100.0)), 0.0)
  np.testing.assert_allclose(loss, -(1.2 - 2.0 * 2.0 / 3.0) / 2, rtol=1e-5)


def test_advantages_normalize_within_each_game():
  advantage = jnp.array([1.0, 3.0, 5.0, -2.0, 7.0])
  game = jnp.array([0, 0, 1, 0, 1])
  out = normalized_advantages(advantage, jnp.ones(5), game, (True, False))
  mine = np.asarray(out)[[0, 1, 3]]
  np.testing.assert_allclose([mine.mean(), mine.std()], [0.0, 1.0], atol=1e-5)
  np.testing.assert_array_equal(np.asarray(out)[[2, 4]], [5.0, 7.0])
