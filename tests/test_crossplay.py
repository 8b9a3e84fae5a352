"""Cross-play (jaxplay.eval.crossplay): the population agent acts as the policy agents of its
members, cross-play of a network with itself is its self-play, a scripted partner's games are
those `play` gives directly (also in chunks), a partner with itself (`partner_self_play`),
shapes and seat pooling, a partner's column does not depend on the other partners, standard
errors, normalizing, bad inputs, the table and the heatmap."""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from PIL import Image

from experiments.configs.overcooked import get_config
from jaxplay.agents import scripted
from jaxplay.agents.agent import policy_agent
from jaxplay.core.errors import ConfigError
from jaxplay.eval import crossplay
from jaxplay.eval.play import play
from jaxplay.eval.policy_eval import selfplay
from jaxplay.learn.learner import Learner

G, T = 4, 60          # games a pair, steps a game (cramped_room; the horizon is 400)


def _stack(*trees):
  return jax.tree.map(lambda *x: jnp.stack(x), *trees)


def _seats(num_pairs: int) -> np.ndarray:
  """int32[Q * G, 2] the play agent in each seat: the network (0) in seat 0 in the first half
  of a pair's games, in seat 1 in the second; the partner (1) in the other seat."""
  first = (np.arange(G) >= G // 2).astype(np.int32)
  return np.tile(np.stack([first, 1 - first], -1), (num_pairs, 1))


@pytest.fixture(scope="module")
def learner():
  config = get_config()
  config.ppo.num_envs = 2
  return Learner(config)


@pytest.fixture(scope="module")
def env(learner):
  return learner.games.raw[0]


@pytest.fixture(scope="module")
def policy(learner):
  return crossplay.LearnerPolicy(learner)


@pytest.fixture(scope="module")
def nets(learner):
  """Four random networks' params (unstacked)."""
  return [learner.init(seed).params for seed in range(4)]


@pytest.fixture(scope="module")
def cook(env):
  return scripted.independent_cook(env)


@pytest.fixture(scope="module")
def full(learner, nets, cook):
  """A = 2 agents against 2 network partners and 2 scripted ones, sampled."""
  return crossplay.cross_play(learner.games.raw[0], learner, _stack(*nets[:2]),
                              jax.random.key(3), partners=_stack(*nets[2:]),
                              scripted=(cook, scripted.static_partner()), num_games=G,
                              num_steps=T)


def test_population_agent_acts_as_its_members(env, policy, nets):
  """Sampled, one network under two members in a random seat map: the actions of self-play
  by that network's policy agent, every step, for the same key; greedy, three networks in a
  random seat map: the actions of three policy agents seated the same way."""
  key = jax.random.key(0)
  members = jax.random.randint(jax.random.key(1), (8, 2), 0, 2)
  same = crossplay.population_agent(policy, _stack(nets[0], nets[0]), members)
  single = policy_agent(policy, False, nets[0])
  chex.assert_trees_all_equal(
      play(env, (same,), jnp.zeros((8, 2), jnp.int32), key, 30, record=("actions",)).actions,
      play(env, (single,), jnp.zeros((8, 2), jnp.int32), key, 30, record=("actions",)).actions)

  members = jax.random.randint(jax.random.key(2), (8, 2), 0, 3)
  mixed = crossplay.population_agent(policy, _stack(*nets[:3]), members, greedy=True)
  separate = tuple(policy_agent(policy, True, p) for p in nets[:3])
  pop = play(env, (mixed,), jnp.zeros((8, 2), jnp.int32), key, 30, record=("actions",))
  apart = play(env, separate, members, key, 30, record=("actions",))
  chex.assert_trees_all_equal(pop.actions, apart.actions)
  assert len(np.unique(np.asarray(pop.actions))) > 1                    # not all one action


def test_cross_play_with_itself_is_self_play(env, learner, policy, nets):
  """One sampled network as the agent and as the network partner: its games are the G
  self-play games `selfplay` (SelfPlayEvaluator's games) plays with the network group's key,
  game by game (random networks deliver nothing: the action-level equality is
  test_population_agent_acts_as_its_members)."""
  key = jax.random.key(4)
  result = crossplay.cross_play(env, learner, _stack(nets[0]), key,
                                partners=_stack(nets[0]), num_games=G, num_steps=T)
  _, returns, _ = selfplay(env, policy, G, T, False, nets[0], jax.random.fold_in(key, 0))
  agent_seat = np.arange(G) >= G // 2
  chex.assert_trees_all_equal(result.game_returns[0, 0],
                              returns[np.arange(G), agent_seat.astype(int)])
  chex.assert_trees_all_equal(result.returns[0, 0], returns[:, 0].mean())


@pytest.mark.parametrize("max_games", [4096, G])
def test_scripted_partner_games_are_plays(env, learner, policy, nets, cook, max_games):
  """A network agent beside the independent cook: each agent's games are those `play` gives
  with its policy agent and the cook in the same seats, with the cook's group key (one chunk),
  or with chunk a's key (max_games = G: a chunk per agent). The cook delivers: not all 0."""
  key = jax.random.key(5)
  result = crossplay.cross_play(env, policy, _stack(*nets[:2]), key, scripted=(cook,),
                                num_games=G, num_steps=T, max_games_per_chunk=max_games)
  group_key = jax.random.fold_in(key, 1)
  if max_games >= 2 * G:        # one chunk of both agents' games
    agents = (crossplay.population_agent(policy, _stack(*nets[:2]),
                                         np.repeat(np.arange(2), 2 * G).reshape(2 * G, 2)),
              cook)
    direct = play(env, agents, _seats(2), group_key, T).returns.reshape(2, G, 2)
  else:
    direct = jnp.stack([
        play(env, (policy_agent(policy, False, nets[a]), cook), _seats(1), chunk_key, T).returns
        for a, chunk_key in enumerate(jax.random.split(group_key, 2))])
  agent_seat = (np.arange(G) >= G // 2).astype(int)
  chex.assert_trees_all_equal(result.game_returns[:, 0], direct[:, np.arange(G), agent_seat])
  assert float(result.returns.max()) > 0


def test_a_partner_with_itself_is_its_self_play(env, learner, policy, nets, cook):
  """`partner_self_play`: a network partner's games are the G self-play games `selfplay` plays
  with the network group's key, game by game (as test_cross_play_with_itself_is_self_play);
  a scripted partner's are `play`'s with it in both seats and its group key; each game read
  from the seat cross-play's agent would hold."""
  key = jax.random.key(6)
  itself = crossplay.partner_self_play(env, learner, key, partners=_stack(nets[0]),
                                       scripted=(cook,), num_games=G, num_steps=T)
  chex.assert_shape(itself.returns, (1, 2))
  chex.assert_shape(itself.game_returns, (1, 2, G))
  agent_seat = (np.arange(G) >= G // 2).astype(int)
  _, returns, _ = selfplay(env, policy, G, T, False, nets[0], jax.random.fold_in(key, 0))
  chex.assert_trees_all_equal(itself.game_returns[0, 0], returns[np.arange(G), agent_seat])
  cooks = play(env, (cook,), jnp.zeros((G, 2), jnp.int32), jax.random.fold_in(key, 1), T)
  chex.assert_trees_all_equal(itself.game_returns[0, 1],
                              cooks.returns[np.arange(G), agent_seat])
  chex.assert_trees_all_close(itself.returns, itself.returns_by_seat.mean(-1))
  with pytest.raises(ConfigError, match="partner_self_play: no partners"):
    crossplay.partner_self_play(env, learner, key, num_games=G)
  with pytest.raises(ConfigError, match="partner_self_play: num_games must be even"):
    crossplay.partner_self_play(env, learner, key, scripted=(cook,), num_games=1)


def test_shapes_and_seat_pooling(full):
  chex.assert_shape(full.returns, (2, 4))
  chex.assert_shape(full.returns_by_seat, (2, 4, 2))
  chex.assert_shape(full.game_returns, (2, 4, G))
  chex.assert_type([full.returns, full.returns_by_seat], jnp.float32)
  chex.assert_trees_all_close(full.returns_by_seat,
                              full.game_returns.reshape(2, 4, 2, G // 2).mean(-1))
  chex.assert_trees_all_close(full.returns, full.returns_by_seat.mean(-1))


def test_a_partners_column_does_not_depend_on_the_others(learner, nets, cook, full):
  """The scripted partners' columns without the network partners, and the network partners'
  without the scripted ones, are those of the full run (groups have their own keys)."""
  env, agents, key = learner.games.raw[0], _stack(*nets[:2]), jax.random.key(3)
  only_scripted = crossplay.cross_play(env, learner, agents, key, num_games=G, num_steps=T,
                                       scripted=(cook, scripted.static_partner()))
  only_networks = crossplay.cross_play(env, learner, agents, key, partners=_stack(*nets[2:]),
                                       num_games=G, num_steps=T)
  chex.assert_trees_all_equal(only_scripted.game_returns, full.game_returns[:, 2:])
  chex.assert_trees_all_equal(only_networks.game_returns, full.game_returns[:, :2])


def test_normalized():
  returns = jnp.array([[10.0, 20.0, 5.0], [0.0, 40.0, 1.0]])
  out = crossplay.normalized(returns, jnp.array([20.0, 0.0, -1.0]))
  chex.assert_trees_all_close(out[:, 0], jnp.array([0.5, 0.0]))
  assert bool(jnp.isnan(out[:, 1:]).all())
  with pytest.raises(ConfigError, match="one per partner"):
    crossplay.normalized(returns, jnp.ones(2))
  # A bound below `least` is no bound either.
  out = crossplay.normalized(returns, jnp.array([20.0, 40.0, 0.9]), least=20.0)
  chex.assert_trees_all_close(out[:, :2], jnp.array([[0.5, 0.5], [0.0, 1.0]]))
  assert bool(jnp.isnan(out[:, 2]).all())


def test_standard_errors_take_the_seats_as_strata(full):
  # Seat 0's games 0 and 2 (sample variance 2), seat 1's 4 and 4 (0): sqrt(2/2 + 0/2) / 2.
  game_returns = np.array([[[0.0, 2.0, 4.0, 4.0], [1.0, 1.0, 1.0, 1.0]]])
  chex.assert_trees_all_close(crossplay.standard_errors(game_returns), np.array([[0.5, 0.0]]))
  # A constant seat offset is no spread: the seats are strata, not one sample.
  offset = np.array([[[0.0, 0.0, 20.0, 20.0]]])
  chex.assert_trees_all_equal(crossplay.standard_errors(offset), np.zeros((1, 1), np.float32))
  assert np.isnan(crossplay.standard_errors(np.ones((2, 3, 2)))).all()   # one game a seat
  with pytest.raises(ConfigError, match="G even"):
    crossplay.standard_errors(np.ones((2, 3, 5)))
  errors = crossplay.standard_errors(full.game_returns)
  chex.assert_shape(errors, (2, 4))
  assert np.isfinite(errors).all() and (errors >= 0).all()


def test_bad_inputs(env, learner, nets, cook):
  agents = _stack(*nets[:2])
  with pytest.raises(ConfigError, match="num_games must be even"):
    crossplay.cross_play(env, learner, agents, jax.random.key(0), scripted=(cook,),
                         num_games=3)
  narrower = jax.tree.map(lambda x: x[..., :-1] if x.ndim > 2 else x, agents)
  missing = {"params": {k: v for k, v in agents["params"].items() if k != "value"}}
  for partners in (narrower, missing):
    with pytest.raises(ConfigError, match="the agents' network"):
      crossplay.cross_play(env, learner, agents, jax.random.key(0), partners=partners,
                           num_games=2)
  with pytest.raises(ConfigError, match="must be an Agent"):
    crossplay.cross_play(env, learner, agents, jax.random.key(0), scripted=(agents,),
                         num_games=2)
  with pytest.raises(ConfigError, match="no partners"):
    crossplay.cross_play(env, learner, agents, jax.random.key(0), num_games=2)


def test_table_and_heatmap(full, tmp_path):
  agents, partners = ["ppo_0", "ppo_1"], ["ppo_2", "ppo_3", "cook", "static"]
  matrix = np.array([[1.0, 2.0, 30.0, np.nan], [0.0, 0.5, 20.0, np.nan]])
  table = crossplay.format_table(matrix, agents, partners)
  lines = table.splitlines()
  assert len(lines) == 3 and lines[0].split() == ["agent"] + partners + ["mean"]
  assert lines[1].split() == ["ppo_0", "1.0", "2.0", "30.0", "nan", "11.0"]  # finite mean
  assert crossplay.format_table(full.returns, agents, partners).count("\n") == 2

  path = crossplay.plot_crossplay(full.returns, tmp_path / "crossplay.png", agents, partners,
                                  title="cross-play")
  with Image.open(path) as image:
    image.load()
    assert image.format == "PNG" and image.size[0] > 0 and image.size[1] > 0
  image = crossplay.crossplay_image(matrix, agents, partners)
  assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
  with pytest.raises(ConfigError, match="names"):
    crossplay.plot_crossplay(matrix, tmp_path / "x.png", agents, partners[:3])
