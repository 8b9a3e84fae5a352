"""PPO self-play as one compiled update: roll out every game, estimate advantages (GAE or RAE),
then epochs x minibatches of PPO steps; `train_chunk` runs K updates in one `lax.scan`.

Self-play: one set of parameters plays every seat of every game, and each seat learns from its
own decisions (its observation says which seat it is). Games restart with fresh chance draws,
so who holds which card or which negotiation instance is new every game.

A `Learner` holds everything static (games, network, optimizer, sizes, schedules); a
`TrainState` everything that changes and nothing else, so a checkpoint of it resumes a run
exactly. The state also keeps `magnet`, the magnet of the PPO loss's magnetic term: an
exponential moving average of the parameters (`ppo.magnet_update = "ema"`; its step can
fall to 0 over the end of the run, `ppo.magnet_ema_decay_start`) or a network
distilled, one slow step an update, from the policies played (`"distill"`: an approximation
of the average policy, as NFSP's average network); in zero-sum games a policy often less
exploitable than the last iterate.
"""

from __future__ import annotations

import functools
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import struct

from jaxplay import config as config_lib
from jaxplay.agents.networks import make_network
from jaxplay.agents.policy import categorical_kl, masked_logits, masked_probs
from jaxplay.core.env import tree_select
from jaxplay.learn import advantages as adv_lib
from jaxplay.learn import shuffle
from jaxplay.learn.game_set import make_game_set
from jaxplay.learn.ppo import Batch, LossConfig, ppo_loss, uses, weighted_mean
from jaxplay.learn.rollout import Model, Trajectory, forward, rollout


@struct.dataclass
class TrainState:
  """Everything a run changes.

  Attributes:
    params: the network's parameters.
    magnet: parameters of the magnet (same structure as `params`; see the module docstring).
    opt_state: the optimizer's state.
    env_states: per game, its B running games (wrapped states).
    key: uint32 PRNG key data.
    update: int32[] updates done.
    baselines: float32[G, P] RAE's per-(game, role) return averages.
    magnet_opt_state: the distilled magnet's optimizer state (() for the EMA magnet).
  """

  params: Any
  magnet: Any
  opt_state: Any
  env_states: tuple
  key: jax.Array
  update: jax.Array
  baselines: jax.Array
  magnet_opt_state: Any = ()


class Learner:
  """PPO self-play on the games of a run config (`jaxplay.config`: every field, its default
  and its check).

  Raises:
    ConfigError: a field with a value it does not allow (the message says which are allowed).
    UnknownGameError: a game that is not registered.
  """

  def __init__(self, config):
    self.config = config = config_lib.check(config)
    ppo = config.ppo
    self.games = make_game_set(config.games, config.game_options, config.reward_scale)
    self.game_ppo = config_lib.game_ppo(config)
    self.network = make_network(config.network, self.games.num_actions, self.games.token_counts,
                                self.games.fixed_features())
    self.model = Model(inputs=self.network.inputs, apply=functools.partial(
        self.network.apply, method="from_inputs"))
    self.num_players = max(env.num_players for env in self.games.raw)
    self.steps_per_update = config_lib.steps_per_update(config)
    self.num_updates = config_lib.num_updates(config)
    samples = ppo.num_envs * ppo.num_steps * sum(
        self.games.actor_slots(g) for g in range(len(self.games.names)))
    self.minibatch_size = samples // ppo.num_minibatches
    optimizer_steps = self.num_updates * ppo.num_epochs * ppo.num_minibatches
    self.learning_rate = optax.linear_schedule(
        ppo.learning_rate, ppo.learning_rate * ppo.final_lr_fraction, optimizer_steps)
    self.optimizer = optax.chain(optax.clip_by_global_norm(ppo.max_grad_norm),
                                 optax.adam(self.learning_rate, eps=1e-5))
    self.magnet_update = ppo.magnet_update
    self.magnet_optimizer = optax.adam(ppo.magnet_lr, eps=1e-5)
    hold = int(ppo.magnet_ema_decay_start * self.num_updates)  # updates at the full step
    self.magnet_ema = optax.linear_schedule(
        ppo.magnet_ema, ppo.magnet_ema * ppo.final_magnet_ema_fraction,
        self.num_updates - hold, transition_begin=hold)
    per_game = lambda field: tuple(p[field] for p in self.game_ppo)
    self.loss_config = LossConfig(
        clip_eps=per_game("clip_eps"), value_coef=ppo.value_coef, clip_value=ppo.clip_value,
        normalize_advantages=per_game("normalize_advantages"), kl_coef=per_game("kl_coef"),
        magnet_coef=per_game("magnet_coef"))
    # Metrics of episodes that ended in an update, averaged over a chunk by episode counts.
    self.episode_weighted = {
        f"{name}/{metric}": f"{name}/episodes" for name, env in zip(self.games.names,
                                                                    self.games.raw)
        for metric in ["episode_length"] + [f"return_{p}" for p in range(env.num_players)]}
    self.episode_counts = frozenset(self.episode_weighted.values())  # summed over a chunk

  # --- the network ---------------------------------------------------------------------------

  def policy_probs(self, params, observation: jax.Array, legal: jax.Array,
                   game: int = 0) -> jax.Array:
    """float32[N, a]: the policy on observations int8[N, l, f] and legal actions bool[N, a] of
    game `game` as its env gives them (padded here, cut back to its a actions)."""
    num_actions = legal.shape[-1]
    logits, _, _ = forward(self.model, params, self.games.pad_observation(observation), game)
    return masked_probs(logits, self.games.pad_legal(legal))[..., :num_actions]

  # --- the state -----------------------------------------------------------------------------

  def init(self, seed: int) -> TrainState:
    """A new run: fresh parameters and games, from `seed`."""
    param_key, env_key, key = jax.random.split(jax.random.key(seed), 3)
    env_keys = jax.random.split(env_key, len(self.games.envs))
    env_states = tuple(jax.vmap(env.init)(jax.random.split(k, self.config.ppo.num_envs))
                       for env, k in zip(self.games.envs, env_keys))
    return TrainState(**self.fresh_network(param_key), env_states=env_states,
                      key=jax.random.key_data(key), update=jnp.int32(0),
                      baselines=jnp.zeros((len(self.games.envs), self.num_players), jnp.float32))

  def fresh_network(self, key: jax.Array) -> dict[str, Any]:
    """A network as it starts (jittable): initial parameters from `key`, the magnet on
    them, fresh optimizer states; the `TrainState` fields params, magnet, opt_state and
    magnet_opt_state."""
    length, features = self.games.observation_shape
    params = self.network.init(key, jnp.zeros((1, length, features), jnp.int8),
                               jnp.zeros((1,), jnp.int32))
    return dict(params=params, magnet=params, opt_state=self.optimizer.init(params),
                magnet_opt_state=(self.magnet_optimizer.init(params)
                                  if self.magnet_update == "distill" else ()))

  # --- one update ----------------------------------------------------------------------------

  def schedules(self, update: jax.Array) -> dict[str, jax.Array]:
    """Each game's entropy coefficient, the fraction of its magnet coefficient in force, the
    EMA magnet's step and the shaped-reward weight at update `update`."""
    shaping = self.config.shaping
    progress = update.astype(jnp.float32) / self.num_updates
    env_steps = update.astype(jnp.float32) * self.steps_per_update
    anneal = jnp.maximum(0.0, 1.0 - env_steps / max(float(shaping.anneal_env_steps), 1.0))
    start, end = (np.array([p[f] for p in self.game_ppo], np.float32)
                  for f in ("entropy_coef", "final_entropy_coef"))
    final_magnet = np.array([p.final_magnet_fraction for p in self.game_ppo], np.float32)
    return dict(entropy_coef=start + (end - start) * progress,  # [G], one per game
                magnet_fraction=1.0 + (final_magnet - 1.0) * progress,         # [G]
                magnet_ema=self.magnet_ema(update),                           # [], shared
                shaping=shaping.coef * anneal)

  def schedule_metrics(self, schedules: dict[str, jax.Array]) -> dict[str, jax.Array]:
    """The scheduled values in force, as metrics: the shaped-reward weight and each game's
    `<game>/entropy_coef` (and `<game>/magnet_coef` where it has a magnet)."""
    metrics = dict(shaping=schedules["shaping"])
    for game, name in enumerate(self.games.names):
      metrics[f"{name}/entropy_coef"] = schedules["entropy_coef"][game]
      if self.game_ppo[game].magnet_coef:
        metrics[f"{name}/magnet_coef"] = (self.game_ppo[game].magnet_coef
                                          * schedules["magnet_fraction"][game])
    return metrics

  def update(self, state: TrainState) -> tuple[TrainState, dict[str, jax.Array]]:
    """One PPO update (pure; jit it, or use `train_chunk`)."""
    ppo = self.config.ppo
    key = jax.random.wrap_key_data(state.key)
    key, shuffle_key, *game_keys = jax.random.split(key, 2 + len(self.games.envs))
    schedules = self.schedules(state.update)
    batch, env_states, baselines, _, metrics = self.collect(
        state.params, state.env_states, state.baselines, game_keys, schedules)
    batch = self.with_magnet_logits(jax.tree.map(lambda x: x[0], batch), state.magnet)
    params, opt_state, loss_metrics = self.optimize(state.params, state.opt_state, batch,
                                                     shuffle_key, schedules)
    magnet, magnet_opt_state, magnet_metrics = self.magnet_step(
        state.magnet, state.magnet_opt_state, params, batch, schedules)
    metrics.update(magnet_metrics)
    metrics.update(loss_metrics, **self.schedule_metrics(schedules))
    metrics["learning_rate"] = self.learning_rate(
        (state.update + 1) * ppo.num_epochs * ppo.num_minibatches)
    return TrainState(params=params, magnet=magnet, opt_state=opt_state,
                      magnet_opt_state=magnet_opt_state, env_states=env_states,
                      key=jax.random.key_data(key), update=state.update + 1,
                      baselines=baselines), metrics

  def collect(self, params, env_states: tuple, baselines: jax.Array, keys, schedules,
              members: tuple | None = None, blocks: int = 1, scripted: tuple = ()):
    """Rolls out every game (`ppo.num_steps` steps of its B games) and estimates advantages.

    Args:
      params: the network's parameters (self-play), or with `members` a population's stacked
        parameters [N, ...].
      env_states: per game, its B running games.
      baselines: float32[G, R] RAE's return averages per game and role; a role is a seat in
        self-play, (member, seat) as member * P + seat in a population (P the most seats).
      keys: one PRNG key per game.
      members: per game, int32[B, P_g] the member in each seat (see `rollout`).
      blocks: split every game's B games into this many equal runs (a population's learners
        each own one).
      scripted: scripted agents, the members after the network members (see `rollout`).

    Returns:
      (the samples of every game as one Batch [blocks, S, ...] (block j: the samples of
      every game's j-th run of games), env states, baselines, per game its Trajectory,
      metrics of the rollouts).
    """
    ppo = self.config.ppo
    batches, new_states, new_baselines, trajectories, metrics = [], [], [], [], {}
    for game, name in enumerate(self.games.names):
      game_ppo = self.game_ppo[game]
      env_state, traj, last_value, last_decides = rollout(
          self.games, game, self.model, params, env_states[game], keys[game], ppo.num_steps,
          shaping=schedules["shaping"], bootstrap_truncated=ppo.bootstrap_truncated,
          members=None if members is None else members[game], scripted=scripted)
      baseline = baselines[game]
      if game_ppo.advantage == "gae":
        advantage, target, valid = adv_lib.seat_gae(
            traj.reward, traj.done, traj.seat, traj.acted, traj.value, traj.bootstrap,
            last_value, last_decides, game_ppo.gamma, game_ppo.gae_lambda)
      else:
        role = traj.member * self.num_players + traj.seat
        target, valid = adv_lib.monte_carlo_returns(traj.reward, traj.done, traj.seat,
                                                    traj.acted, game_ppo.gamma)
        baseline = adv_lib.update_role_baseline(baseline, target, valid, role,
                                                game_ppo.rae_alpha)
        advantage = adv_lib.rae_advantages(target, valid, role, baseline)
      new_states.append(env_state)
      new_baselines.append(baseline)
      trajectories.append(traj)
      batches.append(_batch(traj, game, advantage, target, valid, blocks))
      metrics.update(_episode_metrics(name, traj))
      metrics[f"{name}/advantage_std"] = jnp.sqrt(
          jnp.sum(jnp.where(valid, advantage ** 2, 0.0)) / jnp.maximum(valid.sum(), 1))
    batch = jax.tree.map(lambda *xs: jnp.concatenate(xs, axis=1), *batches)
    return batch, tuple(new_states), jnp.stack(new_baselines), tuple(trajectories), metrics

  def with_magnet_logits(self, batch: Batch, magnet) -> Batch:
    """The batch with the magnet's masked logits of every sample (when the loss uses them)."""
    if not uses(self.loss_config.magnet_coef):
      return batch
    magnet_logits, _ = self.model.apply(magnet, batch.inputs, batch.game)
    return batch.replace(magnet_logits=masked_logits(magnet_logits, batch.legal))

  def magnet_step(self, magnet, magnet_opt_state, params, batch: Batch, schedules):
    """The magnet after an update to `params`: an EMA step towards them, or a distillation
    step towards the policy that played `batch`. Returns (magnet, its optimizer state,
    metrics)."""
    if self.magnet_update == "ema":
      step = schedules["magnet_ema"]
      magnet = jax.tree.map(lambda m, p: m + step * (p - m), magnet, params)
      return magnet, magnet_opt_state, {"magnet_ema": step}
    magnet, magnet_opt_state, kl = self._distill_magnet(magnet, magnet_opt_state, batch)
    return magnet, magnet_opt_state, {"magnet_distill_kl": kl}

  def _distill_magnet(self, magnet, opt_state, batch: Batch):
    """One Adam step (`ppo.magnet_lr`) of the magnet towards the policy that played `batch`:
    the mean over the batch's decisions of KL(played || magnet). Repeated every update, the
    magnet tracks a visit-weighted average of the recent policies."""
    def loss(magnet_params):
      logits, _ = self.model.apply(magnet_params, batch.inputs, batch.game)
      kl = categorical_kl(jax.nn.log_softmax(batch.logits),
                          jax.nn.log_softmax(masked_logits(logits, batch.legal)))
      return weighted_mean(kl, batch.policy_weight)

    kl, grads = jax.value_and_grad(loss)(magnet)
    updates, opt_state = self.magnet_optimizer.update(grads, opt_state, magnet)
    return optax.apply_updates(magnet, updates), opt_state, kl

  def optimize(self, params, opt_state, batch: Batch, key, schedules):
    """Epochs of shuffled minibatch steps (with the loss's `schedules` of this update); the
    loss metrics averaged over all of them."""
    ppo = self.config.ppo
    used = self.minibatch_size * ppo.num_minibatches
    grad_fn = jax.grad(ppo_loss, has_aux=True)

    def minibatch_step(carry, minibatch):
      params, opt_state = carry
      grads, metrics = grad_fn(params, self.model.apply, minibatch, self.loss_config,
                               schedules["entropy_coef"], schedules["magnet_fraction"])
      updates, opt_state = self.optimizer.update(grads, opt_state, params)
      return (optax.apply_updates(params, updates), opt_state), metrics

    def epoch(carry, epoch_key):
      order = shuffle.permutation(epoch_key, batch.action.shape[0])[:used]
      shuffled = jax.tree.map(
          lambda x: x[order].reshape((ppo.num_minibatches, self.minibatch_size) + x.shape[1:]),
          batch)
      return jax.lax.scan(minibatch_step, carry, shuffled)

    (params, opt_state), metrics = jax.lax.scan(epoch, (params, opt_state),
                                                jax.random.split(key, ppo.num_epochs))
    return params, opt_state, jax.tree.map(jnp.mean, metrics)

  def train_chunk(self, state: TrainState, num_updates: int):
    """Up to `num_updates` updates in one `lax.scan`, never past the run's last update (the
    state stays as it is for the rest, so the run's last, shorter chunk reuses the same
    compiled program). A select, not a `lax.cond`: inside a conditional XLA compiles the update
    differently (results within 3e-6 after 10 Kuhn updates, no longer bitwise those of a
    plain scan), and the work wasted on the skipped updates is at most K - 1 updates a run.

    Returns:
      (state, metrics of the updates done, averaged: `chunk_metrics`).
    """
    return chunk_scan(self.update, self, state, num_updates)

  def chunk_metrics(self, stacked: dict[str, jax.Array], done: jax.Array,
                    episode_weighted: dict[str, str] | None = None) -> dict[str, jax.Array]:
    """Per-update metrics [K] of the updates `done` (bool[K]) as one value each: a game's
    episode metrics averaged over its episodes, its episode count summed, the rest the mean
    over the updates. `episode_weighted`: more metrics averaged so, {metric: its count's
    metric} (the counts are summed)."""
    weighted = {**self.episode_weighted, **(episode_weighted or {})}
    counts = self.episode_counts | frozenset(weighted.values())
    weight = done.astype(jnp.float32)
    out = {}
    for key, values in stacked.items():
      if key in weighted:
        episodes = stacked[weighted[key]] * weight
        out[key] = (values * episodes).sum() / jnp.maximum(episodes.sum(), 1.0)
      elif key in counts:
        out[key] = (values * weight).sum()
      else:
        out[key] = (values * weight).sum() / jnp.maximum(weight.sum(), 1.0)
    return out


def chunk_scan(update: Callable, learner: Learner, state: Any, num_updates: int):
  """`num_updates` calls of `update(state) -> (state, metrics)` in one `lax.scan`, keeping
  the state as it is once `state.update` reaches the learner's `num_updates` (see
  `Learner.train_chunk`); returns (state, `learner.chunk_metrics` of the updates done).
  `learner`: anything with `num_updates` and `chunk_metrics` (a `Population` too)."""
  def step(state, _):
    live = state.update < learner.num_updates
    updated, metrics = update(state)
    return tree_select(live, updated, state), (metrics, live)

  state, (stacked, done) = jax.lax.scan(step, state, None, length=num_updates)
  return state, learner.chunk_metrics(stacked, done)


def _batch(traj: Trajectory, game: int, advantage, target, valid, blocks: int) -> Batch:
  """The samples of one game's rollout [T, B, K] as [blocks, T * (B / blocks) * K]: block j
  holds the samples of the j-th of `blocks` equal runs of the B games."""
  def flat(x):
    t, b, k = x.shape[:3]
    x = x.reshape((t, blocks, b // blocks, k) + x.shape[3:])
    return jnp.moveaxis(x, 1, 0).reshape((blocks, -1) + x.shape[4:])
  valid = valid & traj.acted
  return Batch(
      inputs=flat(traj.inputs), legal=flat(traj.legal),
      game=jnp.full((blocks, traj.action.size // blocks), game, jnp.int32),
      action=flat(traj.action),
      member=flat(traj.member),
      log_prob=flat(traj.log_prob), logits=flat(traj.logits),
      magnet_logits=jnp.zeros_like(flat(traj.logits)), advantage=flat(advantage),
      target=flat(target), old_value=flat(traj.value),
      policy_weight=flat(valid).astype(jnp.float32), value_weight=flat(valid).astype(jnp.float32))


def _episode_metrics(name: str, traj: Trajectory) -> dict[str, jax.Array]:
  """Episodes that ended in the rollout, their mean length and mean raw return per seat."""
  done = traj.done.astype(jnp.float32)
  count = done.sum()
  out = {f"{name}/episodes": count,
         f"{name}/episode_length": (traj.episode_length * done).sum() / jnp.maximum(count, 1)}
  for seat in range(traj.episode_return.shape[-1]):
    out[f"{name}/return_{seat}"] = ((traj.episode_return[..., seat] * done).sum()
                                    / jnp.maximum(count, 1))
  return out
