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

Data parallelism (`config.parallel`, `jaxplay.parallel`): `update` runs as one `shard_map`
over the run's device mesh. An update's games are cut into S data shards (`parallel.shards`),
L of them on each of D devices: each shard rolls out with its own keys, each device computes
advantages on its games and shuffles each shard with the shard's own key, minibatch m is the
m-th slice of every shard, its loss the mean over the shards of each shard's loss, and the
gradients are averaged over the devices. The result depends on S, not on D; with one device
and one shard (the default) it is the update as it was before sharding, bitwise.

Traced hyperparameters (`jaxplay.learn.hyperparams`): the learning rate, the loss
coefficients and the schedules' ends are `learner.hparams`, the config's values as Python
floats, compiled in as constants. `update`, `train_chunk` and `optimize` take `hparams`, a dict
{field: value} replacing some of them by traced values, so that `jax.vmap` trains runs that
differ only in them in one program (`jaxplay.learn.sweep`); without it, nothing changes.
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
from jaxplay import parallel as parallel_lib
from jaxplay.agents.networks import make_network
from jaxplay.agents.policy import categorical_kl, masked_logits, masked_probs
from jaxplay.core.env import tree_select
from jaxplay.learn import advantages as adv_lib
from jaxplay.learn import hyperparams as hyperparams_lib
from jaxplay.learn import shuffle, tabular
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
    length, features = self.games.observation_shape
    param_shapes = jax.eval_shape(self.network.init, jax.random.key(0),
                                  jax.ShapeDtypeStruct((1, length, features), jnp.int8),
                                  jax.ShapeDtypeStruct((1,), jnp.int32))
    self.parallel = parallel_lib.DataParallel.from_config(config, samples, param_shapes)
    self.minibatch_size = samples // self.parallel.num_shards // ppo.num_minibatches  # a shard's
    self.optimizer_steps = self.num_updates * ppo.num_epochs * ppo.num_minibatches
    self.hparams = hyperparams_lib.from_config(config)   # Python floats: see the docstring
    self.optimizer = self.optimizer_for(self.hparams)  # (its init; updates build their own)
    self.magnet_update = ppo.magnet_update
    self.magnet_optimizer = optax.adam(ppo.magnet_lr, eps=1e-5)
    self.loss_config = self.loss_config_for(self.hparams)
    self._compiled_fresh = jax.jit(self.fresh)
    # Metrics of episodes that ended in an update, averaged over a chunk by episode counts.
    self.episode_weighted = {
        f"{name}/{metric}": f"{name}/episodes" for name, env in zip(self.games.names,
                                                                    self.games.raw)
        for metric in ["episode_length"] + [f"return_{p}" for p in range(env.num_players)]}
    self.episode_counts = frozenset(self.episode_weighted.values())  # summed over a chunk

  # --- what the hyperparameters make (Python floats, or traced values: hyperparams) ----------

  def learning_rate_schedule(self, hp: hyperparams_lib.Hyperparams) -> optax.Schedule:
    """Adam's step size at each optimizer step: linear from `learning_rate` to
    `learning_rate x final_lr_fraction` over the run."""
    return optax.linear_schedule(hp.learning_rate, hp.learning_rate * hp.final_lr_fraction,
                                 self.optimizer_steps)

  def optimizer_for(self, hp: hyperparams_lib.Hyperparams,
                    layout: parallel_lib.ParamLayout | None = None
                    ) -> optax.GradientTransformation:
    """Gradients clipped to a global norm of `max_grad_norm`, then Adam (its state does not
    depend on the hyperparameters: one `opt_state` serves any of them). `layout`: for
    gradients cut over the devices, the norm of the whole (`jaxplay.parallel.fsdp`)."""
    clip = (optax.clip_by_global_norm(hp.max_grad_norm) if layout is None
            else layout.clip_by_global_norm(hp.max_grad_norm))
    return optax.chain(clip, optax.adam(self.learning_rate_schedule(hp), eps=1e-5))

  def magnet_ema_schedule(self, hp: hyperparams_lib.Hyperparams) -> optax.Schedule:
    """The EMA magnet's step at each update: `magnet_ema` until `magnet_ema_decay_start` of
    the run, then linear to `magnet_ema x final_magnet_ema_fraction` at its end."""
    hold = int(self.config.ppo.magnet_ema_decay_start * self.num_updates)  # at the full step
    return optax.linear_schedule(hp.magnet_ema, hp.magnet_ema * hp.final_magnet_ema_fraction,
                                 self.num_updates - hold, transition_begin=hold)

  def loss_config_for(self, hp: hyperparams_lib.Hyperparams) -> LossConfig:
    """The PPO loss's settings: the coefficients of `hp`, the rest from the config."""
    return LossConfig(
        clip_eps=hp.clip_eps, value_coef=hp.value_coef, clip_value=self.config.ppo.clip_value,
        normalize_advantages=tuple(p.normalize_advantages for p in self.game_ppo),
        kl_coef=hp.kl_coef, magnet_coef=hp.magnet_coef)

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
    """A new run: `fresh(seed)` as one compiled program (op by op, XLA would compile each of
    its few hundred operations, seconds in all), placed on the mesh (`place`)."""
    return self.place(self._compiled_fresh(seed))

  def fresh(self, seed: int | jax.Array) -> TrainState:
    """A new run's state from `seed` (a Python int or int32[]; jittable): fresh parameters,
    optimizer states and games, on this process's default device."""
    param_key, env_key, key = jax.random.split(jax.random.key(seed), 3)
    env_keys = jax.random.split(env_key, len(self.games.envs))
    env_states = tuple(jax.vmap(env.init)(jax.random.split(k, self.config.ppo.num_envs))
                       for env, k in zip(self.games.envs, env_keys))
    return TrainState(
        **self.fresh_network(param_key), env_states=env_states, key=jax.random.key_data(key),
        update=jnp.int32(0),
        baselines=jnp.zeros((len(self.games.envs), self.num_players), jnp.float32))

  def place(self, state: TrainState) -> TrainState:
    """`state` on the run's mesh: env states cut along their games axis over the data
    devices, the parameters, magnet and optimizer states as `parallel.params` lays them out
    (whole by default), everything else replicated (a restored checkpoint is placed so too)."""
    whole = jax.sharding.PartitionSpec()
    params, magnet, opt_state, magnet_opt_state = self.network_specs(state)
    return self.parallel.put(state, TrainState(
        params=params, magnet=magnet, opt_state=opt_state, magnet_opt_state=magnet_opt_state,
        env_states=jax.sharding.PartitionSpec(parallel_lib.DATA), key=whole, update=whole,
        baselines=whole))

  def network_specs(self, state: TrainState) -> tuple:
    """PartitionSpecs of the state's params, magnet, opt_state and magnet_opt_state on the
    run's mesh (`parallel.params`; whole: `PartitionSpec()`)."""
    whole = jax.sharding.PartitionSpec()
    if not self.parallel.cuts_params:
      return (whole,) * 4
    layout = self.parallel.params
    return (layout.specs(state.params), layout.specs(state.magnet),
            layout.state_specs(state.opt_state), layout.state_specs(state.magnet_opt_state))

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

  def env_steps_done(self, update: jax.Array) -> jax.Array:
    """float32[]: the env steps this learner has taken (all games) after `update` updates."""
    return update.astype(jnp.float32) * self.steps_per_update

  def schedules(self, update: jax.Array, hparams: dict | None = None) -> dict[str, jax.Array]:
    """Each game's entropy coefficient, the fraction of its magnet coefficient in force, the
    EMA magnet's step and the shaped-reward weight at update `update` (`hparams`: traced
    hyperparameters, see the module docstring)."""
    hp = self.hparams.replace_with(hparams)
    progress = update.astype(jnp.float32) / self.num_updates
    env_steps = self.env_steps_done(update)
    anneal = jnp.maximum(
        0.0, 1.0 - env_steps / max(float(self.config.shaping.anneal_env_steps), 1.0))
    start, end, final_magnet = (_per_game(getattr(hp, f)) for f in (
        "entropy_coef", "final_entropy_coef", "final_magnet_fraction"))
    return dict(entropy_coef=start + (end - start) * progress,  # [G], one per game
                magnet_fraction=1.0 + (final_magnet - 1.0) * progress,         # [G]
                magnet_ema=self.magnet_ema_schedule(hp)(update),              # [], shared
                shaping=hp.shaping_coef * anneal)

  def schedule_metrics(self, schedules: dict[str, jax.Array],
                       hparams: dict | None = None) -> dict[str, jax.Array]:
    """The scheduled values in force, as metrics: the shaped-reward weight and each game's
    `<game>/entropy_coef` (and `<game>/magnet_coef` where it has a magnet)."""
    magnet_coef = self.hparams.replace_with(hparams).magnet_coef
    metrics = dict(shaping=schedules["shaping"])
    for game, name in enumerate(self.games.names):
      metrics[f"{name}/entropy_coef"] = schedules["entropy_coef"][game]
      if self.game_ppo[game].magnet_coef:
        metrics[f"{name}/magnet_coef"] = (magnet_coef[game]
                                          * schedules["magnet_fraction"][game])
    return metrics

  def update(self, state: TrainState, hparams: dict | None = None
             ) -> tuple[TrainState, dict[str, jax.Array]]:
    """One PPO update (pure; jit it, or use `train_chunk`), data-parallel over the run's mesh
    (see the module docstring): the update's keys are split into per-shard keys here, the
    rest runs on each device (`_learn`). `hparams`: {`Hyperparams` field: traced value}
    in place of the config's (None: the config's, compiled in)."""
    ppo = self.config.ppo
    key = jax.random.wrap_key_data(state.key)
    key, shuffle_key, *game_keys = jax.random.split(key, 2 + len(self.games.envs))
    schedules = self.schedules(state.update, hparams)
    split = self.parallel.split_key
    replicated = (state.params, state.magnet, state.opt_state, state.magnet_opt_state,
                  state.baselines, schedules, hparams)
    sharded = (state.env_states, split(shuffle_key), tuple(map(split, game_keys)))
    whole, networks = jax.sharding.PartitionSpec(), self.network_specs(state)
    (params, magnet, opt_state, magnet_opt_state, baselines, metrics), env_states = (
        self.parallel.run(self._learn, replicated, sharded,
                          in_specs=networks + (whole,) * 3, out_specs=networks + (whole,) * 2))
    metrics.update(self.schedule_metrics(schedules, hparams))
    learning_rate = self.learning_rate_schedule(self.hparams.replace_with(hparams))
    metrics["learning_rate"] = learning_rate(
        (state.update + 1) * ppo.num_epochs * ppo.num_minibatches)
    return TrainState(params=params, magnet=magnet, opt_state=opt_state,
                      magnet_opt_state=magnet_opt_state, env_states=env_states,
                      key=jax.random.key_data(key), update=state.update + 1,
                      baselines=baselines), metrics

  def _learn(self, replicated: tuple, sharded: tuple) -> tuple[tuple, tuple]:
    """One device's part of an update (inside `DataParallel.run`).

    Args:
      replicated: (params, magnet, opt_state, magnet_opt_state, baselines, schedules,
        traced hyperparameters or None); the first four this device's slices of them where
        `parallel.params` cuts them (`jaxplay.parallel.fsdp`).
      sharded: (per game its B / D games, shuffle keys [L], per game its rollout keys [L]):
        this device's games and its L shards' keys.

    Returns:
      ((params, magnet, opt_state, magnet_opt_state, baselines, metrics), env states): the
      first averaged over every shard, so equal on every device.
    """
    params, magnet, opt_state, magnet_opt_state, baselines, schedules, hparams = replicated
    env_states, shuffle_keys, game_keys = sharded
    shards = self.parallel.shards
    batch, env_states, baselines, _, metrics = self.collect(
        shards.gather_params(params), env_states, baselines, game_keys, schedules,
        shards=shards, hparams=hparams)
    batch = self.with_magnet_logits(batch, shards.gather_params(magnet))  # [L, samples, ...]
    params, opt_state, loss_metrics = self.optimize(params, opt_state, batch, shuffle_keys,
                                                    schedules, shards=shards, hparams=hparams)
    magnet, magnet_opt_state, magnet_metrics = self.magnet_step(
        magnet, magnet_opt_state, params, batch, schedules, shards=shards, hparams=hparams)
    metrics.update(magnet_metrics)
    metrics.update(loss_metrics)
    return (params, magnet, opt_state, magnet_opt_state, baselines, metrics), env_states

  def collect(self, params, env_states: tuple, baselines: jax.Array, keys, schedules,
              members: tuple | None = None, blocks: int = 1, scripted: tuple = (),
              scripted_share: float = 1.0, member_noise: jax.Array | None = None,
              shards: parallel_lib.Shards | None = None, hparams: dict | None = None,
              tables: tabular.MemberTables | None = None,
              reward_bonus: Callable[[Trajectory, int], jax.Array] | None = None):
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
      scripted_share: the probability that a scripted member's actor takes its agent's
        action at a step, else its network's (see `rollout`).
      member_noise: float32[N] per member the probability that its actor acts uniformly at
        random at a step (see `rollout`); None: never.
      shards: inside a data-parallel update, this device's L data shards: `env_states` (and
        `members`) hold its games, `keys` per game L keys, one per shard (each shard of
        B / L games rolls out with its own; on a members axis the device's block of each
        shard's games, drawn as the whole shard would draw them: `Shards.first_game`);
        baselines and metrics are over every device's games. None: one shard, one device.
      hparams: traced hyperparameters (gamma, gae_lambda; see `update`).
      tables: frozen members' policy tables (`rollout`'s, one game; `params` then the
        networks they name).
      reward_bonus: None, or `(trajectory, game index) -> float32[T, B, P]` added to every
        seat's training rewards before the advantages (MEP's population entropy,
        `jaxplay.learn.population_entropy`); its mean a seat and step is the metric
        `<game>/reward_bonus`, the returned trajectories carry the rewards with it.

    Returns:
      (the samples of every game as one Batch [blocks x L, S, ...] (block j: the samples of
      every game's j-th run of games), env states, baselines, per game its Trajectory,
      metrics of the rollouts).
    """
    ppo = self.config.ppo
    hp = self.hparams.replace_with(hparams)
    keys = keys if shards is not None else [key[None] for key in keys]
    shards = shards or parallel_lib.ONE
    batches, new_states, new_baselines, trajectories, metrics = [], [], [], [], {}
    for game, name in enumerate(self.games.names):
      game_ppo = self.game_ppo[game]
      games_a_shard = jax.tree.leaves(env_states[game])[0].shape[0] // shards.local
      play = functools.partial(
          rollout, self.games, game, self.model, params, num_steps=ppo.num_steps,
          shaping=schedules["shaping"], bootstrap_truncated=ppo.bootstrap_truncated,
          scripted=scripted, tables=tables, first_game=shards.first_game(games_a_shard),
          scripted_share=scripted_share, member_noise=member_noise)
      env_state, traj, last_value, last_decides = shards.map(
          lambda state, seats, key: play(state, key, members=seats),
          *shards.split((env_states[game], None if members is None else members[game])),
          keys[game])
      env_state, last_value, last_decides = shards.merge((env_state, last_value, last_decides))
      traj = shards.merge(traj, axis=1)                          # time-major [T, B / D, ...]
      if reward_bonus is not None:
        bonus = reward_bonus(traj, game)
        traj = traj.replace(reward=traj.reward + bonus)
        metrics[f"{name}/reward_bonus"] = (shards.total(jnp.sum(bonus))
                                           / shards.total(jnp.float32(bonus.size)))
      baseline = baselines[game]
      if game_ppo.advantage == "gae":
        advantage, target, valid = adv_lib.seat_gae(
            traj.reward, traj.done, traj.seat, traj.acted, traj.value, traj.bootstrap,
            last_value, last_decides, hp.gamma[game], hp.gae_lambda[game])
      else:
        role = traj.member * self.num_players + traj.seat
        target, valid = adv_lib.monte_carlo_returns(traj.reward, traj.done, traj.seat,
                                                    traj.acted, hp.gamma[game])
        baseline = adv_lib.update_role_baseline(baseline, target, valid, role,
                                                game_ppo.rae_alpha, shards.total)
        advantage = adv_lib.rae_advantages(target, valid, role, baseline)
      new_states.append(env_state)
      new_baselines.append(baseline)
      trajectories.append(traj)
      batches.append(_batch(traj, game, advantage, target, valid, blocks * shards.local))
      metrics.update(_episode_metrics(name, traj, shards.total))
      metrics[f"{name}/advantage_std"] = jnp.sqrt(
          shards.total(jnp.sum(jnp.where(valid, advantage ** 2, 0.0)))
          / jnp.maximum(shards.total(valid.sum()), 1))
    batch = jax.tree.map(lambda *xs: jnp.concatenate(xs, axis=1), *batches)
    return batch, tuple(new_states), jnp.stack(new_baselines), tuple(trajectories), metrics

  def with_magnet_logits(self, batch: Batch, magnet) -> Batch:
    """The batch (samples [N] or per shard [L, N]) with the magnet's masked logits of every
    sample (when the loss uses them)."""
    if not uses(self.loss_config.magnet_coef):
      return batch
    lead = batch.game.shape
    flat = lambda x: x.reshape((-1,) + x.shape[len(lead):])
    magnet_logits, _ = self.model.apply(magnet, flat(batch.inputs), flat(batch.game))
    magnet_logits = magnet_logits.reshape(lead + magnet_logits.shape[1:])
    return batch.replace(magnet_logits=masked_logits(magnet_logits, batch.legal))

  def magnet_step(self, magnet, magnet_opt_state, params, batch: Batch, schedules,
                  shards: parallel_lib.Shards | None = None, hparams: dict | None = None):
    """The magnet after an update to `params`: an EMA step towards them, or a distillation
    step towards the policy that played `batch` (samples [N], or with `shards` [L, N]: see
    `optimize`; `hparams`: traced hyperparameters). Returns (magnet, its optimizer state,
    metrics)."""
    if self.magnet_update == "ema":
      step = schedules["magnet_ema"]
      magnet = jax.tree.map(lambda m, p: m + step * (p - m), magnet, params)
      return magnet, magnet_opt_state, {"magnet_ema": step}
    magnet, magnet_opt_state, kl = self._distill_magnet(magnet, magnet_opt_state, batch, shards,
                                                        hparams)
    return magnet, magnet_opt_state, {"magnet_distill_kl": kl}

  def _distill_magnet(self, magnet, opt_state, batch: Batch,
                      shards: parallel_lib.Shards | None = None, hparams: dict | None = None):
    """One Adam step (`ppo.magnet_lr`) of the magnet towards the policy that played `batch`:
    the mean over the batch's decisions of KL(played || magnet) (over shards: the mean of
    each shard's, see `optimize`). Repeated every update, the magnet tracks a visit-weighted
    average of the recent policies."""
    shards, batch = _as_shards(shards, batch)

    def shard_loss(magnet_params, shard: Batch):
      logits, _ = self.model.apply(magnet_params, shard.inputs, shard.game)
      kl = categorical_kl(jax.nn.log_softmax(shard.logits),
                          jax.nn.log_softmax(masked_logits(logits, shard.legal)))
      return weighted_mean(kl, shard.policy_weight)

    loss = lambda m: shards.map(functools.partial(shard_loss, m), batch).mean()
    kl, grads = jax.value_and_grad(loss)(shards.gather_params(magnet))
    kl, grads = shards.mean(kl), shards.mean_gradients(grads)
    magnet_lr = self.hparams.replace_with(hparams).magnet_lr
    updates, opt_state = optax.adam(magnet_lr, eps=1e-5).update(grads, opt_state, magnet)
    return optax.apply_updates(magnet, updates), opt_state, kl

  def optimize(self, params, opt_state, batch: Batch, key, schedules,
               shards: parallel_lib.Shards | None = None, hparams: dict | None = None):
    """Epochs of shuffled minibatch steps (with the loss's `schedules` of this update); the
    loss metrics averaged over all of them. `hparams`: traced hyperparameters (see `update`).

    Args:
      batch: samples [N, ...]; with `shards`, this device's L shards [L, N / S, ...].
      key: a PRNG key; with `shards`, one per local shard [L]: each shard is shuffled with
        its own key, minibatch m is the m-th slice of every shard, and its loss the mean of
        the shards' losses (gradients averaged over the devices of `shards.axis`).
    """
    ppo = self.config.ppo
    shards, (batch, key) = _as_shards(shards, (batch, key))
    size = batch.action.shape[1] // ppo.num_minibatches          # a shard's minibatch
    hp = self.hparams.replace_with(hparams)  # Python floats unless traced: compiled in
    optimizer, loss_config = self.optimizer_for(hp, shards.params), self.loss_config_for(hp)

    def shard_loss(params, minibatch: Batch):
      return ppo_loss(params, self.model.apply, minibatch, loss_config,
                      schedules["entropy_coef"], schedules["magnet_fraction"])

    def loss(params, minibatch: Batch):                          # minibatch [L, size, ...]
      losses, metrics = shards.map(functools.partial(shard_loss, params), minibatch)
      return losses.mean(), jax.tree.map(lambda x: x.mean(0), metrics)

    def minibatch_step(carry, minibatch):
      params, opt_state = carry
      grads, metrics = jax.grad(loss, has_aux=True)(shards.gather_params(params), minibatch)
      grads, metrics = shards.mean_gradients(grads), shards.mean(metrics)
      updates, opt_state = optimizer.update(grads, opt_state, params)
      return (optax.apply_updates(params, updates), opt_state), metrics

    def shuffled(shard: Batch, shard_key):                       # [N / S] -> [M, size]
      order = shuffle.permutation(shard_key, shard.action.shape[0])[:size * ppo.num_minibatches]
      return jax.tree.map(
          lambda x: x[order].reshape((ppo.num_minibatches, size) + x.shape[1:]), shard)

    def epoch(carry, epoch_keys):                                # epoch_keys [L]
      minibatches = jax.tree.map(lambda x: jnp.swapaxes(x, 0, 1),  # [M, L, size, ...]
                                 shards.map(shuffled, batch, epoch_keys))
      return jax.lax.scan(minibatch_step, carry, minibatches)

    epoch_keys = shards.map(lambda k: jax.random.split(k, ppo.num_epochs), key)  # [L, E]
    (params, opt_state), metrics = jax.lax.scan(epoch, (params, opt_state),
                                                jnp.swapaxes(epoch_keys, 0, 1))
    return params, opt_state, jax.tree.map(jnp.mean, metrics)

  def train_chunk(self, state: TrainState, num_updates: int, hparams: dict | None = None):
    """Up to `num_updates` updates in one `lax.scan`, never past the run's last update (the
    state stays as it is for the rest, so the run's last, shorter chunk reuses the same
    compiled program). A select, not a `lax.cond`: inside a conditional XLA compiles the update
    differently (results within 3e-6 after 10 Kuhn updates, no longer bitwise those of a
    plain scan), and the work wasted on the skipped updates is at most K - 1 updates a run.
    `hparams`: traced hyperparameters (see `update`).

    Returns:
      (state, metrics of the updates done, averaged: `chunk_metrics`).
    """
    update = self.update if hparams is None else functools.partial(self.update, hparams=hparams)
    return chunk_scan(update, self, state, num_updates)

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


def chunk_scan(update: Callable, learner: Learner, state: Any, num_updates: int,
               keep: Callable = tree_select):
  """`num_updates` calls of `update(state) -> (state, metrics)` in one `lax.scan`, keeping
  the state as it is once `state.update` reaches the learner's `num_updates` (see
  `Learner.train_chunk`); returns (state, `learner.chunk_metrics` of the updates done).
  `learner`: anything with `num_updates` and `chunk_metrics` (a `Population` too).
  `keep(live, updated, state)`: the updated state where `live`, else the old one (a
  population selects only what an update changes: `Population.keep`)."""
  def step(state, _):
    live = state.update < learner.num_updates
    updated, metrics = update(state)
    return keep(live, updated, state), (metrics, live)

  state, (stacked, done) = jax.lax.scan(step, state, None, length=num_updates)
  return state, learner.chunk_metrics(stacked, done)


def _per_game(value) -> np.ndarray | jax.Array:
  """float32[G]: a per-game hyperparameter (a tuple of the config's values, or traced)."""
  return np.array(value, np.float32) if isinstance(value, tuple) else value


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


def _as_shards(shards: parallel_lib.Shards | None, tree: Any):
  """(shards, tree): as given, or without shards one shard on one device and `tree` with a
  leading shard axis of size 1."""
  if shards is None:
    return parallel_lib.ONE, jax.tree.map(lambda x: x[None], tree)
  return shards, tree


def _episode_metrics(name: str, traj: Trajectory,
                     total: Callable = lambda x: x) -> dict[str, jax.Array]:
  """Episodes that ended in the rollout, their mean length and mean raw return per seat
  (`total`: sums over the other devices' games, `Shards.total`)."""
  done = traj.done.astype(jnp.float32)
  count = total(done.sum())
  out = {f"{name}/episodes": count,
         f"{name}/episode_length": (total((traj.episode_length * done).sum())
                                    / jnp.maximum(count, 1))}
  for seat in range(traj.episode_return.shape[-1]):
    out[f"{name}/return_{seat}"] = (total((traj.episode_return[..., seat] * done).sum())
                                    / jnp.maximum(count, 1))
  return out
