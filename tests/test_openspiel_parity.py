"""Parity with OpenSpiel: replay histories in both and compare at every decision."""

from __future__ import annotations

import functools

import pyspiel
import pytest

import jaxplay
from tests import openspiel_replay as osr

_DISCOUNTED = {"discount": 0.9, "prob_end": 0.25, "max_turns": 6}

# name, make kwargs, random histories, whole tree?
GAMES = {
    "kuhn_poker_2p": ("kuhn_poker", {}, 2000, True),
    "kuhn_poker_3p": ("kuhn_poker", {"num_players": 3}, 3000, True),
    "kuhn_poker_4p": ("kuhn_poker", {"num_players": 4}, 2000, False),
    "tic_tac_toe": ("tic_tac_toe", {}, 3000, False),
}
if "leduc_poker" in jaxplay.registered_games():
  GAMES["leduc_poker"] = ("leduc_poker", {}, 4000, True)
if "negotiation" in jaxplay.registered_games():
  GAMES["negotiation"] = ("negotiation", {"instances": "openspiel"}, 2000, False)
  GAMES["negotiation_discount_prob_end"] = (
      "negotiation", {"instances": "openspiel", **_DISCOUNTED}, 2000, False)
WITH_STRINGS = sorted(g for g in GAMES if jaxplay.make(GAMES[g][0], **GAMES[g][1])
                      .writes_information_state_strings())


def _setup(game_id):
  """The env and OpenSpiel's game, loaded from the env's own declaration."""
  name, kwargs, _, _ = GAMES[game_id]
  env = jaxplay.make(name, **kwargs)
  return env, pyspiel.load_game(env.openspiel_game().string())


@functools.lru_cache(maxsize=None)
def _recorded(game_id):
  """OpenSpiel's record (with information states) of the whole tree or random histories,
  and jaxplay's states of the same histories."""
  env, game = _setup(game_id)
  _, _, num_random, whole_tree = GAMES[game_id]
  histories = (osr.all_histories(game) if whole_tree
               else osr.random_histories(game, num_random, seed=1))
  rec = osr.record(game, histories, with_info_states=True)
  return env, rec, osr.replay(env, rec)


@pytest.mark.parametrize("game_id", sorted(GAMES))
def test_random_histories_play_the_same(game_id):
  env, game = _setup(game_id)
  rec = osr.record(game, osr.random_histories(game, GAMES[game_id][2], seed=0))
  osr.assert_same_play(rec, osr.replay(env, rec))


@pytest.mark.parametrize("game_id", sorted(GAMES))
def test_information_states_map_one_to_one_to_observations(game_id):
  _, rec, ours = _recorded(game_id)
  osr.assert_same_play(rec, ours)
  num_info_states = osr.assert_info_state_bijection(rec, ours)
  known_counts = {"kuhn_poker_2p": 12, "kuhn_poker_3p": 48, "leduc_poker": 936}
  if game_id in known_counts:  # the whole tree was walked
    assert num_info_states == known_counts[game_id]


@pytest.mark.parametrize("game_id", WITH_STRINGS)
def test_information_state_strings_equal_openspiel(game_id):
  env, rec, ours = _recorded(game_id)
  assert osr.assert_info_state_strings(env, rec, ours) > 0


def test_games_with_strings_include_the_poker_games():
  assert {"kuhn_poker_2p", "kuhn_poker_3p", "leduc_poker"} <= set(WITH_STRINGS)


# Spellings of games, some equal to each other in OpenSpiel, some not.
SPELLINGS = [
    "kuhn_poker", "kuhn_poker()", "kuhn_poker(players=2)", "kuhn_poker(players=3)",
    "kuhn_poker(players=4)", "leduc_poker", "leduc_poker()", "leduc_poker(players=2)",
    "leduc_poker(players=3)", "leduc_poker(action_mapping=true)",
    "leduc_poker(suit_isomorphism=False)", "tic_tac_toe", "tic_tac_toe()", "bargaining",
    "bargaining()", "bargaining(max_turns=10)", "bargaining(discount=1.0,prob_end=0.0)",
    "bargaining(discount=0.9,max_turns=6,prob_end=0.25)",
    "bargaining(prob_end=0.25,max_turns=6,discount=0.9)", "bargaining(max_turns=6)",
]


def _identity(game: pyspiel.Game):
  return game.get_type().short_name, game.get_parameters()


@pytest.mark.parametrize("game_id", sorted(GAMES))
def test_openspiel_game_loads_and_matches_as_pyspiel_does(game_id):
  env, game = _setup(game_id)
  declared = env.openspiel_game()
  assert game.get_type().short_name == declared.name
  assert game.num_players() == env.num_players
  assert game.num_distinct_actions() == env.num_actions
  assert dict(declared.defaults) == pyspiel.load_game(declared.name).get_parameters()
  for spelling in SPELLINGS:
    same = _identity(pyspiel.load_game(spelling)) == _identity(game)
    assert declared.matches(spelling) == same, spelling
  assert declared.matches(str(game))
