"""OpenSpiel's side of the parity tests: it plays (or enumerates) histories and records, at
every decision node, the player to move, the legal actions and every player's
information-state string, and at the end the returns. jaxplay replays the same histories
(`jaxplay.io.openspiel_history.replay_batch`) and the assertions below compare the two.
"""

from __future__ import annotations

import dataclasses

import jax
import numpy as np
import pyspiel


@dataclasses.dataclass
class Record:
  """What OpenSpiel says about a batch of B histories of at most T decisions.

  histories: list (per history) of the full OpenSpiel history (chance outcomes included).
  players: int[B, T] player to move at decision t (-1 past the end).
  legal: bool[B, T, A] legal actions at decision t.
  actions: int[B, T] action taken at decision t (0 past the end).
  length: int[B] number of decisions.
  returns: float[B, P] returns at the terminal state.
  info_states: list (per history) of list (per decision) of tuple (per player) of str.
  """

  histories: list
  players: np.ndarray
  legal: np.ndarray
  actions: np.ndarray
  length: np.ndarray
  returns: np.ndarray
  info_states: list


def random_histories(game: pyspiel.Game, num: int, seed: int) -> list[list[int]]:
  """`num` full histories (chance outcomes included) played uniformly at random."""
  rng = np.random.default_rng(seed)
  histories = []
  for _ in range(num):
    state = game.new_initial_state()
    while not state.is_terminal():
      if state.is_chance_node():
        outcomes, probs = zip(*state.chance_outcomes())
        state.apply_action(int(rng.choice(outcomes, p=probs)))
      else:
        state.apply_action(int(rng.choice(state.legal_actions())))
    histories.append(state.history())
  return histories


def all_histories(game: pyspiel.Game) -> list[list[int]]:
  """Every terminal history of the game tree (chance outcomes included)."""
  leaves = []

  def visit(state):
    if state.is_terminal():
      leaves.append(state.history())
      return
    actions = ([a for a, _ in state.chance_outcomes()] if state.is_chance_node()
               else state.legal_actions())
    for action in actions:
      visit(state.child(action))

  visit(game.new_initial_state())
  return leaves


def record(game: pyspiel.Game, histories: list[list[int]],
           with_info_states: bool = False) -> Record:
  """Plays `histories` in OpenSpiel and records everything the parity tests compare."""
  num_actions, num_players = game.num_distinct_actions(), game.num_players()
  steps = []
  for history in histories:
    state = game.new_initial_state()
    decisions = []
    for action in history:
      if not state.is_chance_node():
        legal = np.zeros(num_actions, bool)
        legal[state.legal_actions()] = True
        infos = (tuple(state.information_state_string(p) for p in range(num_players))
                 if with_info_states else ())
        decisions.append((state.current_player(), legal, action, infos))
      state.apply_action(action)
    assert state.is_terminal()
    steps.append((decisions, state.returns()))

  batch, horizon = len(histories), max(len(d) for d, _ in steps)
  rec = Record(
      histories=[list(h) for h in histories], players=np.full((batch, horizon), -1),
      legal=np.zeros((batch, horizon, num_actions), bool),
      actions=np.zeros((batch, horizon), np.int32), length=np.zeros(batch, np.int32),
      returns=np.array([r for _, r in steps], np.float32),
      info_states=[[d[3] for d in decisions] for decisions, _ in steps])
  for b, (decisions, _) in enumerate(steps):
    rec.length[b] = len(decisions)
    for t, (player, legal, action, _) in enumerate(decisions):
      rec.players[b, t], rec.legal[b, t], rec.actions[b, t] = player, legal, action
  return rec


def replay(env, rec: Record):
  """jaxplay's states of the recorded histories [B, T+1] (numpy leaves), through
  `jaxplay.io.openspiel_history.replay_batch`; checks each splits into OpenSpiel's actions."""
  from jaxplay.io import openspiel_history  # pylint: disable=import-outside-toplevel
  states, lengths = openspiel_history.replay_batch(env, rec.histories)
  np.testing.assert_array_equal(lengths, rec.length, err_msg="number of player actions")
  for b, history in enumerate(rec.histories):
    assert env.from_openspiel_history(history)[1] == rec.actions[b, :rec.length[b]].tolist()
  return jax.device_get(states)


def assert_same_play(rec: Record, ours) -> None:
  """Player to move, legal actions and termination at every decision; returns at the end."""
  legal_action_mask = np.asarray(ours.legal_action_mask)  # computed when read: once
  for b in range(len(rec.histories)):
    n = rec.length[b]
    where = f"history {b} {rec.histories[b]}"
    np.testing.assert_array_equal(ours.current_player[b, :n], rec.players[b, :n],
                                  err_msg=f"player to move, {where}")
    mask = legal_action_mask[b, np.arange(n), rec.players[b, :n]]
    np.testing.assert_array_equal(mask, rec.legal[b, :n], err_msg=f"legal actions, {where}")
    others = legal_action_mask[b, :n].sum(axis=(1, 2)) - mask.sum(axis=1)
    np.testing.assert_array_equal(others, 0, err_msg=f"non-movers have legal actions, {where}")
    np.testing.assert_array_equal(ours.terminated[b, :n + 1], np.arange(n + 1) == n,
                                  err_msg=f"termination, {where}")
    assert not legal_action_mask[b, n].any(), f"legal actions at terminal, {where}"
    np.testing.assert_allclose(ours.rewards[b, :n + 1].sum(axis=0), rec.returns[b], atol=1e-5,
                               rtol=1e-6, err_msg=f"returns, {where}")
    np.testing.assert_array_equal(ours.rewards[b, :n], 0.0,
                                  err_msg=f"reward before the end, {where}")


def assert_info_state_bijection(rec: Record, ours) -> int:
  """Equal information states <-> equal observations (player p's string vs obs[p]), over
  every player at every decision node of every recorded history. Returns the number of
  distinct information states of the players to move (OpenSpiel's infoset count)."""
  by_info, by_obs, decision_sets = {}, {}, set()
  observation = np.asarray(ours.observation)  # computed when read: once, not per node
  for b, decisions in enumerate(rec.info_states):
    for t, infos in enumerate(decisions):
      decision_sets.add((rec.players[b, t], infos[rec.players[b, t]]))
      for player, info in enumerate(infos):
        key = (player, info)
        obs = observation[b, t, player].tobytes()
        assert by_info.setdefault(key, obs) == obs, f"one information state, two observations: {key}"
        assert by_obs.setdefault((player, obs), info) == info, (
            f"one observation of player {player}, two information states: "
            f"{by_obs[(player, obs)]!r} and {info!r}")
  return len(decision_sets)


def assert_info_state_strings(env, rec: Record, ours) -> int:
  """The env's information-state strings equal OpenSpiel's, for every player at every
  decision node of every recorded history. Returns the number of strings compared."""
  compared = 0
  for b, decisions in enumerate(rec.info_states):
    for t, infos in enumerate(decisions):
      state = jax.tree.map(lambda x, b=b, t=t: x[b, t], ours)
      for player, info in enumerate(infos):
        assert env.information_state_string(state, player) == info, (
            f"history {rec.histories[b]}, decision {t}, player {player}")
        compared += 1
  return compared
