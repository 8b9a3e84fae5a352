"""A population of networks trained together: stacked members with a fixed capacity and a live
mask, one learning member beside frozen ones, matchmaking on device, and the payoff matrix of
the training games, all in one compiled update.

    population = Population(learner, capacity=8, scheme="pfsp", weighting="hard")
    state = population.init(seed=0)
    state, metrics = jax.jit(population.update)(state)
    state = jax.jit(population.add_member)(state)   # freeze the learner's copy; no recompile

Every array has a leading member axis N = `capacity`; which members exist is data (`live`),
so adding one changes no shape and compiles nothing. The learner (`state.learner`) is the one
member with gradients and optimizer work; the others act only. Each update:

1. the matchmaking scheme (`jaxplay.learn.matchmaking`: self-play, fictitious self-play,
   PFSP, PSRO's meta-strategies) turns (payoff, counts, live, learner) into a distribution
   over opponents, and each game's seats are filled: the learner in one seat, drawn
   opponents in the rest (`matchmaking.seat_members`: members int32[B, P] per game);
2. the games are played with every member's forward pass over the actors and each actor
   taking its own member's output (`rollout`), advantages per seat as in self-play;
3. the learner's PPO epochs run on its own decisions only (the others' samples weigh 0), and
   its magnet takes its step;
4. the payoff matrix moves towards the returns of the games that ended (an EMA per pair of
   members, `payoff_ema`; `counts` how many games each entry has seen).

Self-play is a population of one (`capacity=1`, every seat the learner): its update is the
`Learner`'s, to float tolerance (tested). The static parts (games, network, optimizer,
schedules) are the `Learner`'s; see jaxplay/learn/learner.py.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import struct

from jaxplay.learn import matchmaking
from jaxplay.learn.learner import Learner, chunk_scan


@struct.dataclass
class PopulationState:
  """Everything a population's run changes; every member array has a leading axis N.

  Attributes:
    params, magnet, opt_state, magnet_opt_state: per member, as in `TrainState`.
    live: bool[N] the members that exist.
    learner: int32[] the member that learns (the others are frozen).
    payoff: float32[N, N] member i's mean return against member j in the training games (an
      EMA; for more than two seats, in the games where both played).
    counts: float32[N, N] the games behind each entry.
    env_states, key, update: as in `TrainState`.
    baselines: float32[G, N * P] RAE's return averages per game and role (member, seat).
  """

  params: Any
  magnet: Any
  opt_state: Any
  magnet_opt_state: Any
  live: jax.Array
  learner: jax.Array
  payoff: jax.Array
  counts: jax.Array
  env_states: tuple
  key: jax.Array
  update: jax.Array
  baselines: jax.Array


def _take(tree: Any, index: jax.Array) -> Any:
  """Member `index` of stacked arrays [N, ...]."""
  return jax.tree.map(lambda x: x[index], tree)


def _put(tree: Any, index: jax.Array, value: Any) -> Any:
  """Stacked arrays [N, ...] with member `index` replaced by `value`."""
  return jax.tree.map(lambda x, v: x.at[index].set(v), tree, value)


class Population:
  """A population of up to `capacity` members of the learner's network (see the module
  docstring).

  Args:
    learner: what is static (games, network, optimizer, schedules, config).
    capacity: N, the most members.
    scheme: a matchmaking scheme of `matchmaking.SCHEMES`, with its `options` (PFSP's
      weighting, PSRO's meta-solver, ...).
    payoff_ema: the step of the payoff matrix towards each update's mean returns.

  Raises:
    ConfigError: an unknown scheme or option (the message names the allowed ones).
  """

  def __init__(self, learner: Learner, capacity: int, scheme: str = "self_play", *,
               payoff_ema: float = 0.1, **options):
    self.learner, self.capacity, self.payoff_ema = learner, capacity, payoff_ema
    self.scheme, self.options = scheme, options
    matchmaking.opponent_distribution(  # checks the scheme and its options now, not in jit
        scheme, jnp.zeros((capacity, capacity)), jnp.zeros((capacity, capacity)),
        jnp.arange(capacity) == 0, jnp.int32(0), **options)
    self.num_updates = learner.num_updates

  def init(self, seed: int) -> PopulationState:
    """One live member (member 0, the learner, initialized as `Learner.init(seed)` does); the
    other slots hold initial parameters of their own until added."""
    first = self.learner.init(seed)
    n = self.capacity
    stacked = lambda tree: jax.tree.map(lambda x: jnp.broadcast_to(x, (n,) + x.shape), tree)
    players = self.learner.num_players
    return PopulationState(
        params=stacked(first.params), magnet=stacked(first.magnet),
        opt_state=stacked(first.opt_state), magnet_opt_state=stacked(first.magnet_opt_state),
        live=jnp.arange(n) == 0, learner=jnp.int32(0),
        payoff=jnp.zeros((n, n), jnp.float32), counts=jnp.zeros((n, n), jnp.float32),
        env_states=first.env_states, key=first.key, update=first.update,
        baselines=jnp.zeros((first.baselines.shape[0], n * players), jnp.float32))

  def update(self, state: PopulationState) -> tuple[PopulationState, dict[str, jax.Array]]:
    """One update of the learner against the opponents its matchmaker draws (pure)."""
    learner, ppo = self.learner, self.learner.config.ppo
    key = jax.random.wrap_key_data(state.key)
    match_key = jax.random.fold_in(key, 0x6d617463)  # leaves the learner's own split intact
    key, shuffle_key, *game_keys = jax.random.split(key, 2 + len(learner.games.envs))
    schedules = learner.schedules(state.update)
    opponents = matchmaking.opponent_distribution(
        self.scheme, state.payoff, state.counts, state.live, state.learner, **self.options)
    members = tuple(
        matchmaking.seat_members(k, state.learner, opponents, ppo.num_envs, env.num_players)
        for k, env in zip(jax.random.split(match_key, len(learner.games.raw)),
                          learner.games.raw))
    batch, env_states, baselines, trajectories, metrics = learner.collect(
        state.params, state.env_states, state.baselines, game_keys, schedules, members)
    mine = (batch.member == state.learner).astype(jnp.float32)
    batch = batch.replace(policy_weight=batch.policy_weight * mine,
                          value_weight=batch.value_weight * mine)
    magnet = _take(state.magnet, state.learner)
    batch = learner.with_magnet_logits(batch, magnet)
    params, opt_state, loss_metrics = learner.optimize(
        _take(state.params, state.learner), _take(state.opt_state, state.learner), batch,
        shuffle_key, schedules)
    magnet, magnet_opt_state, magnet_metrics = learner.magnet_step(
        magnet, _take(state.magnet_opt_state, state.learner), params, batch, schedules)
    payoff, counts = self._payoff_step(state.payoff, state.counts, trajectories, members)
    metrics.update(loss_metrics, **magnet_metrics, shaping=schedules["shaping"])
    return state.replace(
        params=_put(state.params, state.learner, params),
        opt_state=_put(state.opt_state, state.learner, opt_state),
        magnet=_put(state.magnet, state.learner, magnet),
        magnet_opt_state=_put(state.magnet_opt_state, state.learner, magnet_opt_state),
        payoff=payoff, counts=counts, env_states=env_states, baselines=baselines,
        key=jax.random.key_data(key), update=state.update + 1), metrics

  def _payoff_step(self, payoff, counts, trajectories, members):
    """The payoff matrix moved towards the mean returns of this update's finished games: for
    every ordered pair of seats (s, t) of a game, member members[s]'s return against
    members[t]."""
    n = self.capacity
    total, games = jnp.zeros((n, n)), jnp.zeros((n, n))
    for traj, seats in zip(trajectories, members):
      done = traj.done.astype(jnp.float32)                          # [T, B]
      num_players = seats.shape[1]
      for s in range(num_players):
        for t in range(num_players):
          if s == t:
            continue
          pair = seats[:, s] * n + seats[:, t]                      # [B]
          ended = done.sum(0)                                       # games per slot
          returns = (traj.episode_return[..., s] * done).sum(0)     # [B]
          total = total + jax.ops.segment_sum(returns, pair, n * n).reshape(n, n)
          games = games + jax.ops.segment_sum(ended, pair, n * n).reshape(n, n)
    mean = total / jnp.maximum(games, 1.0)
    moved = payoff + self.payoff_ema * (mean - payoff)
    return jnp.where(games > 0, moved, payoff), counts + games

  def add_member(self, state: PopulationState) -> PopulationState:
    """Freezes a copy of the learner in the first slot not yet live (parameters, magnet,
    optimizer state; its payoff row and column start at the learner's). The learner keeps
    learning. A full population is left as it is (check `state.live.all()` before)."""
    slot = jnp.argmin(state.live)  # the first dead slot
    full = state.live.all()
    copy = lambda tree: jax.tree.map(
        lambda x: jnp.where(full, x, x.at[slot].set(x[state.learner])), tree)
    payoff = jnp.where(full, state.payoff, state.payoff.at[slot].set(state.payoff[state.learner])
                       .at[:, slot].set(state.payoff[:, state.learner]))
    counts = jnp.where(full, state.counts, state.counts.at[slot].set(0.0).at[:, slot].set(0.0))
    return state.replace(params=copy(state.params), magnet=copy(state.magnet),
                         opt_state=copy(state.opt_state),
                         magnet_opt_state=copy(state.magnet_opt_state),
                         live=state.live.at[slot].set(True), payoff=payoff, counts=counts)

  def train_chunk(self, state: PopulationState, num_updates: int):
    """Up to `num_updates` updates in one `lax.scan`, as `Learner.train_chunk`."""
    return chunk_scan(self.update, self.learner, state, num_updates)
