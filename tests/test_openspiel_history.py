"""Games' OpenSpiel declarations and replaying OpenSpiel histories, without OpenSpiel."""

import chex
import jax
import numpy as np
import pytest

import jaxplay
from jaxplay.core.errors import JaxplayError
from jaxplay.core.openspiel import OpenSpielError, OpenSpielGame, parse_game_string
from jaxplay.io.openspiel_history import replay, replay_batch


def states_at(states, t):
  """The unbatched state at time t of states stacked along time."""
  return jax.tree.map(lambda x: x[t], states)


def test_kuhn_history_replays():
  env = jaxplay.make("kuhn_poker")
  states = replay(env, [0, 2, 1, 1])  # cards 0 and 2; bet, call
  chex.assert_shape(states.observation, (3, 2) + env.observation_shape)
  np.testing.assert_array_equal(states.terminated, [False, False, True])
  np.testing.assert_array_equal(states.rewards[-1], [-2.0, 2.0])


def test_batch_of_histories_of_different_lengths():
  env = jaxplay.make("kuhn_poker")
  histories = [[0, 2, 1, 1], [1, 0, 0, 0], [2, 1, 0, 1, 0], [2, 1]]
  states, lengths = replay_batch(env, histories)
  np.testing.assert_array_equal(lengths, [2, 2, 3, 0])
  chex.assert_shape(states.current_player, (4, 4))
  for b, history in enumerate(histories):
    alone = replay(env, history)
    for t in range(4):  # past its end a history repeats its last state
      np.testing.assert_array_equal(states.observation[b, t],
                                    alone.observation[min(t, lengths[b])])
  np.testing.assert_array_equal(states.rewards[:, -1], [[-2, 2], [1, -1], [-1, 1], [0, 0]])


def test_leduc_public_card_moves_into_the_chance_vector():
  env = jaxplay.make("leduc_poker")
  chance, actions = env.from_openspiel_history([0, 3, 1, 2, 1, 5, 1, 1])
  assert chance.tolist() == [0, 3, 5] and actions == [1, 2, 1, 1, 1]
  # Ended in round 1 (a fold, or the round just closed): the lowest undealt card stands in.
  assert env.from_openspiel_history([1, 0, 2, 0])[0].tolist() == [1, 0, 2]
  assert env.from_openspiel_history([1, 0, 1, 1])[0].tolist() == [1, 0, 2]
  states = replay(env, [0, 3, 1, 2, 1, 5, 1, 1])
  assert env.information_state_string(states_at(states, 3), 0) == (
      "[Observer: 0][Private: 0][Round 2][Player: 0][Pot: 6][Money: 97 97][Public: 5]"
      "[Round1: 1 2 1][Round2: ]")


def test_kuhn_information_state_strings():
  env = jaxplay.make("kuhn_poker", num_players=3)
  states = replay(env, [3, 0, 1, 0, 1])
  assert [env.information_state_string(states_at(states, 2), p) for p in range(3)] == [
      "3pb", "0pb", "1pb"]


def test_negotiation_chance_outcomes_of_prob_end():
  env = jaxplay.make("negotiation", instances="openspiel", max_turns=6, prob_end=0.25)
  instance = env.from_openspiel_history([636])[0][:9]
  chance, actions = env.from_openspiel_history([636, 43, 10, 1000, 1, 1001])
  assert chance.tolist() == instance.tolist() + [3] and actions == [43, 10, 1]
  chance, actions = env.from_openspiel_history([636, 43, 10, 1000, 120])
  assert chance[-1] == 6 and actions == [43, 10, 120]
  plain = jaxplay.make("negotiation", instances="openspiel")
  assert plain.from_openspiel_history([636, 43, 10, 1, 120])[1] == [43, 10, 1, 120]
  for bad, match in [([1000], "instance index"), ([636, 43, 10, 7], "continue \\(1000\\)"),
                     ([636, 43, 10, 1001, 1], "yet it goes on"), ([], "instance index")]:
    with pytest.raises(OpenSpielError, match=match):
      env.from_openspiel_history(bad)


def test_histories_that_do_not_fit_raise_one_clear_error():
  kuhn = jaxplay.make("kuhn_poker")
  for bad, match in [([0], "2 chance outcomes"), ([0, 0, 1], "without repeats"),
                     ([0, 3], "without repeats"), ([0, 2, 5], "ids 0..1, got 5"),
                     ([0, 2, 1, 1, 0], "not legal there"), ([0, 2, 0.5], "ints"),
                     ("02", "ints")]:
    with pytest.raises(OpenSpielError, match=match):
      replay(kuhn, bad)
  with pytest.raises(OpenSpielError, match="history 1"):
    replay_batch(kuhn, [[0, 2, 1, 1], [0, 2, 1, 1, 1]])
  with pytest.raises(OpenSpielError, match="not legal"):
    replay(jaxplay.make("tic_tac_toe"), [4, 4])
  with pytest.raises(OpenSpielError, match="without repeats"):
    jaxplay.make("leduc_poker").from_openspiel_history([0, 3, 1, 1, 3])


def test_games_without_a_counterpart_say_so():
  overcooked = jaxplay.make("overcooked")
  assert overcooked.openspiel_game() is None
  assert not overcooked.writes_information_state_strings()
  with pytest.raises(OpenSpielError, match="no OpenSpiel counterpart"):
    overcooked.from_openspiel_history([0])
  for kwargs in [{}, {"instances": "openspiel", "objective": "cooperative"},
                 {"instances": "openspiel", "num_messages": 1}]:
    negotiation = jaxplay.make("negotiation", **kwargs)
    assert negotiation.openspiel_game() is None
    with pytest.raises(OpenSpielError, match="only with instances='openspiel'"):
      negotiation.from_openspiel_history([0])
  ttt = jaxplay.make("tic_tac_toe")
  assert ttt.openspiel_game().string() == "tic_tac_toe"
  with pytest.raises(OpenSpielError, match="writes no information-state strings") as error:
    ttt.information_state_string(ttt.init_from(np.zeros(0, np.int32)), 0)
  assert isinstance(error.value, JaxplayError)


def test_declared_game_strings():
  assert jaxplay.make("kuhn_poker", num_players=3).openspiel_game().string() == (
      "kuhn_poker(players=3)")
  assert jaxplay.make("leduc_poker").openspiel_game().string() == "leduc_poker"
  assert jaxplay.make("negotiation", instances="openspiel", discount=0.9).openspiel_game(
      ).string() == "bargaining(discount=0.9,max_turns=10,prob_end=0.0)"


def test_game_strings_parse_and_compare_by_parameters():
  assert parse_game_string(" g(a=1, b=0.5,c=True,d=x,e=kuhn_poker(players=3)) ") == (
      "g", {"a": 1, "b": 0.5, "c": True, "d": "x", "e": ("kuhn_poker", {"players": 3})})
  assert parse_game_string("kuhn_poker()") == ("kuhn_poker", {})
  game = OpenSpielGame("g", {"n": 2}, {"n": 2, "flag": False, "x": 1.0})
  assert game.string() == "g(n=2)"
  assert game.matches("g") and game.matches("g(flag=false,x=1)")
  assert not game.matches("g(flag=0)")       # a bool is not an int
  assert not game.matches("g(n=3)") and not game.matches("h(n=2)")
  assert not game.matches("g(other=1)")      # a parameter the game does not have
  assert not game.matches("g(n=2") and not game.matches("g(n)") and not game.matches(3)
  with pytest.raises(OpenSpielError, match="not an OpenSpiel game string"):
    parse_game_string("g(n=2")
