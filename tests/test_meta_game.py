"""Exact meta-games of populations (jaxplay.eval.meta_game) against OpenSpiel and the tree."""

import chex
import numpy as np
import pyspiel
import pytest
from open_spiel.python.algorithms import exploitability as openspiel_exploitability
from open_spiel.python.algorithms import policy_aggregator

import jaxplay
from jaxplay import config as jaxplay_config
from jaxplay.eval import build_tree, meta_game, meta_strategy
from jaxplay.eval.exploitability import exploitability, policy_table
from jaxplay.eval.psro_exact import psro_exact
from jaxplay.io import openspiel_policy as interop

POKER = {"kuhn_2p": ("kuhn_poker", {}), "kuhn_3p": ("kuhn_poker", {"num_players": 3}),
         "leduc": ("leduc_poker", {})}


@pytest.fixture(scope="module")
def trees():
  return {key: build_tree(jaxplay.make(name, **kw)) for key, (name, kw) in POKER.items()}


def random_populations(tree, rng, pure=False):
  """Per player float[N_p, I, A] random tables (N_p = 3 + p) and random positive weights
  float[N_p]. If `pure`, one-hot tables that all take the last legal action at the first move,
  so that player 0 never reaches the information sets behind the other first moves."""
  tables, weights = [], []
  first = (tree.infoset_level == 0)[:, None] * np.arange(tree.num_actions)
  for player in range(tree.num_players):
    shape = (3 + player,) + tree.infoset_legal.shape
    scores = (rng.random(shape) + first) * tree.infoset_legal
    tables.append(np.eye(tree.num_actions)[scores.argmax(-1)] if pure else scores ** 2)
    weights.append(rng.random(3 + player) + 0.1)
  return tables, weights


def openspiel_aggregate(tree, tables, weights):
  """OpenSpiel's PolicyAggregator of our populations (members loaded as TabularPolicy)."""
  game = pyspiel.load_game(interop.openspiel_game_string(tree))
  members = [[interop.to_tabular_policy(interop.export_policy(tree, table)) for table in stack]
             for stack in tables]
  aggregator = policy_aggregator.PolicyAggregator(game)
  return game, aggregator.aggregate(list(range(tree.num_players)), members,
                                    [list(map(float, w)) for w in weights])


@pytest.mark.parametrize("key", list(POKER))
@pytest.mark.parametrize("pure", [False, True])
def test_aggregate_matches_openspiel_policy_aggregator(trees, key, pure):
  tree = trees[key]
  tables, weights = random_populations(tree, np.random.default_rng(3), pure)
  ours = meta_game.aggregate_policy(tree, tables, weights)
  chex.assert_shape(ours, tree.infoset_legal.shape)
  game, theirs = openspiel_aggregate(tree, tables, weights)
  strings = interop.infostate_strings(tree)
  their_table = np.zeros_like(ours)
  for infoset, (string, player) in enumerate(zip(strings, tree.infoset_player)):
    for action, prob in theirs.policy[player][string].items():
      their_table[infoset, action] = prob
  np.testing.assert_allclose(ours, their_table, atol=1e-9)
  result = exploitability(tree, ours)
  assert result.nash_conv == pytest.approx(openspiel_exploitability.nash_conv(game, theirs),
                                           abs=1e-6)
  if tree.num_players == 2:
    assert result.exploitability == pytest.approx(
        openspiel_exploitability.exploitability(game, theirs), abs=1e-6)
  if pure:  # one-hot members leave information sets no member reaches: uniform there
    assert (np.isclose(ours, tree.uniform_policy()).all(1) & (tree.infoset_legal.sum(1) > 1)
            ).any()


@pytest.mark.parametrize("key", list(POKER))
def test_payoff_tensor_is_every_combination_of_members(trees, key):
  tree = trees[key]
  players = tree.num_players
  tables, weights = random_populations(tree, np.random.default_rng(5))
  payoff = meta_game.payoff_tensor(tree, tables)
  chex.assert_shape(payoff, tuple(3 + p for p in range(players)) + (players,))
  np.testing.assert_allclose(payoff.sum(-1), 0.0, atol=1e-12)  # poker is zero-sum
  for members in [(0,) * players, (2, 1, 0)[:players], (1, 3, 4)[:players]]:
    joint = sum(np.where((tree.infoset_player == p)[:, None],
                         policy_table(tree, tables[p][k]), 0.0) for p, k in enumerate(members))
    np.testing.assert_allclose(payoff[members], exploitability(tree, joint).on_policy_values,
                               atol=1e-12)
  # The aggregate is realization-equivalent to the mixture: its values are the weighted payoffs.
  mixed = payoff
  for weight in weights:
    mixed = np.tensordot(weight / weight.sum(), mixed, axes=(0, 0))
  aggregate = meta_game.aggregate_policy(tree, tables, weights)
  np.testing.assert_allclose(exploitability(tree, aggregate).on_policy_values, mixed,
                             atol=1e-12)


def test_shared_population_aggregates_like_one_population_per_player(trees):
  tree = trees["kuhn_3p"]
  tables, weights = random_populations(tree, np.random.default_rng(11))
  shared = meta_game.aggregate_shared_policy(tree, tables[0], weights[0])
  np.testing.assert_allclose(
      shared, meta_game.aggregate_policy(tree, [tables[0]] * 3, [weights[0]] * 3), atol=1e-15)


@pytest.mark.parametrize("key", list(POKER))
def test_best_response_table_achieves_the_best_response_value(trees, key):
  tree = trees[key]
  table = policy_table(tree, np.random.default_rng(2).random(tree.infoset_legal.shape) ** 2)
  result = exploitability(tree, table)
  for player in range(tree.num_players):
    response = meta_game.best_response_table(tree, table, player)
    mine = tree.infoset_player == player
    chex.assert_shape(response, table.shape)
    np.testing.assert_allclose(response[~mine], table[~mine], atol=1e-15)
    assert ((response[mine] == 1.0).sum(1) == 1).all()
    assert (response[mine] <= tree.infoset_legal[mine]).all()
    assert exploitability(tree, response).on_policy_values[player] == pytest.approx(
        result.best_response_values[player], abs=1e-12)


def check_psro_result(tree, result, iterations):
  """Shapes, and the meta-policy's values equal the weighted final payoff tensor."""
  players, members = tree.num_players, iterations + 1
  assert [t for t, _ in result.curve] == list(range(members))
  chex.assert_shape(result.nash_conv, (members,))
  chex.assert_shape(result.payoff, (members,) * players + (players,))
  chex.assert_shape(result.populations, [(members,) + tree.infoset_legal.shape] * players)
  chex.assert_shape(result.weights, [(members,)] * players)
  mixed = result.payoff
  for weight in result.weights:
    mixed = np.tensordot(weight, mixed, axes=(0, 0))
  np.testing.assert_allclose(exploitability(tree, result.meta_policy).on_policy_values, mixed,
                             atol=1e-12)


def test_psro_on_kuhn_with_fictitious_play_and_with_nash(trees):
  tree = trees["kuhn_2p"]
  uniform = psro_exact(tree, 10, "uniform")
  check_psro_result(tree, uniform, 10)
  curve = [v for _, v in uniform.curve]
  assert curve[0] == pytest.approx(exploitability(tree, tree.uniform_policy()).exploitability)
  assert curve[-1] < 0.1 < curve[0]
  nash = psro_exact(tree, 20, "nash")
  check_psro_result(tree, nash, 20)
  assert min(v for _, v in nash.curve) <= 1e-3
  assert nash.curve[-1][1] <= 1e-4  # up to the meta-solver's own error (1000 RM+ iterations)
  # Anytime double oracle: the least exploitable mixture of growing populations never gets
  # more exploitable (up to the double oracle's tolerance, 1e-3).
  anytime = psro_exact(tree, 10, "least_exploitable")
  check_psro_result(tree, anytime, 10)
  curve = [v for _, v in anytime.curve]
  assert all(later <= earlier + 1e-3 for earlier, later in zip(curve, curve[1:])), curve
  assert curve[-1] <= 1e-3


def test_psro_runs_on_three_player_kuhn_and_leduc(trees):
  tree = trees["kuhn_3p"]
  result = psro_exact(tree, 4, "uniform")
  check_psro_result(tree, result, 4)
  assert result.nash_conv[-1] < result.nash_conv[0]
  np.testing.assert_allclose([v for _, v in result.curve], result.nash_conv / 3)
  prd = psro_exact(tree, 3, "prd")        # projected replicator dynamics, 3 players
  check_psro_result(tree, prd, 3)
  assert prd.nash_conv[-1] < 0.5 * prd.nash_conv[0]
  leduc = psro_exact(trees["leduc"], 3, "nash")
  check_psro_result(trees["leduc"], leduc, 3)


def test_bad_populations_and_weights_raise_one_clear_error(trees):
  tree = trees["kuhn_2p"]
  tables, weights = random_populations(tree, np.random.default_rng(0))
  for bad_tables, bad_weights, match in [
      (tables[:1], weights[:1], "expected 2 populations"),
      ([tables[0], tables[1][:0]], weights, "at least one member"),
      (tables, weights[:1], "expected 2 weight vectors"),
      (tables, [weights[0], -weights[1]], "population 1: expected 4 non-negative"),
      (tables, [weights[0][:2], weights[1]], "population 0: expected 3")]:
    with pytest.raises(meta_game.MetaGameError, match=match):
      meta_game.aggregate_policy(tree, bad_tables, bad_weights)
  with pytest.raises(meta_game.MetaGameError, match="population 0"):
    psro_exact(tree, 1, lambda payoff: [np.zeros(1), np.ones(1)])
  with pytest.raises(meta_game.MetaGameError, match="player must be"):
    meta_game.best_response_table(tree, tree.uniform_policy(), 2)


def test_an_unknown_meta_solver_is_one_clear_error(trees):
  with pytest.raises(meta_game.MetaGameError, match=r"meta_solver must be one of \['least_exploitable', 'nash', "):
    psro_exact(trees["kuhn_2p"], 2, "alpharank")
  # Every name the config accepts resolves to a solver.
  for name in jaxplay_config.META_SOLVERS:
    assert callable(meta_strategy.solver(name)), name
