"""The play loop: agents in seats by a seat map, self-play as one agent everywhere, only what is
asked recorded, simultaneous games, one compiled program for every checkpoint."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxplay
from jaxplay.agents import Agent, policy_agent, random_agent
from jaxplay.eval import play as play_lib
from jaxplay.eval import policy_eval

B = 64


def first_legal_agent() -> Agent:
  """Always the lowest legal action."""
  return Agent(lambda params, key, actors: jnp.argmax(actors.legal, -1).astype(jnp.int32))


def probs_fn(params, observation, legal):
  """A deterministic function of the observation, as a network would be."""
  flat = observation.reshape(observation.shape[0], -1).astype(jnp.float32)
  logits = flat[:, :legal.shape[-1]] * params
  return jax.nn.softmax(jnp.where(legal, logits, -jnp.inf))


@pytest.mark.parametrize("game", ["kuhn_poker", "negotiation"])
def test_one_agent_in_every_seat_is_selfplay(game):
  env, key, params = jaxplay.make(game), jax.random.key(3), jnp.float32(0.7)
  states, returns, shaped = policy_eval.selfplay(env, probs_fn, B, env.max_episode_steps,
                                                 False, params, key)
  agent = policy_agent(probs_fn, greedy=False, params=params)
  played = play_lib.play(env, (agent,), jnp.zeros((B, 2), jnp.int32), key,
                         env.max_episode_steps, record=("returns", "shaped_returns"))
  chex.assert_trees_all_equal((played.final, played.returns, played.shaped_returns),
                              (states, returns, shaped))
  assert np.asarray(states.terminated).all()
  # Greedy play draws nothing: copies of the agent in any seat map play the same games.
  greedy = policy_agent(probs_fn, greedy=True, params=params)
  alone = play_lib.play(env, (greedy,), jnp.zeros((B, 2), jnp.int32), key, 12)
  mixed = jax.random.randint(jax.random.key(4), (B, 2), 0, 2)
  copies = play_lib.play(env, (greedy, greedy.with_params(params)), mixed, key, 12)
  chex.assert_trees_all_equal(alone, copies)
  chex.assert_shape(alone.returns, (B, 2))


def test_each_seat_is_played_by_the_agent_the_map_gives_it():
  env = jaxplay.make("tic_tac_toe")
  seats = jax.random.randint(jax.random.key(1), (B, 2), 0, 2)         # 0 random, 1 first legal
  played = play_lib.play(env, (random_agent(), first_legal_agent()), seats, jax.random.key(2),
                         9, record=("states", "actions", "returns"))
  before = jax.tree.map(lambda x: np.asarray(x[:-1]), played.states)  # [T, B] before each step
  live = ~(before.terminated | before.truncated)
  mover = before.current_player
  action = np.take_along_axis(np.asarray(played.actions), mover[..., None], -1)[..., 0]
  legal = np.take_along_axis(before.legal_action_mask, mover[..., None, None], 2)[:, :, 0]
  first = legal.argmax(-1)
  agent = np.asarray(seats)[np.arange(B), mover]                      # [T, B]
  assert np.take_along_axis(legal, action[..., None], -1)[..., 0][live].all()
  assert (action == first)[live & (agent == 1)].all()
  assert (action != first)[live & (agent == 0)].mean() > 0.5          # random: rarely the first
  assert live[0].all() and np.asarray(played.final.terminated).all()  # over within 9 moves
  assert played.shaped_returns is None and played.rewards is None and played.ends is None


def test_simultaneous_games_play_every_seat_and_record_only_what_is_asked():
  env = jaxplay.make("overcooked", layout="cramped_room")
  seats = jnp.tile(jnp.array([[0, 1], [1, 0]], jnp.int32), (4, 1))  # [8, 2]
  played = play_lib.play(env, (random_agent(), first_legal_agent()), seats, jax.random.key(0),
                         20, record=("actions", "rewards", "ends", "shaped_returns"))
  chex.assert_shape(played.actions, (20, 8, 2))
  chex.assert_shape(played.rewards, (20, 8, 2))
  chex.assert_shape(played.shaped_returns, (8, 2))
  chex.assert_shape(played.ends, (20, 8))
  assert played.returns is None and played.states is None
  actions, seats = np.asarray(played.actions), np.asarray(seats)
  assert (actions[:, seats == 1] == 0).all()                  # every action legal: the first, 0
  assert len(np.unique(actions[:, seats == 0])) == env.num_actions  # random: all of them
  np.testing.assert_array_equal(played.final.step_count, 20)
  episode = play_lib.episode(env, random_agent(), jax.random.key(0), 5)
  chex.assert_shape(episode.observation, (6, 2) + env.observation_shape)
  np.testing.assert_array_equal(episode.step_count, np.arange(6))


def test_one_compiled_program_serves_every_checkpoint_and_seat_map():
  env = jaxplay.make("kuhn_poker")
  agents = (policy_agent(probs_fn, False, jnp.float32(0.0)), random_agent())
  play_lib.play(env, agents, jnp.zeros((B, 2), jnp.int32), jax.random.key(0), 3)
  compiled = play_lib._play._cache_size()
  agents = (policy_agent(probs_fn, False, jnp.float32(2.0)), random_agent())  # a new checkpoint
  play_lib.play(env, agents, jnp.ones((B, 2), jnp.int32), jax.random.key(1), 3)
  assert play_lib._play._cache_size() == compiled


def test_bad_seat_maps_and_records_are_refused():
  env, key = jaxplay.make("kuhn_poker"), jax.random.key(0)
  with pytest.raises(ValueError, match=r"seats must be int32\[B, 2\]"):
    play_lib.play(env, (random_agent(),), jnp.zeros((4, 3), jnp.int32), key, 3)
  with pytest.raises(ValueError, match="seats name agents 0..1 only"):
    play_lib.play(env, (random_agent(),) * 2, jnp.full((4, 2), 2), key, 3)
  with pytest.raises(ValueError, match="not \\['moves'\\]"):
    play_lib.play(env, (random_agent(),), jnp.zeros((4, 2), jnp.int32), key, 3,
                  record=("moves",))
