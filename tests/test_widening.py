"""Narrower MLPs played as wider ones (`jaxplay.agents.widening`): the padded network computes
the same function, and what cannot widen is refused."""

import chex
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

import jaxplay
from jaxplay.agents import make_network, widening


def mlp_config(hidden, **overrides):
  config = ml_collections.ConfigDict(dict(kind="mlp", width=64, depth=2, heads=4, mlp_ratio=2,
                                          hidden=hidden, separate_critic=True, token_embed=0))
  config.update(overrides)
  return config


@pytest.mark.parametrize("num_games", [1, 2])
def test_a_padded_mlp_computes_what_the_narrow_one_did(num_games):
  """Observations of random play on cramped_room (the first layer reading only the features
  that change, as in training): the (16, 8) network padded to (40, 24) gives its logits and
  values, and its extra parameters are zero."""
  env = jaxplay.make("overcooked", layout="cramped_room", horizon=20)
  observation = jax.jit(lambda key: jax.lax.scan(
      lambda s, k: (jax.vmap(env.step)(s, jaxplay.random_legal_actions(
          k, s.legal_action_mask)),) * 2,
      jax.vmap(env.init)(jax.random.split(key, 4)), jax.random.split(key, 20))[1])(
          jax.random.key(0)).observation.reshape((-1,) + env.observation_shape)
  game = jnp.arange(len(observation)) % num_games
  narrow, wide = (make_network(mlp_config(h), 6, (20,) * num_games, env.fixed_features())
                  for h in [(16, 8), (40, 24)])
  init = lambda net, seed: jax.jit(net.init)(jax.random.key(seed), observation[:1], game[:1])
  params, wide_params = init(narrow, 1), init(wide, 2)
  padded = widening.pad(params, wide_params)
  chex.assert_trees_all_equal_shapes(padded, wide_params)
  block = lambda x: tuple(slice(0, n) for n in x.shape)     # the narrow leaf's own entries
  chex.assert_trees_all_equal(jax.tree.map(lambda p, x: p[block(x)], padded, params), params)
  extra = jax.tree.map(lambda p, x: p.at[block(x)].set(0), padded, params)
  chex.assert_trees_all_equal(extra, jax.tree.map(jnp.zeros_like, extra))
  chex.assert_trees_all_close(jax.jit(wide.apply)(padded, observation, game),
                              jax.jit(narrow.apply)(params, observation, game), atol=1e-6)


def test_only_narrower_mlps_widen():
  wide = mlp_config((64, 32))
  assert widening.widens(mlp_config((64, 32)), wide)
  assert widening.widens(mlp_config((16, 32)), wide)
  assert not widening.widens(wide, mlp_config((16, 32)))                 # narrower target
  assert not widening.widens(mlp_config((16,)), wide)                    # another depth
  assert not widening.widens(mlp_config((16, 16), separate_critic=False), wide)
  transformer = mlp_config((64, 32), kind="transformer")
  assert not widening.widens(mlp_config((16, 16), kind="transformer"), transformer)
  assert widening.widest([mlp_config((16, 16)), wide, mlp_config((64, 8))]) == 1
  assert widening.widest([mlp_config((16, 64)), wide]) is None             # widths that cross
  assert widening.widest([wide, mlp_config((64, 32), kind="transformer")]) is None


def test_pad_refuses_a_leaf_that_does_not_fit():
  with pytest.raises(ValueError, match=r"shape \(3, 4\) does not fit in \(2, 8\)"):
    widening.pad({"w": np.zeros((3, 4))}, {"w": jax.ShapeDtypeStruct((2, 8), jnp.float32)})
  with pytest.raises(ValueError, match=r"shape \(3,\) does not fit in \(3, 1\)"):
    widening.pad({"w": np.zeros(3)}, {"w": jax.ShapeDtypeStruct((3, 1), jnp.float32)})


def test_stacked_trees_pad_to_their_widest():
  a = {"w": jnp.ones((2, 3, 4)), "b": jnp.ones((2, 4))}
  b = {"w": jnp.ones((1, 5, 2)), "b": jnp.ones((1, 2))}
  pa, pb = widening.pad_stacked([a, b])
  chex.assert_shape([pa["w"], pa["b"], pb["w"], pb["b"]], [(2, 5, 4), (2, 4), (1, 5, 4),
                                                            (1, 4)])
  assert float(pa["w"].sum()) == 24.0 and float(pb["b"].sum()) == 2.0
