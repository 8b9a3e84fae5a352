"""Parity with OpenSpiel: replay histories in both and compare at every decision."""

from __future__ import annotations

import pyspiel
import pytest

import jaxplay
from tests import openspiel_replay as osr


def _cards_then_public(num_dealt: int, num_cards: int):
  """Chance layout of the poker games: the dealt cards in order; if the game ended before the
  public card (Leduc), any card not yet dealt stands in for it."""

  def chance_fn(outcomes: list[int]) -> list[int]:
    cards = list(outcomes)
    spare = [c for c in range(num_cards) if c not in cards]
    return (cards + spare)[:num_dealt]

  return chance_fn


def _bargaining_chance(max_turns: int):
  """Chance layout of negotiation: the instance's (pool, values) from OpenSpiel's instance
  index, then the number of offers after which a prob_end 'end' outcome came (or max_turns)."""
  from jaxplay.games import negotiation

  def chance_fn(outcomes: list[int]) -> list[int]:
    instance = negotiation.openspiel_instances()[outcomes[0]].tolist()
    ends = [j for j, outcome in enumerate(outcomes[1:], start=1) if outcome == 1001]
    return instance + [ends[0] + 1 if ends else max_turns]  # the j-th follows offer j + 1

  return chance_fn


_DISCOUNTED = {"discount": 0.9, "prob_end": 0.25, "max_turns": 6}

# name, make kwargs, OpenSpiel params, chance layout, random histories, whole tree?
GAMES = {
    "kuhn_poker_2p": ("kuhn_poker", {}, {}, _cards_then_public(2, 3), 2000, True),
    "kuhn_poker_3p": ("kuhn_poker", {"num_players": 3}, {"players": 3}, _cards_then_public(3, 4),
                      3000, True),
    "kuhn_poker_4p": ("kuhn_poker", {"num_players": 4}, {"players": 4}, _cards_then_public(4, 5),
                      2000, False),
    "tic_tac_toe": ("tic_tac_toe", {}, {}, lambda outcomes: [], 3000, False),
}
if "leduc_poker" in jaxplay.registered_games():
  GAMES["leduc_poker"] = ("leduc_poker", {}, {}, _cards_then_public(3, 6), 4000, True)
if "negotiation" in jaxplay.registered_games():
  GAMES["negotiation"] = ("negotiation", {"instances": "openspiel"}, {}, _bargaining_chance(10),
                          2000, False)
  GAMES["negotiation_discount_prob_end"] = (
      "negotiation", {"instances": "openspiel", **_DISCOUNTED}, _DISCOUNTED,
      _bargaining_chance(_DISCOUNTED["max_turns"]), 2000, False)


def _setup(game_id):
  name, kwargs, params, chance_fn, num_random, whole_tree = GAMES[game_id]
  spiel_name = {"negotiation": "bargaining"}.get(name, name)
  return (jaxplay.make(name, **kwargs), pyspiel.load_game(spiel_name, params), chance_fn,
          num_random, whole_tree)


@pytest.mark.parametrize("game_id", sorted(GAMES))
def test_random_histories_play_the_same(game_id):
  env, game, chance_fn, num_random, _ = _setup(game_id)
  rec = osr.record(game, osr.random_histories(game, num_random, seed=0), chance_fn)
  osr.assert_same_play(rec, osr.replay(env, rec.chance, rec.actions))


@pytest.mark.parametrize("game_id", sorted(GAMES))
def test_information_states_map_one_to_one_to_observations(game_id):
  env, game, chance_fn, num_random, whole_tree = _setup(game_id)
  histories = (osr.all_histories(game) if whole_tree
               else osr.random_histories(game, num_random, seed=1))
  rec = osr.record(game, histories, chance_fn, with_info_states=True)
  ours = osr.replay(env, rec.chance, rec.actions)
  osr.assert_same_play(rec, ours)
  num_info_states = osr.assert_info_state_bijection(rec, ours)
  known_counts = {"kuhn_poker_2p": 12, "kuhn_poker_3p": 48, "leduc_poker": 936}
  if game_id in known_counts:  # the whole tree was walked
    assert num_info_states == known_counts[game_id]
