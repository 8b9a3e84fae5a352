"""Negotiation beyond OpenSpiel parity: objectives, instances, metrics, cheap talk, options."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxplay
from jaxplay.games import negotiation as nego

# pool 3 books 1 hat 1 ball; player 0 values (1, 2, 5), player 1 values (0, 5, 5).
INSTANCE = [3, 1, 1, 1, 2, 5, 0, 5, 5]


offer_id = nego.offer_action


def test_offer_action_ids_and_refusal():
  assert offer_id(0, 0, 0) == 0 and offer_id(1, 0, 0) == 1 and offer_id(0, 1, 0) == 8
  with pytest.raises(jaxplay.ConfigError, match="sum to at most 7"):
    offer_id(5, 3, 0)


@functools.lru_cache(maxsize=None)
def play(actions: tuple, **kwargs):
  """The states after each of `actions` (the mover's action), from INSTANCE, jitted once per
  set of options."""
  env = jaxplay.make("negotiation", **kwargs)
  step = _jitted_step(env.name, tuple(sorted(kwargs.items())))
  state = env.init_from(jnp.array(INSTANCE + [env.max_turns]))
  states = [state]
  for a in actions:
    state = step(state, jnp.full((2,), a, jnp.int32))
    states.append(state)
  return env, states


@functools.lru_cache(maxsize=None)
def _jitted_step(name, options):
  env = jaxplay.make(name, **dict(options))
  return jax.jit(lambda s, a: env.step(s, a))


# Player 0 keeps 3 books and the ball (offer), player 1 agrees: player 0 scores 3 + 5 = 8,
# player 1 gets the hat: 5.
DEAL = (offer_id(3, 0, 1), nego.AGREE)


@pytest.mark.parametrize("objective, expected", [
    ("semi_competitive", [8.0, 5.0]), ("cooperative", [13.0, 13.0]),
    ("competitive", [3.0, -3.0]), (0.5, [10.5, 9.0])])
def test_objective_shapes_the_rewards_not_the_scores(objective, expected):
  _, states = play(DEAL, objective=objective)
  final = states[-1]
  assert final.terminated
  np.testing.assert_allclose(final.rewards, expected)
  np.testing.assert_allclose(nego.final_scores(final), [8.0, 5.0])


def test_discount_applies_from_the_third_action():
  actions = (offer_id(3, 1, 1), offer_id(0, 1, 1), offer_id(3, 0, 1), nego.AGREE)
  _, states = play(actions, discount=0.5)
  # Four actions: the scores are multiplied by 0.5 ** (4 - 2); player 0 proposed last.
  np.testing.assert_allclose(states[-1].rewards, np.array([8.0, 5.0]) * 0.25)


def test_no_agreement_after_max_turns_pays_nothing():
  env, states = play((offer_id(3, 1, 1),) * 4, max_turns=4)
  assert [bool(s.terminated) for s in states] == [False] * 4 + [True]
  np.testing.assert_allclose(states[-1].rewards, 0.0)
  assert not bool(states[1].legal_action_mask[1, offer_id(4, 0, 0)])  # beyond the pool
  assert bool(states[1].legal_action_mask[1, nego.AGREE]) and not states[0].legal_action_mask[
      0, nego.AGREE]


def test_metrics_pareto_and_best_joint_score():
  pool, values = jnp.array(INSTANCE[:3]), jnp.array(INSTANCE[3:]).reshape(2, 3)
  # Best split: player 0 takes the books (3), player 1 the hat and ball (10): 13.
  assert nego.best_joint_score(pool, values) == 13.0
  _, states = play(DEAL)
  m = nego.metrics(states[-1])
  assert bool(m["agreement"]) and bool(m["pareto_optimal"])  # 8 / 5: no split beats both
  # Player 0 keeps only the hat: 2 / 5 (player 1 values the ball, not the books), dominated
  # by the split above (8 / 5).
  _, states = play((offer_id(0, 1, 0), nego.AGREE))
  m = nego.metrics(states[-1])
  np.testing.assert_allclose([m["score_0"], m["score_1"], m["joint_score"]], [2.0, 5.0, 7.0])
  assert not bool(m["pareto_optimal"])
  _, states = play((offer_id(0, 1, 0),))  # no agreement: not a Pareto-optimal deal
  assert not bool(nego.metrics(states[-1])["pareto_optimal"])


def test_sampled_instances_meet_every_constraint_and_cover_the_set():
  table = nego.valid_instances()
  pool, v0, v1 = table[:, :3], table[:, 3:6], table[:, 6:9]
  assert (pool >= 1).all() and ((pool.sum(1) >= 5) & (pool.sum(1) <= 7)).all()
  assert ((v0 * pool).sum(1) == 10).all() and ((v1 * pool).sum(1) == 10).all()
  assert ((v0 > 0) | (v1 > 0)).all() and ((v0 > 0) & (v1 > 0)).any(1).all()
  # Every one of OpenSpiel's instances is a valid instance.
  valid = {tuple(row) for row in table.tolist()}
  assert all(tuple(row) in valid for row in nego.openspiel_instances().tolist())
  env = jaxplay.make("negotiation")
  chance = np.asarray(jax.vmap(env.sample_chance)(jax.random.split(jax.random.key(0), 20000)))
  assert {tuple(row) for row in chance[:, :9].tolist()} <= valid
  assert len({tuple(row) for row in chance[:, :9].tolist()}) > 0.9 * len(table) * (
      1 - np.exp(-20000 / len(table)))


def test_prob_end_draws_a_geometric_ending():
  env = jaxplay.make("negotiation", prob_end=0.25, max_turns=10)
  end_after = np.asarray(jax.vmap(env.sample_chance)(
      jax.random.split(jax.random.key(1), 40000)))[:, 9]
  expected = [0.25 * 0.75 ** (k - 2) for k in range(2, 10)] + [0.75 ** 8]
  np.testing.assert_allclose(np.bincount(end_after, minlength=11)[2:] / len(end_after), expected,
                             atol=0.01)
  # The exact distribution, for game trees: every instance times every ending.
  outcomes, probs = env.chance_outcomes()
  assert len(outcomes) == 9 * len(nego.valid_instances()) and probs.sum() == pytest.approx(1)
  np.testing.assert_allclose(np.bincount(outcomes[:, 9], probs)[2:], expected, atol=1e-12)


def test_explicit_instances_are_the_only_ones_dealt():
  rows = tuple(map(tuple, nego.openspiel_instances()[:2].tolist()))
  env = jaxplay.make("negotiation", instances=rows)
  chance = np.asarray(jax.vmap(env.sample_chance)(jax.random.split(jax.random.key(2), 200)))
  assert {tuple(row) for row in chance[:, :9].tolist()} == set(rows)
  outcomes, probs = env.chance_outcomes()
  np.testing.assert_array_equal(outcomes[:, :9], np.array(rows))
  np.testing.assert_allclose(probs, [0.5, 0.5])


def test_cheap_talk_turns_and_observation():
  env, states = play((nego.AGREE + 1 + 3, nego.AGREE + 1 + 0) + DEAL[:1]
                     + (nego.AGREE + 1 + 7, nego.AGREE + 1 + 7) + DEAL[1:],
                     num_messages=2, vocab_size=8)
  assert env.num_actions == 129
  movers = [int(s.current_player) for s in states[:-1]]
  assert movers == [0, 0, 0, 1, 1, 1]
  talking = states[0].legal_action_mask[0]
  assert talking[nego.AGREE + 1:].all() and not talking[:nego.AGREE + 1].any()
  final = states[-1]
  np.testing.assert_allclose(final.rewards, [8.0, 5.0])  # messages are free
  messages = np.asarray(final.observation[1, 2 + env.max_turns:])  # player 1's view
  assert messages[0, nego.MESSAGE] == 1 and messages[0, nego.SYMBOL + 3] == 1
  assert messages[0, nego.BY_OBSERVER] == 0 and messages[2, nego.BY_OBSERVER] == 1
  assert messages[4:].sum() == 0


@pytest.mark.parametrize("kwargs, message", [
    ({"objective": "friendly"}, "objective must be one of"),
    ({"objective": 2.0}, "objective must be one of"),
    ({"discount": 0.0}, "discount must be a number in"),
    ({"prob_end": 1.0}, "prob_end must be a number in"),
    ({"instances": "lewis"}, "instances must be"),
    ({"instances": ((1, 2, 3),)}, "instances must be"),
    ({"instances": ((1, 2, 3, 8, 1, 0, 4, 3, 0),)}, "is not a valid instance"),
    ({"max_turns": 0}, "max_turns must be"),
])
def test_bad_options_are_refused_with_what_is_allowed(kwargs, message):
  with pytest.raises(jaxplay.ConfigError, match=message):
    jaxplay.make("negotiation", **kwargs)
