"""Exact evaluation against OpenSpiel: game trees, exploitability, CFR+, policy interop."""

import json

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pyspiel
import pytest
from open_spiel.python import policy as openspiel_policy
from open_spiel.python.algorithms import exploitability as openspiel_exploitability

import jaxplay
from jaxplay.eval import build_tree, cfr
from jaxplay.eval.exploitability import exploitability, policy_table
from jaxplay.eval.tree import TreeError
from jaxplay.games.negotiation import openspiel_instances
from jaxplay.io import openspiel_policy as interop

POKER = {"kuhn_2p": ("kuhn_poker", {}), "kuhn_3p": ("kuhn_poker", {"num_players": 3}),
         "leduc": ("leduc_poker", {})}
# Sizes of the trees (OpenSpiel's counts: information sets 12, 48 and 936).
SIZES = {"kuhn_2p": (54, 12), "kuhn_3p": (600, 48), "leduc": (10200, 936)}


@pytest.fixture(scope="module")
def trees():
  return {key: build_tree(jaxplay.make(name, **kw)) for key, (name, kw) in POKER.items()}


@pytest.fixture(scope="module")
def kuhn_cfr(trees):
  return cfr.solve(trees["kuhn_2p"], 1000, eval_at=(1, 10, 100), x64=True)


@pytest.fixture(scope="module")
def leduc_cfr(trees):
  return cfr.solve(trees["leduc"], 1000, eval_at=(1, 10), x64=True)


@pytest.fixture(scope="module")
def cfr_averages(trees, kuhn_cfr, leduc_cfr):
  return {"kuhn_2p": kuhn_cfr.average_policy, "leduc": leduc_cfr.average_policy,
          "kuhn_3p": cfr.solve(trees["kuhn_3p"], 20, x64=True).average_policy}


def openspiel_value(tree, table, two_player_exploitability=False):
  """OpenSpiel's NashConv (or exploitability) of our table, loaded through the JSON export."""
  data = interop.export_policy(tree, table)
  game = pyspiel.load_game(data["game"])
  tabular = interop.to_tabular_policy(data)
  assert len(tabular.state_lookup) == tree.num_infosets
  if two_player_exploitability:
    return openspiel_exploitability.exploitability(game, tabular)
  return openspiel_exploitability.nash_conv(game, tabular)


def test_tree_sizes_and_infostate_strings_match_openspiel(trees):
  for key, tree in trees.items():
    assert (tree.num_nodes, tree.num_infosets) == SIZES[key], key
    strings = interop.infostate_strings(tree)
    assert len(set(strings)) == tree.num_infosets
    game = pyspiel.load_game(interop.openspiel_game_string(tree))
    assert set(strings) == set(openspiel_policy.TabularPolicy(game).state_lookup), key


@pytest.mark.parametrize("key", list(POKER))
def test_exploitability_matches_openspiel(trees, cfr_averages, key):
  tree = trees[key]
  rng = np.random.default_rng(7)
  policies = {"uniform": tree.uniform_policy(),
              "random": rng.random(tree.infoset_legal.shape) ** 2,
              "cfr_average": cfr_averages[key]}
  for name, table in policies.items():
    ours = exploitability(tree, table)
    assert ours.nash_conv == pytest.approx(openspiel_value(tree, table), abs=1e-6), name
    assert ours.exploitability == pytest.approx(ours.nash_conv / tree.num_players)
    if tree.num_players == 2:
      assert ours.exploitability == pytest.approx(
          openspiel_value(tree, table, two_player_exploitability=True), abs=1e-6), name
    chex.assert_shape(ours.best_response, (tree.num_infosets,))
    assert tree.infoset_legal[np.arange(tree.num_infosets), ours.best_response].all()
    # Each player's best-response gain, information set by information set: non-negative,
    # and summing to the whole gain (the performance-difference identity).
    chex.assert_shape(ours.infoset_gain, (tree.num_infosets,))
    assert (ours.infoset_gain >= -1e-12).all(), name
    gain_by_player = np.bincount(tree.infoset_player, ours.infoset_gain, tree.num_players)
    np.testing.assert_allclose(gain_by_player, ours.best_response_values
                               - ours.on_policy_values, atol=1e-9, err_msg=name)


def kuhn_nash_table(tree):
  """The alpha = 0 Nash equilibrium of 2-player Kuhn poker (cards 0 J, 1 Q, 2 K)."""
  third = [2 / 3, 1 / 3]
  by_string = {"0": [1, 0], "1": [1, 0], "2": [1, 0], "0pb": [1, 0], "1pb": third,
               "2pb": [0, 1], "0p": third, "1p": [1, 0], "2p": [0, 1], "0b": [1, 0],
               "1b": third, "2b": [0, 1]}
  return np.array([by_string[s] for s in interop.infostate_strings(tree)], np.float64)


def test_kuhn_nash_equilibrium_has_value_minus_one_eighteenth(trees):
  result = exploitability(trees["kuhn_2p"], kuhn_nash_table(trees["kuhn_2p"]))
  assert result.nash_conv == pytest.approx(0.0, abs=1e-12)
  np.testing.assert_allclose(result.on_policy_values, [-1 / 18, 1 / 18], atol=1e-12)
  np.testing.assert_allclose(result.infoset_gain, 0.0, atol=1e-12)


def test_policy_function_is_evaluated_on_every_information_set(trees):
  tree = trees["leduc"]

  def policy_fn(observation, legal):  # any function of the observation, like a network
    logits = observation.astype(jnp.float32).reshape(observation.shape[0], -1)[:, :3] * 1.7
    return jax.nn.softmax(jnp.where(legal, logits, -jnp.inf))

  from_fn = policy_table(tree, policy_fn, batch_size=256)
  by_hand = np.asarray(policy_fn(jnp.asarray(tree.infoset_observation),
                                 jnp.asarray(tree.infoset_legal)))
  np.testing.assert_allclose(from_fn, by_hand, atol=1e-6)
  assert exploitability(tree, policy_fn).nash_conv == pytest.approx(
      exploitability(tree, by_hand).nash_conv, abs=1e-6)


def test_cfr_plus_curve_matches_openspiel_and_converges(trees, kuhn_cfr):
  game = pyspiel.load_game("kuhn_poker")
  solver = pyspiel.CFRPlusSolver(game)
  theirs = {}
  for iteration in range(1, 101):
    solver.evaluate_and_update_policy()
    theirs[iteration] = pyspiel.exploitability(game, solver.average_policy())
  for iteration, value in kuhn_cfr.curve[:3]:
    assert value == pytest.approx(theirs[iteration], abs=1e-9), iteration
  final = kuhn_cfr.curve[-1]
  assert final[0] == 1000 and final[1] < 1e-3
  result = exploitability(trees["kuhn_2p"], kuhn_cfr.average_policy)
  assert result.exploitability == pytest.approx(final[1], abs=1e-9)
  assert result.on_policy_values[0] == pytest.approx(-1 / 18, abs=1e-3)
  # float32 (the fast default) follows the float64 curve closely.
  fast = cfr.solve(trees["kuhn_2p"], 100, eval_at=(10,))
  np.testing.assert_allclose([v for _, v in fast.curve], [v for _, v in kuhn_cfr.curve[1:3]],
                             rtol=1e-3)


def test_cfr_plus_solves_leduc_and_matches_openspiel(leduc_cfr):
  result = leduc_cfr
  game = pyspiel.load_game("leduc_poker")
  solver = pyspiel.CFRPlusSolver(game)
  theirs = []
  for iteration in range(1, 11):
    solver.evaluate_and_update_policy()
    if iteration in (1, 10):
      theirs.append(pyspiel.exploitability(game, solver.average_policy()))
  np.testing.assert_allclose([v for _, v in result.curve[:2]], theirs, atol=1e-9)
  assert result.curve[-1][1] < 1e-2


def test_exported_policy_round_trips(trees, kuhn_cfr, tmp_path):
  for key in ("kuhn_2p", "leduc"):
    tree = trees[key]
    table = kuhn_cfr.average_policy if key == "kuhn_2p" else tree.uniform_policy()
    path = tmp_path / f"{key}.json"
    interop.export_policy(tree, table, path)
    loaded = interop.to_tabular_policy(path)
    game = pyspiel.load_game(json.loads(path.read_text())["game"])
    assert openspiel_exploitability.exploitability(game, loaded) == pytest.approx(
        exploitability(tree, table).exploitability, abs=1e-9)
    np.testing.assert_allclose(interop.import_policy(tree, path), policy_table(tree, table),
                               atol=1e-12)


def test_bad_policy_files_raise_one_clear_error(trees, tmp_path):
  tree = trees["kuhn_2p"]
  good = interop.export_policy(tree, tree.uniform_policy())
  corrupt = tmp_path / "corrupt.json"
  corrupt.write_text("{not json")
  missing = dict(good, policy=dict(list(good["policy"].items())[1:]))
  short = dict(good, policy={k: v[:1] for k, v in good["policy"].items()})
  for bad, match in [(corrupt, "cannot read"), (dict(good, game="leduc_poker"), "expected"),
                     (missing, "lacks 1"), (short, "non-negative probabilities")]:
    with pytest.raises(interop.PolicyFormatError, match=match):
      interop.import_policy(tree, bad)
  with pytest.raises(interop.PolicyFormatError, match="declare their OpenSpiel game"):
    interop.infostate_strings(build_tree(jaxplay.make("tic_tac_toe"), max_nodes=10**6))
  with pytest.raises(ValueError, match="shape"):
    exploitability(tree, np.ones((3, 2)))


@pytest.mark.parametrize("discount,prob_end", [(1.0, 0.0), (0.9, 0.25)])
def test_negotiation_nash_conv_matches_openspiel(tmp_path, discount, prob_end):
  rows = openspiel_instances()[:2]
  path = tmp_path / "instances.txt"
  path.write_text("".join(" ".join(",".join(map(str, r[i:i + 3])) for i in (0, 3, 6)) + "\n"
                          for r in rows))
  env = jaxplay.make("negotiation", instances=tuple(map(tuple, rows.tolist())), max_turns=3,
                     discount=discount, prob_end=prob_end)
  tree = build_tree(env)
  ours = exploitability(tree, tree.uniform_policy())
  game = pyspiel.load_game("bargaining", {"instances_file": str(path), "max_turns": 3,
                                          "discount": discount, "prob_end": prob_end})
  uniform = openspiel_policy.UniformRandomPolicy(game)
  theirs = openspiel_exploitability.nash_conv(game, uniform, return_only_nash_conv=False)
  assert ours.nash_conv == pytest.approx(theirs.nash_conv, abs=1e-6)
  np.testing.assert_allclose(ours.best_response_values - ours.on_policy_values,
                             theirs.player_improvements, atol=1e-6)


def test_trees_refuse_what_they_cannot_enumerate():
  with pytest.raises(TreeError, match="turn-based"):
    build_tree(jaxplay.make("overcooked"))
  with pytest.raises(TreeError, match="max_nodes=1000"):
    build_tree(jaxplay.make("negotiation"), max_nodes=1000)
