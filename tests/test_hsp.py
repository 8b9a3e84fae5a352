"""Hidden-utility self-play's parts: Overcooked's event rewards (a cook's shaped reward as its
weighted events), the per-seat pair of learners (`population.per_seat`), and a pair's run
read as fictitious co-play partners beside runs trained on the game's own rewards."""

from __future__ import annotations

import functools

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxplay
from experiments import evaluate_lib, run_lib
from experiments.configs import hsp_partners_overcooked
from jaxplay import config as config_lib
from jaxplay.agents import scripted
from jaxplay.core.errors import ConfigError
from jaxplay.eval.play import play
from jaxplay.games.overcooked import dynamics as dyn
from jaxplay.learn import partner_pool
from tests.test_zsc_runs import silent, stage_two_config, tiny

B, HORIZON = 8, 400
ONION_FIRST = np.arange(B) % 2 == 0  # the onion fetcher in seat 0 in even games, else seat 1
SEATS = jnp.tile(jnp.array([[0, 1], [1, 0]], jnp.int32), (B // 2, 1))


@functools.lru_cache(maxsize=None)
def fetchers(event_rewards: tuple[str, str]):
  """(returns, shaped returns) float[B, 2] of an onion fetcher and a dish fetcher on
  cramped_room, in both seat orders; the same games whatever `event_rewards` weighs."""
  env = jaxplay.make("overcooked", layout="cramped_room", horizon=HORIZON,
                     event_rewards=event_rewards)
  played = play(env, (scripted.onion_fetcher(env), scripted.dish_fetcher(env)), SEATS,
                jax.random.key(2), HORIZON, record=("returns", "shaped_returns"))
  return np.asarray(played.returns), np.asarray(played.shaped_returns)


def test_weighed_events_replace_one_cooks_shaped_reward_and_leave_the_game_alone():
  returns, shaped = fetchers(("", ""))
  weighed_returns, weighed = fetchers(("onion_in_pot=1,delivery=1000", ""))
  chex.assert_trees_all_equal(weighed_returns, returns)         # the game is the same
  chex.assert_trees_all_equal(weighed[:, 1], shaped[:, 1])      # seat 1: overcooked-ai's
  soups = returns[:, 0] / dyn.SOUP_VALUE
  assert (soups >= 1).all()
  onions = shaped[:, 0] / dyn.PLACEMENT_IN_POT_REW  # the onion fetcher's shaping: onions only
  np.testing.assert_array_equal(weighed[ONION_FIRST, 0], onions[ONION_FIRST])
  # The dish fetcher in seat 0 puts no onion in a pot and delivers every soup.
  np.testing.assert_array_equal(weighed[~ONION_FIRST, 0], 1000 * soups[~ONION_FIRST])


def test_every_event_is_counted_where_it_happens():
  _, shaped = fetchers(("", ""))
  _, counted = fetchers(("onion_pickup=1,put_on_counter=100,take_from_counter=10000",
                         "dish_pickup=1,soup_pickup=100"))
  onions = shaped[ONION_FIRST, 0] / dyn.PLACEMENT_IN_POT_REW
  # Without drops an onion fetcher puts every onion it takes into a pot, but the last.
  assert ((counted[ONION_FIRST, 0] - onions >= 0) & (counted[ONION_FIRST, 0] - onions <= 1)).all()
  dishes, soups = counted[ONION_FIRST, 1] % 100, counted[ONION_FIRST, 1] // 100
  assert ((dishes - soups >= 0) & (dishes - soups <= 1)).all() and (soups >= 1).all()
  assert (counted[~ONION_FIRST, 0] % 100 == 0).all()            # the dish fetcher: no onions


@pytest.mark.parametrize("event_rewards,message", [
    (("stir=1", ""), "the events are onion_pickup, onion_in_pot"),
    (("delivery=x", ""), "weights are finite numbers"),
    (("delivery=inf", ""), "weights are finite numbers"),
    (("delivery=1,delivery=2", ""), "twice"),
    (("delivery=1",), "a pair of strings"),
    ((1.0, ""), "is a string like"),
])
def test_bad_event_rewards_raise_one_clear_error(event_rewards, message):
  with pytest.raises(ConfigError, match=message):
    jaxplay.make("overcooked", event_rewards=event_rewards)
  config = tiny(hsp_partners_overcooked.get_config())
  config.game_options.overcooked.event_rewards = event_rewards
  with pytest.raises(ConfigError, match=message):
    config_lib.check(config)


@pytest.mark.parametrize("change,message", [
    (dict(num_learners=1), "num_learners = 2"),
    (dict(scheme="fictitious", num_learners=1), "scheme 'self_play'"),
    (dict(scripted=("static",), scripted_weight=0.5), "no scripted partners"),
])
def test_bad_pair_configs_raise_one_clear_error(change, message):
  config = tiny(hsp_partners_overcooked.get_config())
  for field, value in change.items():
    config.population[field] = value
  with pytest.raises(ConfigError, match=message):
    config_lib.check(config)


def test_a_pair_needs_one_two_player_game():
  config = config_lib.defaults()
  config.games = ("kuhn_poker", "leduc_poker")
  config.population.num_learners, config.population.per_seat = 2, True
  with pytest.raises(ConfigError, match="one two-player game"):
    config_lib.check(config)


def test_unknown_bias_names_the_biases():
  with pytest.raises(ValueError, match="dish"):
    hsp_partners_overcooked.get_config("cramped_room,lazy")


def pair_config():
  config = tiny(hsp_partners_overcooked.get_config("cramped_room,onion"))
  config.population.snapshot_every = config.population.snapshot_start = 2
  return config


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
  workdir = tmp_path_factory.mktemp("hsp") / "onion"
  lines = []
  state = run_lib.train(pair_config(), workdir, print_fn=lines.append)
  return workdir, state, lines


def test_a_pair_trains_one_learner_a_seat_with_snapshots_in_its_seat(pair):
  workdir, state, lines = pair
  assert any("a pair of MLP networks, one a seat" in line for line in lines)
  # Two slots a seat: seat 0's learner 0 and its copy at update 2 in slot 1, seat 1's in 2, 3.
  chex.assert_trees_all_equal(np.asarray(state.learners), np.array([0, 2], np.int32))
  chex.assert_trees_all_equal(np.asarray(state.live), np.ones(4, bool))
  counts = np.asarray(state.counts)
  assert counts[0, 2] > 0 and counts[2, 0] > 0
  assert counts.sum() == counts[0, 2] + counts[2, 0]           # the learners play each other only
  first = lambda i: jax.tree.leaves(state.params)[0][i]
  assert not np.allclose(first(0), first(2)) and not np.allclose(first(0), first(1))
  assert any("population/pair_return=" in line for line in lines if line.startswith("eval"))
  metrics = evaluate_lib.evaluate(workdir, plot="", print_fn=silent)
  assert np.isfinite(metrics["population/pair_return"])
  assert np.isfinite(metrics["population/pair_return_swapped"])


def test_a_pair_joins_a_pool_trained_on_the_game_reward(pair):
  """The pair's event rewards change only its training signal (`Env.reward_options`), so an
  FCP stage 2 on the game's own rewards takes both seats' members as partners; another
  layout is still refused."""
  workdir, state, _ = pair
  pool = partner_pool.load(str(workdir), config_lib.check(stage_two_config(workdir)))
  np.testing.assert_array_equal(pool.members, np.arange(4))
  chex.assert_trees_all_equal(pool.params, state.params)
  other = stage_two_config(workdir)
  other.game_options.overcooked.layout = "coordination_ring"
  with pytest.raises(ConfigError, match="layout"):
    partner_pool.load(str(workdir), config_lib.check(other))
