"""Policy-value networks: shapes, padding invariance of the transformer, config errors. (Networks
run jitted: op by op, each operation would be compiled on its own, which is slower.)"""

import functools

import chex
import jax
import jax.numpy as jnp
import ml_collections
import pytest

import jaxplay

from jaxplay.agents import MLP, Transformer, make_network
from jaxplay.agents.networks import Block


@pytest.fixture(scope="module")
def transformer():
  net = Transformer(num_actions=3, token_counts=(2, 4), width=16, depth=1, heads=2, mlp_ratio=2)
  observation = jax.random.randint(jax.random.key(0), (5, 4, 3), -3, 4).astype(jnp.int8)
  params = jax.jit(net.init)(jax.random.key(1), observation, jnp.zeros(5, jnp.int32))
  return jax.jit(net.apply), params, observation   # (compiled whole: op by op is slower)


def test_transformer_shapes(transformer):
  apply, params, observation = transformer
  logits, value = apply(params, observation, jnp.array([0, 1, 0, 1, 1]))
  chex.assert_shape(logits, (5, 3))
  chex.assert_shape(value, (5,))
  chex.assert_tree_all_finite((logits, value))


def test_transformer_masks_a_games_padding_tokens(transformer):
  apply, params, observation = transformer
  changed = observation.at[:, 2:].set(7)  # game 0 has 2 real tokens; game 1 has 4
  for game, same in ((0, True), (1, False)):
    games = jnp.full(5, game, jnp.int32)
    before, after = apply(params, observation, games), apply(params, changed, games)
    if same:
      chex.assert_trees_all_close(before, after, atol=1e-6)
    else:
      assert not jnp.allclose(before[0], after[0])


def test_game_embedding_distinguishes_games(transformer):
  apply, params, observation = transformer
  full = observation.at[:].set(1)
  zero, one = (apply(params, full, jnp.full(5, g, jnp.int32))[0] for g in (0, 1))
  assert not jnp.allclose(zero, one)


@pytest.mark.parametrize("separate_critic, token_embed", [(False, 0), (True, 0), (True, 3)])
def test_mlp_shapes(separate_critic, token_embed):
  net = MLP(num_actions=4, num_games=2, hidden=(8, 8), separate_critic=separate_critic,
            token_embed=token_embed)
  observation = jnp.ones((3, 5, 2), jnp.int8)
  params = jax.jit(net.init)(jax.random.key(0), observation, jnp.zeros(3, jnp.int32))
  logits, value = jax.jit(net.apply)(params, observation, jnp.array([0, 1, 1]))
  chex.assert_shape((logits, value), ((3, 4), (3,)))
  assert ("critic_0" in params["params"]) == separate_critic
  if token_embed:
    chex.assert_shape(params["params"]["token_embed"]["kernel"], (2, token_embed))


def test_last_block_computes_the_first_token_as_a_full_block_does():
  x = jax.random.normal(jax.random.key(0), (3, 5, 8))
  mask = jnp.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 1, 0, 0, 0]], bool)[:, None, None]
  params = jax.jit(Block(heads=2, mlp_ratio=2).init)(jax.random.key(1), x, mask)
  full = jax.jit(Block(heads=2, mlp_ratio=2).apply)(params, x, mask)
  first = jax.jit(Block(heads=2, mlp_ratio=2, first_only=True).apply)(params, x, mask)
  chex.assert_shape(first, (3, 1, 8))
  chex.assert_trees_all_close(first[:, 0], full[:, 0], atol=1e-5)


def network_config(**fields):
  config = ml_collections.ConfigDict(dict(kind="transformer", width=16, depth=1, heads=2,
                                          mlp_ratio=2, hidden=(8,), separate_critic=False,
                                          token_embed=0))
  config.update(fields)
  return config


@pytest.fixture(scope="module")
def overcooked_play():
  """(env, observations int8[480, 20, 24]) of random play on cramped_room."""
  env = jaxplay.make("overcooked", layout="cramped_room", horizon=50)
  states = jax.jit(lambda key: jax.lax.scan(
      lambda s, k: (jax.vmap(env.step)(s, jaxplay.random_legal_actions(
          k, s.legal_action_mask)),) * 2,
      jax.vmap(env.init)(jax.random.split(key, 4)), jax.random.split(key, 60))[1])(
          jax.random.key(0))
  return env, states.observation.reshape((-1,) + env.observation_shape)


@pytest.mark.parametrize("num_games", [1, 2])
def test_mlp_skipping_fixed_features_computes_the_same_function(overcooked_play, num_games):
  """Overcooked observations from random play: the MLP told which features never change
  has the same parameters and gives the same outputs as the plain MLP."""
  env, observation = overcooked_play
  game = jnp.arange(len(observation)) % num_games
  config = network_config(kind="mlp", hidden=(16, 8), separate_critic=True)
  plain = make_network(config, 6, (20,) * num_games)
  skipping = make_network(config, 6, (20,) * num_games, env.fixed_features())
  assert len(skipping.varying_columns) == 144 and not plain.varying_columns
  init = lambda net: jax.jit(net.init)(jax.random.key(1), observation[:1], game[:1])
  params = init(plain)
  chex.assert_trees_all_equal_structs(params, init(skipping))
  chex.assert_trees_all_equal(params, init(skipping))
  inputs = jax.jit(skipping.inputs)(observation)
  chex.assert_shape(inputs, (len(observation), 144))
  plain_outputs = jax.jit(plain.apply)(params, observation, game)
  from_inputs = jax.jit(functools.partial(skipping.apply, method="from_inputs"))
  chex.assert_trees_all_close(from_inputs(params, inputs, game), plain_outputs, atol=1e-5)
  chex.assert_trees_all_close(jax.jit(skipping.apply)(params, observation, game),
                              plain_outputs, atol=1e-5)
  loss = lambda net, x: lambda p: sum(jnp.sum(jnp.tanh(y)) for y in net.apply(p, x, game))
  chex.assert_trees_all_close(jax.jit(jax.grad(loss(skipping, observation)))(params),
                              jax.jit(jax.grad(loss(plain, observation)))(params), atol=1e-4)
