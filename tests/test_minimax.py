"""Minimax and match play on tic-tac-toe, checked against OpenSpiel's alpha-beta search."""

import jax
import jax.numpy as jnp
import numpy as np
import pyspiel
import pytest
from open_spiel.python.algorithms import minimax as openspiel_minimax

import jaxplay
from jaxplay import agents
from jaxplay.eval import build_tree, match, minimax
from jaxplay.eval import play as play_lib
from jaxplay.eval.tree import TreeError


@pytest.fixture(scope="module")
def env():
  return jaxplay.make("tic_tac_toe")


@pytest.fixture(scope="module")
def solution(env):
  return minimax.solve(build_tree(env))


def test_tic_tac_toe_is_a_draw(solution):
  assert solution.value.shape == (549946, 2)  # every node of the tic-tac-toe tree
  np.testing.assert_array_equal(solution.game_value, [0.0, 0.0])
  np.testing.assert_array_equal(solution.optimal[0], np.ones(9, bool))  # any first move draws


def test_values_of_random_positions_match_alpha_beta(solution):
  game = pyspiel.load_game("tic_tac_toe")
  rng = np.random.default_rng(3)
  checked = 0
  while checked < 40:
    state, actions = game.new_initial_state(), []
    for _ in range(rng.integers(1, 8)):
      action = int(rng.choice(state.legal_actions()))
      state.apply_action(action)
      actions.append(action)
      if state.is_terminal():
        break
    node = solution.node_of(actions)
    if state.is_terminal():
      assert not solution.optimal[node].any()
      continue
    value, _ = openspiel_minimax.alpha_beta_search(game, state=state, maximizing_player_id=0)
    np.testing.assert_array_equal(solution.value[node], [value, -value])
    # every optimal move keeps the value; every other move loses some
    mover = state.current_player()
    for action in state.legal_actions():
      child = state.child(action)
      child_value = (child.returns()[0] if child.is_terminal() else
                     openspiel_minimax.alpha_beta_search(game, state=child,
                                                         maximizing_player_id=0)[0])
      keeps = child_value * (1 if mover == 0 else -1) == value * (1 if mover == 0 else -1)
      assert solution.optimal[node, action] == keeps, (actions, action)
    checked += 1


def test_match_runner_against_perfect_play(env, solution):
  perfect = agents.perfect_agent(solution)
  key = jax.random.key(0)
  draws = match.against(env, perfect, perfect, key, 200, solution=solution)
  assert draws == {0: {"win": 0.0, "draw": 1.0, "loss": 0.0},
                   1: {"win": 0.0, "draw": 1.0, "loss": 0.0}}
  random_vs_perfect = match.against(env, agents.random_agent(), perfect, key, 500,
                                    solution=solution)
  for seat in (0, 1):
    assert random_vs_perfect[seat]["win"] == 0.0
    assert random_vs_perfect[seat]["loss"] > 0.5


def test_perfect_play_in_any_seat_map_never_loses(env, solution):
  seats = jax.random.randint(jax.random.key(5), (256, 2), 0, 2)        # 0 perfect, 1 random
  returns = play_lib.play(env, (agents.perfect_agent(solution), agents.random_agent()), seats,
                          jax.random.key(6), 9, solution=solution).returns
  returns, seats = np.asarray(returns), np.asarray(seats)
  assert (returns[seats == 0] >= 0).all()             # perfect play never loses, in any seat
  duel = seats[:, 0] != seats[:, 1]
  assert (returns[duel][seats[duel] == 0] > 0).mean() > 0.5  # and mostly beats random play
  np.testing.assert_array_equal(returns[(seats == 0).all(1)], 0.0)  # draws against itself


def test_policy_agent_greedy_and_sampled(env, solution):
  first_legal = lambda obs, legal: legal.astype(jnp.float32) * (10.0 - jnp.arange(9))
  greedy = agents.policy_agent(first_legal)
  returns = match.play(env, (greedy, greedy), jax.random.key(1), 8, solution=solution)
  # x takes cells 0, 2, 4, 6 in turn (o takes 1, 3, 5): x wins on the diagonal 2-4-6.
  np.testing.assert_array_equal(returns, np.tile([[1.0, -1.0]], (8, 1)))
  sampled = agents.policy_agent(first_legal, greedy=False)
  returns = match.play(env, (sampled, agents.random_agent()), jax.random.key(2), 64,
                       max_steps=9)
  assert set(np.unique(returns[:, 0])) <= {-1.0, 0.0, 1.0}
  assert (returns.sum(axis=1) == 0).all()


def test_minimax_refuses_hidden_information():
  with pytest.raises(TreeError, match="perfect information"):
    minimax.solve(build_tree(jaxplay.make("kuhn_poker")))
  with pytest.raises(ValueError, match="one per seat"):
    match.play(jaxplay.make("kuhn_poker"), (agents.random_agent(),), jax.random.key(0), 4,
               max_steps=3)
