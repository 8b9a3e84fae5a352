"""The environment contract, checked the same way on every registered game."""

from __future__ import annotations

import functools
import pickle

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.experimental import checkify

import jaxplay
from jaxplay.core import env as env_lib

# Every registered game with default options, plus variants worth checking on their own.
VARIANTS = {name: (name, {}) for name in jaxplay.registered_games()}
VARIANTS["kuhn_poker_3p"] = ("kuhn_poker", {"num_players": 3})
if "negotiation" in VARIANTS:
  VARIANTS["negotiation_talk"] = ("negotiation", {"num_messages": 2, "prob_end": 0.1})
if "overcooked" in VARIANTS:  # ends only by its time limit: a short one
  VARIANTS["overcooked"] = ("overcooked", {"horizon": 10})
  VARIANTS["overcooked_new_padded"] = ("overcooked", {"horizon": 7, "dynamics": "new",
                                                      "layout": "forced_coordination",
                                                      "pad_to": (6, 9)})
BATCH, STEPS = 8, 24


@functools.lru_cache(maxsize=None)
def compiled(variant: str):
  """The env and its jitted functions, compiled once per variant for the whole module."""
  name, kwargs = VARIANTS[variant]
  env = jaxplay.make(name, **kwargs)
  auto = jaxplay.wrap(env, auto_reset=True, episode_stats=True)

  def play(env, key):
    """BATCH games, STEPS random legal joint actions each; every state along the way."""
    state = jax.vmap(env.init)(jax.random.split(key, BATCH))

    def body(state, key):
      act_key, step_key = jax.random.split(key)
      action = jaxplay.random_legal_actions(act_key, state.legal_action_mask)
      nxt = jax.vmap(env.step)(state, action, jax.random.split(step_key, BATCH))
      return nxt, (state, action, nxt)

    return jax.lax.scan(body, state, jax.random.split(key, STEPS))[1]

  return dict(env=env, auto=auto, init=jax.jit(env.init), step=jax.jit(env.step),
              play=jax.jit(functools.partial(play, env)),
              play_auto=jax.jit(functools.partial(play, auto)),
              auto_step=jax.jit(auto.step))


@pytest.fixture(params=sorted(VARIANTS))
def game(request):
  return compiled(request.param)


def _key(seed=0):
  return jax.random.key(seed)


def test_shapes_and_dtypes(game):
  env = game["env"]
  p, a, obs_shape = env.num_players, env.num_actions, tuple(env.observation_shape)
  state = game["init"](_key())
  chex.assert_shape(state.observation, (p,) + obs_shape)
  chex.assert_type(state.observation, np.int8)
  chex.assert_shape(state.legal_action_mask, (p, a))
  chex.assert_type(state.legal_action_mask, bool)
  chex.assert_shape((state.rewards, state.shaped_rewards), ((p,), (p,)))
  chex.assert_type((state.rewards, state.shaped_rewards), np.float32)
  assert env.has_shaped_rewards or not state.shaped_rewards.any()
  for field in ("terminated", "truncated"):
    chex.assert_shape(getattr(state, field), ())
    chex.assert_type(getattr(state, field), bool)
  for field in ("current_player", "step_count"):
    chex.assert_shape(getattr(state, field), ())
    chex.assert_type(getattr(state, field), np.int32)
  assert state.legal_action_mask.any(), "no legal action at the start"
  chex.assert_trees_all_equal(state.rewards, jnp.zeros(p))
  keys = jax.random.split(_key(), 3)
  chex.assert_shape(jax.eval_shape(jax.vmap(env.init), keys).observation, (3, p) + obs_shape)
  chex.assert_shape(jax.eval_shape(jax.vmap(env.sample_chance), keys),
                    (3,) + tuple(env.chance_shape))


def test_random_play_keeps_the_contract(game):
  env = game["env"]
  before, action, after = jax.tree.map(np.asarray, game["play"](_key(1)))
  done_before = before.terminated | before.truncated
  movers = before.legal_action_mask.any(-1)  # [T, B, P]
  if env.simultaneous:
    assert (before.current_player[~done_before] == -1).all()
  else:  # exactly the current player moves while the game runs
    expected = np.arange(env.num_players) == before.current_player[..., None]
    np.testing.assert_array_equal(movers[~done_before], expected[~done_before])
  assert not after.legal_action_mask[after.terminated].any(), "legal actions after the end"
  # A finished game is returned unchanged, with zero rewards (shaped ones too).
  np.testing.assert_array_equal(after.rewards[done_before], 0.0)
  np.testing.assert_array_equal(after.shaped_rewards[done_before], 0.0)
  if not env.has_shaped_rewards:
    np.testing.assert_array_equal(after.shaped_rewards, 0.0)
  np.testing.assert_array_equal(after.observation[done_before], before.observation[done_before])
  np.testing.assert_array_equal(after.step_count[done_before], before.step_count[done_before])
  np.testing.assert_array_equal(after.step_count[~done_before], before.step_count[~done_before] + 1)
  assert (after.terminated | after.truncated)[-1].any(), "no game ended: raise STEPS for this game"


def test_deterministic_given_key_and_jit_equals_eager(game):
  env = game["env"]
  chex.assert_trees_all_equal(game["play"](_key(2)), game["play"](_key(2)))
  assert not np.array_equal(game["play"](_key(2))[1], game["play"](_key(3))[1])
  state = env.init(_key(4))
  chex.assert_trees_all_equal(state, game["init"](_key(4)))
  action = jaxplay.random_legal_actions(_key(5), state.legal_action_mask)
  chex.assert_trees_all_close(env.step(state, action, _key(6)),
                              game["step"](state, action, _key(6)))


def test_init_from_replays_the_chance_outcomes_of_init(game):
  env = game["env"]
  chance = env.sample_chance(_key(7))
  chex.assert_trees_all_equal(env.init_from(chance), game["init"](_key(7)))


def test_init_from_refuses_a_chance_vector_of_the_wrong_shape(game):
  env = game["env"]
  size = env.chance_shape[0]
  wrong = jnp.zeros((size + 1,), jnp.int32)
  for init_from in (env.init_from, jax.jit(env.init_from)):  # unchecked too: shapes are static
    with pytest.raises(jaxplay.ConfigError,
                       match=rf"init_from takes a chance vector of shape \({size},\)"):
      init_from(wrong)


@pytest.mark.parametrize("name, chance", [
    ("kuhn_poker", [2, 2]),        # both hold the king
    ("leduc_poker", [1, 1, 0]),    # one card dealt twice
    ("leduc_poker", [0, 1, 6]),    # no card 6
    ("leduc_poker", [-1, 2, 3]),
])
def test_checked_mode_refuses_impossible_deals(name, chance):
  checked = jaxplay.make(name, checked=True)
  message = (rf"impossible chance outcome in {name}: \[{', '.join(map(str, chance))}\]; valid "
             r"chance vectors are the \d+ rows of env.chance_outcomes\(\)\[0\] \(distinct entries")
  with pytest.raises(jaxplay.IllegalChanceError, match=message):
    checked.init_from(jnp.array(chance))
  with pytest.raises(jax.errors.JaxRuntimeError, match=message):
    jax.block_until_ready(jax.jit(checked.init_from)(jnp.array(chance)))


@pytest.mark.parametrize("name", ["kuhn_poker", "leduc_poker"])
def test_checked_mode_plays_every_valid_deal(name):
  env, checked = jaxplay.make(name), jaxplay.make(name, checked=True)
  outcomes = jnp.asarray(env.chance_outcomes()[0])
  chex.assert_trees_all_equal(jax.jit(jax.vmap(checked.init_from))(outcomes),
                              jax.vmap(env.init_from)(outcomes))
  chex.assert_trees_all_equal(checked.init_from(outcomes[-1]), env.init_from(outcomes[-1]))
  # Unchecked, an impossible deal is played by the rules' arithmetic (documented).
  assert name != "kuhn_poker" or env.init_from(jnp.array([2, 2])).cards.tolist() == [2, 2]


def test_illegal_action_ends_the_game_and_penalizes_the_offender(game):
  env = game["env"]
  state = game["init"](_key(8))
  offender = int(np.argmax(np.asarray(state.legal_action_mask).any(-1)))
  action = jnp.zeros(env.num_players, jnp.int32).at[offender].set(env.num_actions)  # out of range
  after = game["step"](state, action, _key(9))
  assert after.terminated
  assert not after.legal_action_mask.any()
  others = 1.0 / (env.num_players - 1) if not env.simultaneous else None
  assert after.rewards[offender] == -1.0
  if others is not None:
    np.testing.assert_allclose(np.delete(np.asarray(after.rewards), offender), others)
  np.testing.assert_allclose(after.rewards.sum(), 0.0, atol=1e-6)
  chex.assert_trees_all_equal(after.observation, state.observation)


def test_checked_mode_raises_naming_player_action_and_legal_actions(game):
  name, kwargs = VARIANTS[next(v for v in VARIANTS if compiled(v) is game)]
  checked = jaxplay.make(name, checked=True, **kwargs)
  state = game["init"](_key(10))
  offender = int(np.argmax(np.asarray(state.legal_action_mask).any(-1)))
  legal = np.flatnonzero(state.legal_action_mask[offender]).tolist()
  bad = jnp.zeros(checked.num_players, jnp.int32).at[offender].set(checked.num_actions)
  message = (rf"illegal action in {name}: player {offender} chose action {checked.num_actions}; "
             rf"legal actions of player {offender}: \[{', '.join(map(str, legal))}\]")
  with pytest.raises(jaxplay.IllegalActionError, match=message):
    checked.step(state, bad, _key(11))
  good = jaxplay.random_legal_actions(_key(12), state.legal_action_mask)
  chex.assert_trees_all_equal(checked.step(state, good, _key(11)),
                              game["step"](state, good, _key(11)))
  # Traced, the check runs on the host: plain jit (and checkify) play a legal move as usual;
  # an illegal one fails the compiled call with the same message.
  step = jax.jit(checked.step)
  chex.assert_trees_all_equal(step(state, good, _key(11)), game["step"](state, good, _key(11)))
  with pytest.raises(jax.errors.JaxRuntimeError, match=message):
    jax.block_until_ready(step(state, bad, _key(11)))
  err, _ = checkify.checkify(step)(state, good, _key(11))
  err.throw()
  chex.assert_trees_all_equal(jax.jit(checked.init)(_key(10)), state)


def test_checked_mode_under_vmap_and_scan_names_the_game_of_the_batch():
  checked = jaxplay.make("tic_tac_toe", checked=True)

  @functools.partial(jax.jit, static_argnums=1)
  def play(key, cheater):
    """5 moves of random legal play in 4 games; game `cheater` (if not None) plays a taken
    cell at its 3rd move."""
    state = jax.vmap(checked.init)(jax.random.split(key, 4))

    def body(state, t):
      action = jaxplay.random_legal_actions(jax.random.fold_in(key, t), state.legal_action_mask)
      if cheater is not None:
        taken = jnp.argmin(state.legal_action_mask[cheater].any(0))
        action = jnp.where((t == 2) & (jnp.arange(4) == cheater)[:, None], taken, action)
      return jax.vmap(checked.step)(state, action), None

    return jax.lax.scan(body, state, jnp.arange(5))[0]

  np.testing.assert_array_equal(play(_key(20), None).step_count, 5)
  with pytest.raises(jax.errors.JaxRuntimeError, match=r"illegal action in tic_tac_toe "
                     r"\(game \(2,\) of the batch\): player 0 chose action \d; legal actions"):
    jax.block_until_ready(play(_key(20), 2))


def test_auto_reset_keeps_the_terminal_observation_and_rewards(game):
  env, auto = game["env"], game["auto"]
  bare = game["step"]
  state, wrapped = game["init"](_key(13)), auto.init(_key(13))
  key, ended = _key(14), 0
  for _ in range(STEPS * 2):
    key, act_key, step_key = jax.random.split(key, 3)
    action = jaxplay.random_legal_actions(act_key, state.legal_action_mask)
    state = bare(state, action, step_key)
    wrapped = game["auto_step"](wrapped, action, step_key)
    chex.assert_trees_all_equal(wrapped.final_observation, state.observation)
    chex.assert_trees_all_equal(wrapped.rewards, state.rewards)
    assert wrapped.terminated == state.terminated
    assert wrapped.truncated == state.truncated
    if state.terminated | state.truncated:
      ended += 1
      np.testing.assert_array_equal(wrapped.returned_episode_length, state.step_count)
      # The next game started from the same key the wrapper gave to init.
      next_key = step_key if not env.stochastic_step else jax.random.split(step_key)[1]
      fresh = game["init"](next_key)
      chex.assert_trees_all_equal(wrapped.observation, fresh.observation)
      state = fresh
    else:
      chex.assert_trees_all_equal(wrapped.observation, state.observation)
  assert ended >= 1


def test_episode_stats_sum_the_rewards_of_each_episode(game):
  before, _, after = jax.tree.map(np.asarray, game["play_auto"](_key(15)))
  total = np.zeros_like(after.rewards[0])
  for t in range(STEPS):
    total += after.rewards[t]
    ended = after.terminated[t] | after.truncated[t]
    np.testing.assert_allclose(after.returned_episode_return[t][ended], total[ended], atol=1e-5)
    total[ended] = 0.0
  assert after.num_episodes[-1].sum() >= 1


def test_time_limit_truncates(game):
  env = game["env"]
  limited = jaxplay.TimeLimit(env, 1)
  state = limited.init(_key(16))
  state = limited.step(state, jaxplay.random_legal_actions(_key(17), state.legal_action_mask))
  assert state.truncated != state.terminated  # exactly one: cut, or over by itself
  again = limited.step(state, jaxplay.random_legal_actions(_key(18), state.legal_action_mask))
  chex.assert_trees_all_equal(again.observation, state.observation)
  assert again.step_count == 1


def test_step_rejects_an_action_that_is_not_joint(game):
  env = game["env"]
  with pytest.raises(ValueError, match="joint action of shape"):
    env.step(game["init"](_key()), jnp.int32(0))


# --- registry -------------------------------------------------------------------------------


def test_unknown_game_lists_registered_games():
  with pytest.raises(jaxplay.UnknownGameError, match="unknown game 'chess'.*kuhn_poker.*tic_tac_toe"):
    jaxplay.make("chess")


def test_unknown_option_lists_the_options():
  with pytest.raises(jaxplay.ConfigError, match=r"does not take option\(s\) 'players'.*num_players=2"):
    jaxplay.make("kuhn_poker", players=3)


def test_bad_option_value_says_what_is_allowed():
  with pytest.raises(jaxplay.ConfigError, match="num_players must be an int in 2..10"):
    jaxplay.make("kuhn_poker", num_players=1)


BAD_OPTIONS = [
    ("kuhn_poker", {"num_players": 2.0}, "num_players must be an int in 2..10, got 2.0"),
    ("kuhn_poker", {"num_players": True}, "num_players must be an int in 2..10, got True"),
    ("kuhn_poker", {"num_players": 11}, "num_players must be an int in 2..10"),
    ("negotiation", {"discount": "x"}, r"discount must be a number in \(0, 1\], got 'x'"),
    ("negotiation", {"discount": None}, r"discount must be a number in \(0, 1\]"),
    ("negotiation", {"prob_end": "0.1"}, r"prob_end must be a number in \[0, 1\)"),
    ("negotiation", {"prob_end": float("nan")}, r"prob_end must be a number in \[0, 1\)"),
    ("negotiation", {"objective": True}, r"objective must be one of .* or a number in \[-1, 1\]"),
    ("negotiation", {"objective": None}, "objective must be one of"),
    ("negotiation", {"max_turns": 2.5}, "max_turns must be a positive int"),
    ("negotiation", {"max_turns": True}, "max_turns must be a positive int"),
    ("negotiation", {"num_messages": "2"}, "num_messages must be an int >= 0"),
    ("negotiation", {"num_messages": -1}, "num_messages must be an int >= 0"),
    ("negotiation", {"vocab_size": 2.0}, "vocab_size must be a positive int"),
    ("negotiation", {"vocab_size": 0}, "vocab_size must be a positive int"),
    ("negotiation", {"instances": ((1.5, 2, 3, 8, 1, 0, 4, 0, 2),)}, "rows of 9 ints"),
    ("negotiation", {"instances": 7}, "instances must be 'sampled'"),
    ("overcooked", {"layout": 3}, "a layout grid is a string or a list of row strings"),
    ("overcooked", {"dynamics": ["classic"]}, "dynamics must be one of"),
    ("overcooked", {"horizon": 1.5}, "horizon must be a positive int"),
    ("overcooked", {"horizon": "400"}, "horizon must be a positive int"),
    ("overcooked", {"cook_time": True}, "cook_time must be an int in 1..63"),
    ("overcooked", {"pad_to": (6.0, 9)}, "pad_to must be a pair of ints"),
    ("overcooked", {"pad_to": "69"}, "pad_to must be a pair of ints"),
    ("overcooked", {"event_rewards": "delivery=1"}, "event_rewards must be a pair of strings"),
    ("overcooked", {"event_rewards": ("stir=1", "")}, "the events are onion_pickup"),
    ("overcooked", {"start_positions": ((1.5, 2), (3, 1))}, "start_positions must be two"),
    ("overcooked", {"start_positions": ["12", "31"]}, "start_positions must be two"),
    ("overcooked", {"start_positions": ((1, 2), (3, 1), (2, 2))}, "start_positions must be two"),
    ("tic_tac_toe", {"size": 4}, r"does not take option\(s\) 'size'; its options are: none"),
]


@pytest.mark.parametrize("name, kwargs, message", BAD_OPTIONS,
                         ids=[f"{name}-{kwargs}" for name, kwargs, _ in BAD_OPTIONS])
def test_bad_option_types_and_values_raise_config_errors(name, kwargs, message):
  with pytest.raises(jaxplay.ConfigError, match=f"{name}.*{message}"):
    jaxplay.make(name, **kwargs)


def test_every_game_option_is_covered_by_a_bad_value():
  covered = {(name, option) for name, kwargs, _ in BAD_OPTIONS for option in kwargs}
  assert covered >= {(name, option) for name in jaxplay.registered_games()
                     for option in jaxplay.game_options(name)}


def test_wrappers_refuse_a_wrong_order():
  env = jaxplay.make("tic_tac_toe")
  with pytest.raises(jaxplay.ConfigError, match="TimeLimit goes inside AutoReset"):
    jaxplay.TimeLimit(jaxplay.AutoReset(env), 5)
  with pytest.raises(jaxplay.ConfigError, match="positive int"):
    jaxplay.TimeLimit(env, 0)


def test_illegal_rewards_sum_to_zero_for_several_offenders():
  rewards = env_lib.illegal_action_rewards(jnp.array([True, False, True, False]))
  np.testing.assert_allclose(rewards, [-1.0, 1.0, -1.0, 1.0])


def test_states_of_envs_built_alike_mix_and_others_do_not():
  """A state carries its env's observer as static data: equal for envs of one class built
  with equal arguments (defaults filled in), so their states share one pytree structure."""
  default, explicit = jaxplay.make("negotiation"), jaxplay.make("negotiation", discount=1.0)
  a, b = default.init(_key(0)), explicit.init(_key(1))
  assert jax.tree.structure(a) == jax.tree.structure(b)
  mixed = jax.jit(env_lib.tree_select)(jnp.bool_(False), a, b)
  chex.assert_trees_all_equal(mixed.observation, b.observation)
  other = jaxplay.make("negotiation", discount=0.9).init(_key(1))
  assert jax.tree.structure(other) != jax.tree.structure(b)
  copied = pickle.loads(pickle.dumps(a))  # e.g. to another process: the observer travels
  assert jax.tree.structure(copied) == jax.tree.structure(a)
  chex.assert_trees_all_equal(copied.observation, a.observation)
