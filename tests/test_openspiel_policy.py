"""Policies to and from OpenSpiel: TabularPolicy objects, spellings of a game, wrong games."""

import numpy as np
import pyspiel
import pytest
from open_spiel.python import policy as openspiel_policy

import jaxplay
from jaxplay.eval import build_tree
from jaxplay.io import openspiel_policy as interop


@pytest.fixture(scope="module")
def kuhn():
  return build_tree(jaxplay.make("kuhn_poker"))


def _random_table(tree, seed=0):
  rng = np.random.default_rng(seed)
  table = rng.random(tree.infoset_legal.shape) * tree.infoset_legal
  return table / table.sum(axis=1, keepdims=True)


def test_supports_the_games_that_write_information_state_strings():
  assert interop.supports(jaxplay.make("kuhn_poker"))
  assert interop.supports(jaxplay.make("kuhn_poker", num_players=3))
  assert interop.supports(jaxplay.make("leduc_poker"))
  assert not interop.supports(jaxplay.make("tic_tac_toe"))  # an OpenSpiel game, no strings
  assert not interop.supports(jaxplay.make("negotiation"))
  assert interop.supports(jaxplay.make("kuhn_poker", checked=True))  # wrappers delegate


@pytest.mark.parametrize("name,kwargs", [("kuhn_poker", {}), ("leduc_poker", {})])
def test_tabular_policy_object_round_trips(name, kwargs):
  tree = build_tree(jaxplay.make(name, **kwargs))
  table = _random_table(tree)
  tabular = interop.to_tabular_policy(interop.export_policy(tree, table))
  np.testing.assert_allclose(interop.import_policy(tree, tabular), table, atol=1e-12)


def test_tabular_policy_of_openspiel_imports(kuhn):
  game = pyspiel.load_game("kuhn_poker")
  uniform = openspiel_policy.TabularPolicy(game)  # OpenSpiel's own: uniform over legal
  np.testing.assert_allclose(interop.import_policy(kuhn, uniform), kuhn.uniform_policy())


@pytest.mark.parametrize("spelling", ["kuhn_poker", "kuhn_poker()", "kuhn_poker(players=2)"])
def test_every_spelling_of_the_game_imports(kuhn, spelling):
  table = _random_table(kuhn, seed=1)
  data = dict(interop.export_policy(kuhn, table), game=spelling)
  np.testing.assert_allclose(interop.import_policy(kuhn, data), table, atol=1e-12)
  tabular = openspiel_policy.TabularPolicy(pyspiel.load_game(spelling))
  np.testing.assert_allclose(interop.import_policy(kuhn, tabular), kuhn.uniform_policy())


@pytest.mark.parametrize("game", ["kuhn_poker(players=3)", "leduc_poker", "kuhn_poker(players=",
                                  "tic_tac_toe"])
def test_a_policy_of_another_game_is_refused(kuhn, game):
  data = dict(interop.export_policy(kuhn, kuhn.uniform_policy()), game=game)
  with pytest.raises(interop.PolicyFormatError, match="expected a policy for"):
    interop.import_policy(kuhn, data)


@pytest.mark.parametrize("game", ["kuhn_poker(players=3)", "leduc_poker"])
def test_a_tabular_policy_of_another_game_is_refused(kuhn, game):
  tabular = openspiel_policy.TabularPolicy(pyspiel.load_game(game))
  with pytest.raises(interop.PolicyFormatError, match="expected a policy for"):
    interop.import_policy(kuhn, tabular)


def test_what_is_not_a_policy_is_refused(kuhn, tmp_path):
  binary = tmp_path / "binary.json"
  binary.write_bytes(b"\xff\xfe\x00")
  for bad, match in [(42, "JSON object, a path"), ({"policy": {}}, "expected a policy object"),
                     (tmp_path / "missing.json", "cannot read"), (binary, "cannot read")]:
    with pytest.raises(interop.PolicyFormatError, match=match):
      interop.import_policy(kuhn, bad)
