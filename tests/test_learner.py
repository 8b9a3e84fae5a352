"""The learner: the committed configs, rollout shapes, and a tiny training run per game that
must beat the untrained (near-uniform) policy on the game's own metric."""

import importlib

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments.configs import common
from jaxplay.eval.policy_eval import make_evaluator
from jaxplay.learn import rollout as rollout_lib
from jaxplay.learn.learner import Learner
from jaxplay.learn.ppo import Batch


def tiny_config(games=("kuhn_poker",), **ppo):
  config = common.base()
  config.games = games
  config.network.kind = "mlp"
  config.network.hidden = (32, 32)
  config.ppo.num_envs = 32
  config.ppo.num_steps = 8
  config.ppo.num_epochs = 2
  config.ppo.num_minibatches = 2
  config.total_env_steps = 32 * 8 * len(games) * 4
  config.ppo.update(ppo)
  return config


@pytest.mark.parametrize("module, argument", [
    ("kuhn_poker", None), ("leduc_poker", None), ("tic_tac_toe", None), ("multigame", None),
    ("psro_kuhn_poker", None), ("psro_leduc_poker", None), ("pfsp_tic_tac_toe", None),
    ("negotiation", "cooperative"), ("negotiation", "semi_competitive"),
    ("negotiation", "competitive"), ("overcooked", "cramped_room"),
    ("overcooked", "counter_circuit")])
def test_every_committed_config_is_valid(module, argument):
  """Each config (and argument) the README names builds a learner: no stray or mistyped field."""
  get_config = importlib.import_module(f"experiments.configs.{module}").get_config
  config = get_config() if argument is None else get_config(argument)
  base = common.base()
  for section in ("ppo", "network", "shaping", "run", "eval", "population"):
    assert set(config[section]) == set(base[section]), (module, section)
  assert Learner(config).num_updates > 0


@pytest.mark.parametrize("game, slots", [("kuhn_poker", 1), ("overcooked", 2)])
def test_rollout_records_the_acting_seats(game, slots):
  config = tiny_config((game,))
  if game == "overcooked":
    config.game_options.overcooked = dict(horizon=5)
  learner = Learner(config)
  state = learner.init(0)
  steps, envs = 6, config.ppo.num_envs
  _, traj, last_value, last_decides = jax.jit(
      lambda s, k: rollout_lib.rollout(learner.games, 0, learner.model, state.params, s, k,
                                       steps))(state.env_states[0], jax.random.key(1))
  inputs = learner.model.inputs(state.env_states[0].observation[:, 0])
  chex.assert_shape(traj.inputs, (steps, envs, slots) + inputs.shape[1:])
  chex.assert_shape(traj.logits, (steps, envs, slots, learner.games.num_actions))
  chex.assert_shape((traj.reward, traj.bootstrap), ((steps, envs, 2),) * 2)
  chex.assert_shape((last_value, last_decides), ((envs, 2),) * 2)
  assert traj.acted.all()
  if game == "kuhn_poker":  # the mover alternates, and only it decides at the end
    assert (last_decides.sum(-1) == 1).all()
    first_moves = traj.seat[0, :, 0]
    assert (first_moves == 0).all()
  else:  # the 5-step horizon cuts every game at t = 4: no bootstrap (nothing else terminates)
    assert traj.done[4].all() and not traj.done[:4].any()


# Per game: options, PPO overrides, updates, the metric and whether lower is better.
IMPROVES = {
    "kuhn_poker": (dict(), dict(learning_rate=3e-3, num_envs=64), 25, "exploitability", True),
    "leduc_poker": (dict(), dict(learning_rate=3e-3, num_envs=64), 25, "exploitability", True),
    "tic_tac_toe": (dict(), dict(learning_rate=3e-3, num_envs=64), 25, "vs_random/seat0_win",
                    False),
    "negotiation": (dict(objective="cooperative", max_turns=4), dict(learning_rate=3e-3), 25,
                    "joint_score", False),
    "overcooked": (dict(horizon=40), dict(learning_rate=3e-3, num_steps=40, gamma=0.95), 10,
                   "shaped_return_0", False),
}


@pytest.mark.parametrize("game", sorted(IMPROVES))
def test_a_tiny_training_run_beats_the_untrained_policy(game):
  options, ppo, updates, metric, lower_is_better = IMPROVES[game]
  config = tiny_config((game,), **ppo)
  config.game_options[game] = options
  config.total_env_steps = config.ppo.num_envs * config.ppo.num_steps * updates
  if game == "overcooked":
    config.shaping.coef = 1.0
    config.shaping.anneal_env_steps = 10 ** 9
  learner = Learner(config)
  state = learner.init(0)
  evaluator = make_evaluator(
      learner.games.raw[0], lambda p, o, l: learner.policy_probs(p, o, l, 0), num_games=256)
  key = jax.random.key(5)
  before = evaluator(state.params, key)[metric]
  state, metrics = jax.jit(learner.train_chunk, static_argnums=1)(state, updates)
  after = evaluator(state.params, key)[metric]
  chex.assert_tree_all_finite(state.params)
  assert np.isfinite(list(jax.device_get(metrics).values())).all()
  assert (after < before) if lower_is_better else (after > before), (metric, before, after)


def test_rae_and_multigame_transformer_train_together():
  config = tiny_config(("kuhn_poker", "tic_tac_toe"), advantage="rae")
  config.network.kind = "transformer"
  config.network.width, config.network.depth, config.network.heads = 16, 1, 2
  learner = Learner(config)
  assert learner.games.observation_shape == (9, 7) and learner.games.num_actions == 9
  state, metrics = jax.jit(learner.train_chunk, static_argnums=1)(learner.init(0), 2)
  assert int(state.update) == 2
  assert metrics["kuhn_poker/episodes"] > 0 and metrics["tic_tac_toe/episodes"] > 0
  # One role baseline per (game, seat); every seat of both games moved towards its returns.
  assert state.baselines.shape == (2, 2) and jnp.all(state.baselines != 0)
  probs = jax.jit(learner.policy_probs, static_argnums=3)(   # (op by op is slower)
      state.params, jnp.zeros((3, 4, 7), jnp.int8), jnp.array([[True, False]] * 3), 0)
  chex.assert_trees_all_close(probs, jnp.array([[1.0, 0.0]] * 3))


def test_the_distilled_magnet_learns_the_played_policy():
  """`magnet_update="distill"`: each update takes one Adam step of the magnet towards the
  policy that played the batch; on a fixed batch, repeated steps close the gap."""
  config = tiny_config(magnet_update="distill", magnet_lr=1e-2, magnet_coef=0.5)
  learner = Learner(config)
  state = learner.init(0)
  state, metrics = jax.jit(learner.train_chunk, static_argnums=1)(state, 2)
  assert "magnet_distill_kl" in metrics and np.isfinite(metrics["magnet_distill_kl"]).all()
  assert not jax.tree.all(jax.tree.map(jnp.array_equal, state.magnet, state.params))
  # A fixed batch whose played policy differs from the magnet: the KL falls step by step.
  inputs = learner.model.inputs(jnp.asarray(
      jax.vmap(learner.games.raw[0].init)(jax.random.split(jax.random.key(1), 64))
      .observation[:, 0]))
  game = jnp.zeros(64, jnp.int32)
  legal = jnp.ones((64, 2), bool)
  played = jnp.log(jnp.array([[0.9, 0.1]] * 64))
  batch = learner_batch(inputs, game, legal, played)
  magnet, opt_state, kls = state.magnet, state.magnet_opt_state, []
  step = jax.jit(learner._distill_magnet)
  for _ in range(30):
    magnet, opt_state, kl = step(magnet, opt_state, batch)
    kls.append(float(kl))
  assert kls[-1] < 0.2 * kls[0], kls


def learner_batch(inputs, game, legal, logits):
  n = len(game)
  zeros = jnp.zeros(n)
  return Batch(inputs=inputs, legal=legal, game=game, action=jnp.zeros(n, jnp.int32),
               member=jnp.zeros(n, jnp.int32),
               log_prob=zeros, logits=logits, magnet_logits=jnp.zeros_like(logits),
               advantage=zeros, target=zeros, old_value=zeros, policy_weight=jnp.ones(n),
               value_weight=jnp.ones(n))


def test_the_magnet_coefficient_and_step_anneal_to_their_final_fractions():
  """magnet_coef per game from the start; the EMA magnet's step (one magnet for all games)
  from `magnet_ema_decay_start` on."""
  config = tiny_config(("kuhn_poker", "leduc_poker"), magnet_coef=0.5,
                       final_magnet_fraction=0.2, magnet_ema=0.1,
                       final_magnet_ema_fraction=0.0, magnet_ema_decay_start=0.5)
  config.ppo_by_game.leduc_poker = dict(final_magnet_fraction=1.0)
  learner = Learner(config)
  at = lambda update: learner.schedules(jnp.int32(update))
  chex.assert_trees_all_close(at(0)["magnet_fraction"], jnp.array([1.0, 1.0]))
  chex.assert_trees_all_close(at(learner.num_updates // 2)["magnet_fraction"],
                              jnp.array([0.6, 1.0]))
  chex.assert_trees_all_close(at(learner.num_updates)["magnet_fraction"],
                              jnp.array([0.2, 1.0]))
  assert learner.num_updates == 4
  for update, step in ((0, 0.1), (2, 0.1), (3, 0.05), (4, 0.0)):  # held, then linear to 0
    chex.assert_trees_all_close(at(update)["magnet_ema"], step)
  update = jax.jit(learner.update)
  first = learner.init(0)
  state, metrics = update(first)
  np.testing.assert_allclose(metrics["kuhn_poker/magnet_coef"], 0.5)
  np.testing.assert_allclose(metrics["magnet_ema"], 0.1)
  chex.assert_trees_all_close(  # the first step: 0.1 of the way to the new parameters
      state.magnet, jax.tree.map(lambda m, p: 0.9 * m + 0.1 * p, first.params, state.params),
      atol=1e-6)
  last = state.replace(update=jnp.int32(learner.num_updates))
  state, metrics = update(last)  # at the end of the schedule the magnet stands still
  np.testing.assert_allclose(metrics["magnet_ema"], 0.0)
  chex.assert_trees_all_equal(state.magnet, last.magnet)
  assert not jax.tree.all(jax.tree.map(jnp.array_equal, state.params, last.params))
