"""A population of networks trained together: stacked members with a fixed capacity and a live
mask, one learning member beside frozen ones, matchmaking on device, and the payoff matrix of
the training games, all in one compiled update.

    population = Population(learner, capacity=8, scheme="pfsp", weighting="hard")
    state = population.init(seed=0)
    state, metrics = jax.jit(population.update)(state)
    state = jax.jit(population.add_member)(state)   # freeze the learner's copy; no recompile

Every array has a leading member axis N = `capacity`; which members exist is data (`live`),
so adding one changes no shape and compiles nothing. The learners (`state.learners`, L of
them, side by side as `learner_map` says: independent self-play runs, per-seat best
responses) have gradients and optimizer work; the others act only. Each update:

1. the matchmaking scheme (`jaxplay.learn.matchmaking`: self-play, fictitious self-play,
   PFSP, PSRO's meta-strategies) turns (payoff, counts, live, learner) into a distribution
   over opponents, and each game's seats are filled: the learner in one seat, drawn
   opponents in the rest (`matchmaking.seat_members`: members int32[B, P] per game);
2. the games are played with every member's forward pass over the actors and each actor
   taking its own member's output (`rollout`), advantages per seat as in self-play;
3. each learner's PPO epochs run on its own decisions in its own games only (the others'
   samples weigh 0), and its magnet takes its step;
4. the payoff matrix moves towards the returns of the games that ended (an EMA per pair of
   members, `payoff_ema`; `counts` how many games each entry has seen).

Scripted partners (`scripted=`, e.g. the Overcooked partners of `jaxplay.agents.scripted`)
are opponents after the network slots, ids N' .. N' + S - 1, drawn for a game with
probability `scripted_weight` (`rollout`: their actors take the scripted actions; no learner
has their ids, so their samples weigh 0). Capacity 1, scheme "self_play", weight 1: a PPO
best response to the scripted partners.

Data parallelism (`config.parallel`, as the `Learner`'s): with S data shards every learner's
B games are cut into S runs of B / S, and the update's games are laid out shard-major (shard
s holds the s-th run of every learner's games: `shard_major`), so that a device of the mesh
holds its shards of every learner. Matchmaking (on the replicated payoff matrix) seats all
games; each device rolls out its games, each learner's PPO epochs average its gradients over
all shards, and the payoff matrix moves by the returns summed over every device. The result
depends on S, not on the devices; with S = 1 the layout and the update are as they were.
Independent learners may also be split over a "members" axis of M devices
(`config.parallel.members`): each device then holds, plays and trains the games of its L / M
learners only (`shard_major` cuts the learners into M blocks), with the same result.

Self-play is a population of one (`capacity=1`, every seat the learner): its update is the
`Learner`'s, to float tolerance (tested). The static parts (games, network, optimizer,
schedules) are the `Learner`'s; see jaxplay/learn/learner.py.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Sequence

import jax
import jax.numpy as jnp
from flax import struct
from jax.sharding import PartitionSpec

from jaxplay.agents.agent import Agent
from jaxplay.core.env import tree_select
from jaxplay.core.errors import ConfigError, check_number
from jaxplay.io.checkpoints import CheckpointError
from jaxplay.learn import compiling, matchmaking, side_by_side, tabular
from jaxplay.learn.learner import Learner, chunk_scan
from jaxplay.learn.population_entropy import check_ramp as check_population_entropy_ramp
from jaxplay.learn.population_entropy import reward_bonus as population_entropy_bonus
from jaxplay.learn.population_entropy import weight_at as population_entropy_at
from jaxplay.parallel import DATA


@struct.dataclass
class PopulationState:
  """Everything a population's run changes; every member array has a leading axis N.

  Attributes:
    params, magnet, opt_state, magnet_opt_state: per member, as in `TrainState`.
    live: bool[N] the members that exist.
    learners: int32[L] the members that learn (the others are frozen); learner l plays the
      l-th run of every game's B = L x num_envs games.
    payoff: float32[N, N] member i's mean return against member j in the training games (an
      EMA; for more than two seats, in the games where both played).
    counts: float32[N, N] the games behind each entry.
    training_games: float32[N, N] the games of the training updates behind each entry:
      `counts` less the games measured outside training (COLE's generation measurements,
      PSRO's exact tables), i.e. how often each pair trained together.
    opponents: float32[L, N'] each learner's opponent distribution of the last update (over
      the population's slots, or per seat over the other seat's N' = capacity members); with
      the scheme "given", the distribution it plays by, set from outside (`with_opponents`).
    env_states, key, update: as in `TrainState`, with L x num_envs games of each game.
    baselines: float32[G, N * P] RAE's return averages per game and role (member, seat).
    born: int32[N] the update at which each slot's member joined (0 for the first ones): the
      members' age order, for rules that replace the oldest (COLE; leagues with
      `add_member(..., replace_oldest=True)`).
    run_keys: uint32[L, 2] each learner's own key data, for independent learners trained as
      separate programs (`learner_map="threads"`: learner l's key is its run's, as `key` is
      one program's, which then stays as it is); at init learner l's is `Learner.fresh(seed +
      l)`'s key.
  """

  params: Any
  magnet: Any
  opt_state: Any
  magnet_opt_state: Any
  live: jax.Array
  learners: jax.Array
  payoff: jax.Array
  counts: jax.Array
  training_games: jax.Array
  opponents: jax.Array
  env_states: tuple
  key: jax.Array
  update: jax.Array
  baselines: jax.Array
  born: jax.Array
  run_keys: jax.Array


# PopulationState leaves newer than some saved checkpoints: restoring one without them takes
# them from the fresh state (`Checkpointer.restore(..., added=...)`; "born": 0, "run_keys" the
# seeds' keys, as at init; "training_games": 0, unknown for runs saved before it).
ADDED_LEAVES = ("born", "run_keys", "training_games")
# Leaves older checkpoints hold and PopulationState no longer has: env states stored their
# observation and legal-action mask until 2026-12 (now computed when read);
# `Checkpointer.restore(..., dropped=...)`.
DROPPED_LEAVES = ("observation", "legal_action_mask")


def restore_saved(checkpoints, step: int | None, target: Any) -> Any:
  """A run's state saved at `step` (`Checkpointer.restore`; None: the latest) in `target`'s
  structure, whether this layout of the state wrote it or an older one (`ADDED_LEAVES`,
  `DROPPED_LEAVES`)."""
  return checkpoints.restore(step, target, added=ADDED_LEAVES, dropped=DROPPED_LEAVES)

GIVEN = "given"  # the scheme of opponent distributions set from outside (`with_opponents`)


def _take(tree: Any, index: jax.Array) -> Any:
  """Member `index` of stacked arrays [N, ...]."""
  return jax.tree.map(lambda x: x[index], tree)


def _put(tree: Any, index: jax.Array, value: Any) -> Any:
  """Stacked arrays [N, ...] with member `index` replaced by `value`."""
  return jax.tree.map(lambda x, v: x.at[index].set(v), tree, value)


def _games_forgotten(state: PopulationState, slots: jax.Array, forget: jax.Array
                     ) -> PopulationState:
  """`state` with the game counts (`counts`, `training_games`) of slots `slots` int32[K]
  (rows and columns) at 0 where `forget` bool[K]: a new member's games start afresh."""
  def zeroed(games):
    games = games.at[slots].set(jnp.where(forget[:, None], 0.0, games[slots]))
    return games.at[:, slots].set(jnp.where(forget[None, :], 0.0, games[:, slots]))
  return state.replace(counts=zeroed(state.counts), training_games=zeroed(state.training_games))


def _check_scripted(scripted: tuple, weight, per_seat: bool) -> float:
  """`scripted_weight` as a float in [0, 1], or a ConfigError: a weight without scripted
  partners, scripted partners of per-seat populations, or agents that are not `Agent`s."""
  weight = check_number("population", "scripted_weight", weight, 0.0, 1.0)
  if not all(isinstance(agent, Agent) for agent in scripted):
    raise ConfigError(f"population: scripted must be Agents (jaxplay.agents.scripted), got "
                      f"{[type(agent).__name__ for agent in scripted]}")
  if scripted and per_seat:
    raise ConfigError("population: scripted partners play in shared populations only, not "
                      "per seat")
  if weight > 0 and not scripted:
    raise ConfigError(f"population: scripted_weight {weight} needs scripted partners")
  return weight


def _check_scripted_share(share, weight: float, capacity: int) -> float:
  """`scripted_share` as a float in [0, 1], or a ConfigError: a share below 1 without scripted
  games (weight 0) or with other networks than the learner (capacity above 1), whose mixed
  actions would be another member's."""
  share = check_number("population", "scripted_share", share, 0.0, 1.0)
  if share < 1 and (weight == 0 or capacity != 1):
    raise ConfigError(f"population: scripted_share {share} mixes a scripted partner with the "
                      f"learner's own policy: it needs scripted games (scripted_weight > 0, "
                      f"got {weight}) and capacity 1 (the learner alone, got {capacity})")
  return share


def _scripted_returns(trajectories, members, num_slots: int, num_scripted: int,
                      sum_devices=lambda x: x) -> dict[str, jax.Array]:
  """Metrics of the games that ended against scripted partners: per partner j,
  `population/scripted_return_<j>` the mean return of the network members that played it
  (the learners: scripted partners are not drawn for frozen members) and
  `population/scripted_episodes_<j>` those games (for averaging over a chunk), over every
  device's games (`sum_devices`: `Shards.total`)."""
  total, games = jnp.zeros(num_scripted), jnp.zeros(num_scripted)
  for traj, seats in zip(trajectories, members):
    done = traj.done.astype(jnp.float32)                                  # [T, B]
    for s in range(seats.shape[1]):
      for t in range(seats.shape[1]):
        if s == t:
          continue
        against = (seats[:, s] < num_slots) & (seats[:, t] >= num_slots)  # [B]
        partner = jnp.where(against, seats[:, t] - num_slots, num_scripted)  # dropped: S
        total = total + jax.ops.segment_sum(
            (traj.episode_return[..., s] * done).sum(0), partner, num_scripted)
        games = games + jax.ops.segment_sum(done.sum(0), partner, num_scripted)
  total, games = sum_devices((total, games))
  out = {}
  for j in range(num_scripted):
    out[f"population/scripted_return_{j}"] = total[j] / jnp.maximum(games[j], 1.0)
    out[f"population/scripted_episodes_{j}"] = games[j]
  return out


class Population:
  """A population of up to `capacity` members of the learner's network (see the module
  docstring).

  Args:
    learner: what is static (games, network, optimizer, schedules, config); each learning
      member gets the config's batch (`ppo.num_envs` games of each game) and schedule.
    capacity: N, the most members.
    scheme: a matchmaking scheme of `matchmaking.SCHEMES`, with its `options` (PFSP's
      weighting, PSRO's meta-solver, ...), or "given": the learners play by the opponent
      distributions in the state (`with_opponents`; PSRO sets its meta-strategy once an
      iteration).
    num_learners: L, the members that learn side by side (members 0 .. L - 1 at first, each
      initialized from its own seed), side by side as `learner_map` says.
    per_seat: one population per seat of a two-player game (poker; one shared population
      diverges there, open_spiel#632): `capacity` members a seat, seat s's in slots s * N ..
      s * N + N - 1 (`matchmaking.seat_population_ids`), one learner a seat, always in its
      seat, against the other seat's population. `num_learners` is then 2.
    payoff_ema: the step of the payoff matrix towards each update's mean returns.
    schedule_period: None: the learners follow the config's schedules (entropy coefficient,
      magnet fraction, ...) over the whole run; an int P: over every P updates anew (update
      u is scheduled as update (u mod P) x (run's updates / P) would be), so that each of
      PSRO's best responses anneals from the start values to the final ones.
    learner_map: how the learners run side by side (`side_by_side.WITH_THREADS`): their PPO
      epochs "vmap"ped or "map"ped (one after the other) in one program; or, for independent
      learners (`independent`: K self-play runs, FCP's stage 1), "threads": each learner's
      whole update a program of its own, a population of one (`alone`), compiled once and
      called for every learner from host threads, a learner a core at once (`compile_chunk`;
      one update of a small network does not fill two CPU cores, BUILD_NOTES.md "Sweeps").
      "auto": vmap on accelerators; on the CPU threads for independent learners, else map.
      With threads learner l trains as the population of one of seed + l would (its own key,
      `PopulationState.run_keys`): other random draws than one program's.
    scripted: S scripted partners (`Agent`s, e.g. `jaxplay.agents.scripted.make_partners`;
      shared populations only): member ids N' .. N' + S - 1 after the N' = `num_slots`
      network slots. They have no parameters, never learn and are always there; a game's
      opponent is one of them with probability `scripted_weight` (uniform among them), else
      drawn from the scheme's distribution over the network slots (`_matchmake`). The
      payoff matrix stays over the network slots; the learners' returns against each
      partner are the update's metrics `population/scripted_return_<j>`.
    scripted_weight: in [0, 1]; 1 with capacity 1 and scheme "self_play": a best response
      to the scripted partners.
    scripted_share: in [0, 1]: the probability that a scripted partner's actor takes its
      agent's action at a step (drawn per actor and step); otherwise the action sampled from
      the network run for it (`rollout`), which with capacity 1 is the learner: below 1 the
      partner is the learner's own policy mixed with the scripted one (E3T, Yan et al. 2023,
      with the random partner). Below 1 only with capacity 1.
    population_entropy: MEP's alpha (>= 0; 0: off): with scheme "self_play" and several
      learners, each learner's training reward at a decision gets -alpha log pibar(a | s),
      pibar the mean policy of the L learners (`jaxplay.learn.population_entropy`). The
      learners then see each other's networks: one program, not threads.
    population_entropy_ramp: (start, end) in a learner's env steps: alpha is 0 until start
      and rises linearly to `population_entropy` at end (`population_entropy.weight_at`);
      (0, 0): alpha from the first update. Its value in force is the metric
      `population/population_entropy`.
    partner_noise: in [0, 1): the probability that a frozen member's actor (every network
      slot but the learners) takes a uniformly random legal action at a step instead of its
      own (`rollout`'s member_noise; drawn per actor and step): E3T's mixture (Yan et al.
      2023) applied to FCP's or COLE's partners; the payoff matrix then holds the returns
      with the noisy partners. 0: never, nothing drawn.

  Raises:
    ConfigError: an unknown scheme or option (the message names the allowed ones), more
      learners than the capacity, per-seat populations of a game that is not one
      two-player game, a bad scripted_weight or scripted_share (`_check_scripted`,
      `_check_scripted_share`), a population_entropy that is negative or not for several
      self-play learners, a population_entropy_ramp that is not (start, end) with
      0 <= start <= end or that starts at or after the run's end, a partner_noise outside
      [0, 1), or "threads" for learners that are not independent.
  """

  def __init__(self, learner: Learner, capacity: int, scheme: str = "self_play", *,
               num_learners: int = 1, per_seat: bool = False, payoff_ema: float = 0.1,
               schedule_period: int | None = None, learner_map: str = "auto",
               scripted: Sequence[Agent] = (), scripted_weight: float = 0.0,
               scripted_share: float = 1.0, population_entropy: float = 0.0,
               population_entropy_ramp: tuple[int, int] = (0, 0), partner_noise: float = 0.0,
               **options):
    self.scripted = tuple(scripted)
    self.scripted_weight = _check_scripted(self.scripted, scripted_weight, per_seat)
    self.scripted_share = _check_scripted_share(scripted_share, self.scripted_weight, capacity)
    if per_seat:
      players = [env.num_players for env in learner.games.raw]
      if players != [2]:
        raise ConfigError(f"population: per-seat populations need one two-player game, got "
                          f"{list(learner.games.names)} with {players} players")
      num_learners = 2
    if not 1 <= num_learners <= capacity * (2 if per_seat else 1):
      raise ConfigError(f"population: num_learners must be in 1..capacity ({capacity}), got "
                        f"{num_learners!r}")
    if learner.parallel.cuts_params:
      raise ConfigError("population: members are whole on every device; the learner's "
                        "parameters are cut over the devices (parallel.params), which only "
                        "self-play runs allow")
    if num_learners % learner.parallel.shards.members:
      raise ConfigError(f"population: the {learner.parallel.shards.members} devices of the "
                        f"mesh's members axis (parallel.members) must divide num_learners "
                        f"({num_learners})")
    self.learner, self.capacity, self.payoff_ema = learner, capacity, payoff_ema
    self.num_learners, self.per_seat = num_learners, per_seat
    if schedule_period is not None and not 1 <= schedule_period <= learner.num_updates:
      raise ConfigError(f"population: schedule_period must be in 1..{learner.num_updates} "
                        f"(the run's updates), got {schedule_period!r}")
    self.schedule_period = schedule_period
    self.learner_map = side_by_side.check_mode(learner_map, "population: learner_map",
                                               side_by_side.WITH_THREADS)
    self.num_slots = capacity * (2 if per_seat else 1)
    self.scheme, self.options = scheme, options
    self.partner_noise = check_number("population", "partner_noise", partner_noise, 0.0, 1.0)
    if self.partner_noise >= 1.0:
      raise ConfigError("population: partner_noise must be below 1 (at 1 every frozen partner "
                        "is the random partner: name it in scripted instead)")
    self.population_entropy = check_number("population", "population_entropy",
                                           population_entropy, 0.0, float("inf"))
    self.population_entropy_ramp = check_population_entropy_ramp(
        "population: population_entropy_ramp", population_entropy_ramp)
    run_steps = learner.num_updates * learner.steps_per_update
    if self.population_entropy and self.population_entropy_ramp[0] >= run_steps:
      raise ConfigError(f"population: population_entropy_ramp starts at "
                        f"{self.population_entropy_ramp[0]} env steps, at or after the run's "
                        f"end ({run_steps} env steps): the bonus would never be paid")
    if self.population_entropy and not (scheme == "self_play" and num_learners > 1
                                         and not per_seat):
      raise ConfigError(f"population: population_entropy (MEP) rewards several self-play "
                        f"learners (scheme 'self_play', num_learners > 1, not per seat), got "
                        f"scheme {scheme!r} with {num_learners} learner(s)"
                        f"{' per seat' if per_seat else ''}")
    if scheme != GIVEN:  # checks the scheme and its options now, not in jit
      matchmaking.opponent_distribution(
          scheme, jnp.zeros((capacity, capacity)), jnp.zeros((capacity, capacity)),
          jnp.arange(capacity) == 0, jnp.int32(0), learner_seat=0 if per_seat else None,
          **options)
    self.num_updates = learner.num_updates
    self._compiled_fresh = jax.jit(self.fresh)
    if learner_map == "threads" and not self.independent:
      raise ConfigError("population: learner_map 'threads' trains independent learners "
                        "(scheme 'self_play', several learners, no scripted partners, not per "
                        "seat, one device, no population_entropy) as separate programs; these "
                        "learners play or see each other or share devices: use 'auto', 'vmap' "
                        "or 'map'")
    self.threaded = self.independent and (
        learner_map == "threads" or (learner_map == "auto" and not side_by_side.vmaps("auto")))
    # A learner's run alone, as the threads train it.
    self.alone = Population(learner, 1, learner_map="map") if self.threaded else None

  @property
  def independent(self) -> bool:
    """Whether the learners are independent runs: several self-play learners that play only
    themselves (no scripted partners, not per seat) and see nothing of each other (no
    population entropy) on one device."""
    return (self.scheme == "self_play" and self.num_learners > 1 and not self.per_seat
            and not self.scripted and not self.population_entropy
            and self.learner.parallel.mesh.size == 1
            and self.learner.parallel.num_shards == 1)

  def init(self, seed: int) -> PopulationState:
    """`fresh(seed)` as one compiled program, placed on the mesh (`place`)."""
    return self.place(self._compiled_fresh(seed))

  def fresh(self, seed: int | jax.Array) -> PopulationState:
    """L live members, the learners (slots 0 .. L - 1; per seat: the first slot of each
    seat): learner l initialized (parameters and its run of games) as `Learner.fresh(seed +
    l)` does; the other slots hold learner 0's initial parameters until added. Jittable;
    on this process's default device (the shard-major games are put together there, not by
    moving games between devices)."""
    # One learner's init in a loop over the seeds (compiled once, not L times; not vmapped:
    # network initializers are never vmapped on XLA:CPU, see `next_generation`).
    starts = jax.lax.map(self.learner.fresh, seed + jnp.arange(self.num_learners))  # [L, ...]
    first, n = _take(starts, 0), self.num_slots
    learners = (jnp.arange(2, dtype=jnp.int32) * self.capacity if self.per_seat
                else jnp.arange(self.num_learners, dtype=jnp.int32))

    def stacked(get):
      slots = jax.tree.map(lambda x: jnp.broadcast_to(x, (n,) + x.shape), get(first))
      return _put(slots, learners, get(starts))

    games = lambda xs: self.shard_major(xs.reshape((-1,) + xs.shape[2:]))  # learner-major
    return PopulationState(
        params=stacked(lambda s: s.params), magnet=stacked(lambda s: s.magnet),
        opt_state=stacked(lambda s: s.opt_state),
        magnet_opt_state=stacked(lambda s: s.magnet_opt_state),
        live=jnp.isin(jnp.arange(n), learners), learners=learners,
        # At first every learner plays itself (per seat: the other seat's learner).
        opponents=jax.nn.one_hot(learners % self.capacity if self.per_seat else learners,
                                 self.capacity, dtype=jnp.float32),
        payoff=jnp.zeros((n, n), jnp.float32), counts=jnp.zeros((n, n), jnp.float32),
        training_games=jnp.zeros((n, n), jnp.float32),
        env_states=jax.tree.map(games, starts.env_states), key=first.key,
        update=first.update,
        baselines=jnp.zeros((first.baselines.shape[0], n * self.learner.num_players),
                            jnp.float32),
        born=jnp.zeros((n,), jnp.int32), run_keys=starts.key)

  def place(self, state: PopulationState) -> PopulationState:
    """`state` on the learner's mesh: env states cut along their games axis over the data
    devices (and the members devices: `DataParallel.games_spec`), everything else
    replicated (`Learner.place`)."""
    parallel = self.learner.parallel
    return parallel.replicate(state.replace(env_states=())).replace(
        env_states=parallel.shard(state.env_states))

  def shard_major(self, games: Any) -> Any:
    """Arrays over the update's games [L x B, ...] in learner-major order (learner l's B
    games, then learner l + 1's) -> shard-major [S x L x B / S, ...] (shard s: the s-th run
    of B / S games of every learner, learner-major). With one shard: as they are. On a
    members axis of M devices the learners are cut into M blocks first: [M, S, L / M, B / S,
    ...], so that the (m D + d)-th of M x D equal pieces (device (d, m) of D data devices:
    `DataParallel.games_spec`) holds the games of learner block m in device d's shards. The
    layout depends on S and M only, not on D: a run resumed on another number of data
    devices keeps each learner's games."""
    return self._permute_games(games, to_shards=True)

  def learner_major(self, games: Any) -> Any:
    """The inverse of `shard_major`: the update's games [L x B, ...] as the state holds them
    -> learner-major (learner l's B games, then learner l + 1's), the same for any S and M."""
    return self._permute_games(games, to_shards=False)

  @property
  def games_layout(self) -> dict[str, int]:
    """How the state's games are laid out (`shard_major`): {"shards": S, "members": M}.
    Checkpoints record it, so that a run resumed with other `parallel` settings re-lays its
    games out (`relaid`) instead of handing learners each other's games."""
    parallel = self.learner.parallel
    return {"shards": parallel.num_shards, "members": parallel.shards.members}

  def relaid(self, state: PopulationState, shards: int, members: int) -> PopulationState:
    """`state` with its games laid out for S = `shards` and M = `members` (a checkpoint's
    `games_layout`) re-laid out for this population's (each learner keeps its own games,
    in their order). The same state when the layouts are equal.

    Raises:
      CheckpointError: the games cannot have been laid out so (S or M does not divide them).
    """
    if {"shards": shards, "members": members} == self.games_layout:
      return state
    games = jax.tree.leaves(state.env_states)[0].shape[0]
    if games % (self.num_learners * shards) or self.num_learners % members:
      raise CheckpointError(
          f"the checkpoint says its {games} games are laid out for {shards} data shards and "
          f"{members} member devices, which do not divide {self.num_learners} learners' games")
    saved_layout = jax.jit(functools.partial(self._permute_games, to_shards=False,
                                             layout=(shards, members)))
    return state.replace(env_states=jax.jit(self.shard_major)(saved_layout(state.env_states)))

  def _permute_games(self, games: Any, to_shards: bool,
                     layout: tuple[int, int] | None = None) -> Any:
    """Learner-major [M, L / M, S, B / S, ...] <-> shard-major [M, S, L / M, B / S, ...]
    (flattened into the leading axis; see `shard_major`); `layout` (S, M): another layout's
    than this population's (`relaid`)."""
    parallel = self.learner.parallel
    num_shards, members = layout or (parallel.num_shards, parallel.shards.members)
    if num_shards == 1:
      return games
    learners = self.num_learners
    blocks = ((learners // members, num_shards) if to_shards
              else (num_shards, learners // members))

    def one(x):
      runs = x.reshape((members,) + blocks + (x.shape[0] // (learners * num_shards),)
                       + x.shape[1:])
      return jnp.swapaxes(runs, 1, 2).reshape(x.shape)
    return jax.tree.map(one, games)

  def update(self, state: PopulationState, tables: tabular.MemberTables | None = None
             ) -> tuple[PopulationState, dict[str, jax.Array]]:
    """One update of every learner against the opponents its matchmaker draws (pure; once
    `state.update` reaches the run's updates, the members stay as they are).
    `tables`: the frozen members' policy tables (`jaxplay.learn.tabular`, built from this
    state's members): their actors play from them, and only the learners' networks run."""
    learner = self.learner
    key = jax.random.wrap_key_data(state.key)
    match_key = jax.random.fold_in(key, 0x6d617463)  # leaves the learner's own split intact
    key, shuffle_key, *game_keys = jax.random.split(key, 2 + len(learner.games.envs))
    schedules = learner.schedules(self._scheduled_update(state.update))
    if self.population_entropy:  # MEP's alpha in force, beside the learner's schedules
      schedules = dict(schedules, population_entropy=population_entropy_at(
          self.population_entropy, self.population_entropy_ramp,
          learner.env_steps_done(state.update)))
    members, opponents = self._matchmake(state, match_key)
    split = learner.parallel.split_key
    mine = lambda tree: _take(tree, state.learners)
    replicated = (state.learners, state.params, mine(state.params), mine(state.opt_state),
                  mine(state.magnet), mine(state.magnet_opt_state), state.baselines, schedules,
                  tables)
    sharded = (state.env_states, self.shard_major(members), split(shuffle_key),
               tuple(map(split, game_keys)))
    games_spec, keys_spec = learner.parallel.games_spec, PartitionSpec(DATA)
    (params, opt_state, magnet, magnet_opt_state, baselines, (total, games), metrics), \
        env_states = learner.parallel.run(
            self._learn, replicated, sharded, sharded_out=games_spec,
            sharded_in=(games_spec, games_spec, keys_spec, keys_spec))
    payoff, counts = self._payoff_step(state.payoff, state.counts, total, games)
    metrics.update(learner.schedule_metrics(schedules))
    if self.population_entropy:
      metrics["population/population_entropy"] = schedules["population_entropy"]
    # Once the run is finished the learners keep their values (see `keep`): selected here,
    # on the learners' slots alone, before they are written back in place.
    finished = state.update >= self.num_updates
    put = lambda tree, value: _put(tree, state.learners, tree_select(
        finished, _take(tree, state.learners), value))
    return state.replace(
        params=put(state.params, params), opt_state=put(state.opt_state, opt_state),
        magnet=put(state.magnet, magnet),
        magnet_opt_state=put(state.magnet_opt_state, magnet_opt_state),
        payoff=payoff, counts=counts, training_games=state.training_games + games,
        opponents=opponents, env_states=env_states,
        baselines=baselines, key=jax.random.key_data(key), update=state.update + 1), metrics

  def _learn(self, replicated: tuple, sharded: tuple) -> tuple[tuple, tuple]:
    """One device's part of an update (inside `DataParallel.run`; see `Learner._learn`).

    Args:
      replicated: (learners, every member's params, the learners' params, opt_state,
        magnet, magnet_opt_state [L, ...], baselines, schedules, member tables or None).
      sharded: (per game this device's games, their seats int32[B_d, P], shuffle keys [l],
        per game rollout keys [l]) for its l local shards (on a members axis, the games of
        its block of the learners).

    Returns:
      ((the learners' params, opt_state, magnet, magnet_opt_state, baselines, (payoff
      return sums, game counts) [N', N'], metrics) summed or averaged over every device,
      env states).
    """
    learner, shards = self.learner, self.learner.parallel.shards
    (learners, params_all, params, opt_state, magnet, magnet_opt_state, baselines, schedules,
     tables) = replicated
    env_states, members, shuffle_keys, game_keys = sharded
    local_learners = self.num_learners // shards.members  # this device's: block m of M
    bonus = None if not self.population_entropy else population_entropy_bonus(
        learner.model, params, schedules["population_entropy"], learner.num_players,
        self.learner_map)
    noise = None if not self.partner_noise else jnp.where(  # static: 0 draws nothing
        jnp.isin(jnp.arange(self.num_slots), learners), 0.0,
        self.partner_noise).astype(jnp.float32)
    batch, env_states, baselines, trajectories, metrics = learner.collect(
        params_all if tables is None else params, env_states, baselines, game_keys, schedules,
        members, blocks=local_learners, scripted=self.scripted,
        scripted_share=self.scripted_share, member_noise=noise, shards=shards, tables=tables,
        reward_bonus=bonus)
    # [l x L', ...] in (shard, learner) order -> per learner its l shards [L', l, ...]
    batch = jax.tree.map(lambda x: jnp.swapaxes(
        x.reshape((shards.local, local_learners) + x.shape[1:]), 0, 1), batch)

    def learn(member, params, opt_state, magnet, magnet_opt_state, batch):
      mine = (batch.member == member).astype(jnp.float32)  # its own decisions in its games
      batch = batch.replace(policy_weight=batch.policy_weight * mine,
                            value_weight=batch.value_weight * mine)
      batch = learner.with_magnet_logits(batch, magnet)
      params, opt_state, loss_metrics = learner.optimize(params, opt_state, batch,
                                                         shuffle_keys, schedules, shards=shards)
      magnet, magnet_opt_state, magnet_metrics = learner.magnet_step(
          magnet, magnet_opt_state, params, batch, schedules, shards=shards)
      return params, opt_state, magnet, magnet_opt_state, {**loss_metrics, **magnet_metrics}

    # Each device of the mesh's "members" axis trains its block of the learners.
    learn_all = side_by_side.over_leading_axis(
        learn, "map" if self.learner_map == "threads" else self.learner_map)
    params, opt_state, magnet, magnet_opt_state, learn_metrics = shards.gather(learn_all(
        *shards.mine((learners, params, opt_state, magnet, magnet_opt_state)), batch))
    metrics.update(jax.tree.map(jnp.mean, learn_metrics))
    if self.scripted:  # static
      metrics.update(_scripted_returns(trajectories, members, self.num_slots,
                                       len(self.scripted), shards.total))
    payoff_sums = self._payoff_sums(trajectories, members, shards.total)
    return (params, opt_state, magnet, magnet_opt_state, baselines, payoff_sums,
            metrics), env_states

  def _scheduled_update(self, update: jax.Array) -> jax.Array:
    """The update whose schedules `update` follows (see `schedule_period`)."""
    if self.schedule_period is None:
      return update
    period = self.schedule_period
    return (update % period) * (self.learner.num_updates // period)

  def with_opponents(self, state: PopulationState, opponents: jax.Array) -> PopulationState:
    """The state with each learner's opponent distribution (float32[L, N'], see
    `PopulationState.opponents`) set, for the scheme "given" (replicated over the learner's
    mesh, as the state's other arrays; on many hosts every process passes the same values)."""
    opponents = jnp.asarray(opponents, jnp.float32)
    if opponents.shape != state.opponents.shape:
      raise ConfigError(f"population: opponents must be float32{list(state.opponents.shape)}, "
                        f"got shape {list(opponents.shape)}")
    return state.replace(opponents=self.learner.parallel.replicate(opponents))

  def _matchmake(self, state: PopulationState, key: jax.Array):
    """(per game, int32[L x num_envs, P] the slot in each seat: learner l's run of games,
    the learner in its seat and drawn opponents in the others; the opponent distributions
    float32[L, N'])."""
    games = self.learner.config.ppo.num_envs
    if self.per_seat:  # learner s sits in seat s; its opponents come from the other seat
      n = self.capacity
      view = dict(payoff=state.payoff[:n, n:], counts=state.counts[:n, n:],
                  live=state.live.reshape(2, n), col_payoff=state.payoff[n:, :n].T)
      runs, distributions = [], []
      for seat, seat_key in enumerate(jax.random.split(key, 2)):
        index = state.learners[seat] - seat * n
        opponents = state.opponents[seat] if self.scheme == GIVEN else (
            matchmaking.opponent_distribution(
                self.scheme, view["payoff"], view["counts"], view["live"], index,
                learner_seat=seat, col_payoff=view["col_payoff"], **self.options))
        members = matchmaking.seat_members(seat_key, index, opponents, games, 2,
                                           learner_seat=seat)
        runs.append(matchmaking.seat_population_ids(members, n))
        distributions.append(opponents)
      return (jnp.concatenate(runs),), jnp.stack(distributions)
    opponents = state.opponents if self.scheme == GIVEN else jax.vmap(
        lambda l: matchmaking.opponent_distribution(
            self.scheme, state.payoff, state.counts, state.live, l, **self.options))(
                state.learners)                                                  # [L, N]
    drawn = opponents  # with scripted partners, over the N + S ids: w uniform on them
    if self.scripted:  # static
      num_scripted, weight = len(self.scripted), self.scripted_weight
      drawn = jnp.concatenate(
          [(1.0 - weight) * opponents,
           jnp.full(opponents.shape[:1] + (num_scripted,), weight / num_scripted)], axis=1)
    out = []
    for game_key, env in zip(jax.random.split(key, len(self.learner.games.raw)),
                             self.learner.games.raw):
      members = jax.vmap(lambda k, l, o: matchmaking.seat_members(
          k, l, o, games, env.num_players))(jax.random.split(game_key, self.num_learners),
                                            state.learners, drawn)
      out.append(members.reshape((-1, env.num_players)))
    return tuple(out), opponents

  def _payoff_step(self, payoff, counts, total, games):
    """The payoff matrix moved towards the mean returns of this update's finished games
    (`_payoff_sums`: their returns' sums and counts [N', N'])."""
    mean = total / jnp.maximum(games, 1.0)
    moved = payoff + self.payoff_ema * (mean - payoff)
    return jnp.where(games > 0, moved, payoff), counts + games

  def _payoff_sums(self, trajectories, members, sum_devices=lambda x: x):
    """(returns summed, games) [N', N'] of this update's finished games: for every ordered
    pair of seats (s, t) of a game, member members[s]'s return against members[t]
    (`sum_devices`: summed over the other devices' games too, `Shards.total`). Games with a
    scripted partner (ids n and up) are left out (the index n * n is past the segments:
    segment_sum drops it)."""
    n = self.num_slots
    if self.scripted:  # static
      members = tuple(jnp.where((seats < n).all(1, keepdims=True), seats, n) for seats in members)
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
    return sum_devices((total, games))

  def add_member(self, state: PopulationState, which: int | jax.Array = 0,
                 slot: jax.Array | None = None,
                 replace_oldest: bool | jax.Array = False) -> PopulationState:
    """Freezes a copy of learner `which` (an index into `state.learners`) in `slot`, by
    default the first slot not yet live (per seat: of the learner's seat; parameters, magnet,
    optimizer state; its payoff row and column start at the learner's, its `born` is the
    current update). The learner keeps learning. A full population (no `slot` given; per
    seat, a full seat), or a `slot` out of range, is left as it is (check `state.live.all()`
    before), unless `replace_oldest` (a bool, may be traced): then a full population's
    oldest frozen member (the least `born`, then the first slot; never a learner) leaves,
    and the copy takes its slot as a free slot's (payoff row and column at the learner's,
    counts and RAE baselines 0); with no frozen member it stays as it is."""
    source = state.learners[which]
    if slot is None:
      # Per seat, the learner's own seat's slots; shared, all of them.
      ours = (jnp.arange(self.num_slots) // self.capacity == source // self.capacity
              if self.per_seat else jnp.ones((self.num_slots,), bool))
      slot, full = jnp.argmax(ours & ~state.live), ~(ours & ~state.live).any()  # first dead
      # Replacing the oldest: as data, so that either way is one program.
      frozen = ours & state.live & ~jnp.isin(jnp.arange(self.num_slots), state.learners)
      evict = replace_oldest & full & frozen.any()
      oldest = jnp.argmin(jnp.where(frozen, state.born, jnp.iinfo(jnp.int32).max))
      slot, full = jnp.where(evict, oldest, slot), full & ~evict
      stays = ~evict | (jnp.arange(self.num_slots) != slot)                   # bool[N]
      roles = jnp.repeat(stays, self.learner.num_players)                     # bool[N * P]
      state = state.replace(payoff=jnp.where(stays[:, None] & stays, state.payoff, 0.0),
                            baselines=jnp.where(roles, state.baselines, 0.0))
    else:
      slot = jnp.asarray(slot, jnp.int32)
      full = (slot < 0) | (slot >= self.num_slots)
      slot = jnp.clip(slot, 0, self.num_slots - 1)
    copy = lambda tree: jax.tree.map(
        lambda x: jnp.where(full, x, x.at[slot].set(x[source])), tree)
    payoff = jnp.where(full, state.payoff, state.payoff.at[slot].set(state.payoff[source])
                       .at[:, slot].set(state.payoff[:, source]))
    return _games_forgotten(state, slot[None], ~full[None]).replace(
        params=copy(state.params), magnet=copy(state.magnet), opt_state=copy(state.opt_state),
        magnet_opt_state=copy(state.magnet_opt_state),
        live=jnp.where(full, state.live, state.live.at[slot].set(True)), payoff=payoff,
        born=jnp.where(full, state.born, state.born.at[slot].set(state.update)))

  def next_generation(self, state: PopulationState, fresh: bool = False) -> PopulationState:
    """Freezes every learner where it is and lets it continue in the next slot (per seat:
    the next slot of its seat, so that the seats' populations grow in lockstep, as PSRO's;
    shared: the first free slots): from a copy of its parameters, magnet and optimizer state
    (a warm start), or with `fresh` (static) from a newly initialized network (keys from the
    state's key and the slot). The new learners' payoff rows and columns start at their
    predecessors'. A learner whose population is full stays where it is (check `state.live`
    before)."""
    if self.per_seat:
      last = (jnp.arange(2) + 1) * self.capacity - 1
      slots = jnp.minimum(state.learners + 1, last)
    else:
      slots = jnp.argsort(state.live, stable=True)[:self.num_learners]  # the first free ones
      slots = jnp.where(state.live[slots], state.learners, slots)
    if fresh:
      base = jax.random.fold_in(jax.random.wrap_key_data(state.key), 0x6e6577)
      # One slot after the other, not vmapped: on XLA:CPU (jax 0.10.2) several batched
      # LAPACK QRs in one program (the orthogonal initializers of a vmapped init) deadlock
      # now and then, every thread idle (BUILD_NOTES.md, "Populations").
      start = jax.lax.map(lambda slot: self.learner.fresh_network(jax.random.fold_in(base, slot)),
                          slots)
      move = lambda tree, name: jax.tree.map(lambda x, v: x.at[slots].set(v), tree,
                                             start[name])
    else:
      move = lambda tree, name: jax.tree.map(lambda x: x.at[slots].set(x[state.learners]),
                                             tree)
    payoff = (state.payoff.at[slots].set(state.payoff[state.learners])
              .at[:, slots].set(state.payoff[:, state.learners]))
    moved = (slots != state.learners)[:, None]
    return _games_forgotten(state, slots, moved[:, 0]).replace(
        params=move(state.params, "params"), magnet=move(state.magnet, "magnet"),
        opt_state=move(state.opt_state, "opt_state"),
        magnet_opt_state=move(state.magnet_opt_state, "magnet_opt_state"),
        live=state.live.at[slots].set(True), learners=slots.astype(jnp.int32), payoff=payoff,
        born=state.born.at[slots].set(jnp.where(moved[:, 0], state.update, state.born[slots])))

  def train_chunk(self, state: PopulationState, num_updates: int,
                  tables: tabular.MemberTables | None = None):
    """Up to `num_updates` updates in one `lax.scan`, as `Learner.train_chunk` (`tables`: see
    `update`; fixed over the chunk). Jittable: the learners in one program (with "threads",
    mapped; `compile_chunk` runs them on threads)."""
    return chunk_scan(functools.partial(self.update, tables=tables), self, state, num_updates,
                      keep=self.keep)

  def compile_chunk(self, state: PopulationState, num_updates: int) -> Callable:
    """`train_chunk` of `num_updates` updates compiled for `state`'s shapes: a function
    state -> (state, metrics). With threads (`threaded`): the learners' runs split out of the
    state (`runs`), each trained by one compiled program of the population of one (`alone`),
    `side_by_side.cores()` of them at once on host threads, and put back (`with_runs`; the
    metrics the mean of the runs')."""
    config = self.learner.config
    if not self.threaded:
      return compiling.compile_chunk(self.train_chunk, state, num_updates, config)
    train_one = functools.partial(self.alone.train_chunk, num_updates=num_updates)
    runs = jax.eval_shape(self.runs, state)
    metrics = jax.eval_shape(train_one, runs[0])[1]
    # The three programs compile at once (XLA compiles outside Python's lock).
    split, one, join = side_by_side.on_threads(functools.partial(compiling.compile,
                                                                 config=config), [
        (jax.jit(self.runs).lower(state),), (jax.jit(train_one).lower(runs[0]),),
        (jax.jit(self.with_runs).lower(state, runs, (metrics,) * len(runs)),)], wait=False)

    def chunk(state: PopulationState):
      done = side_by_side.on_threads(one, [(run,) for run in split(state)])
      return join(state, tuple(run for run, _ in done), tuple(m for _, m in done))
    return chunk

  def runs(self, state: PopulationState) -> tuple[PopulationState, ...]:
    """Independent learners' runs (`independent`; learner l in slot l, where they start and
    stay): L populations of one, learner l's slot as their slot 0 (parameters, magnet,
    optimizer states, payoff, counts and training games with itself, RAE baselines, birth),
    its games, `run_keys[l]` as key. Jittable."""
    games, players = self.learner.config.ppo.num_envs, self.learner.num_players
    out = []
    for l in range(self.num_learners):
      own = lambda tree: jax.tree.map(lambda x: x[l:l + 1], tree)
      out.append(PopulationState(
          params=own(state.params), magnet=own(state.magnet), opt_state=own(state.opt_state),
          magnet_opt_state=own(state.magnet_opt_state), live=jnp.ones((1,), bool),
          learners=jnp.zeros((1,), jnp.int32), payoff=state.payoff[l:l + 1, l:l + 1],
          counts=state.counts[l:l + 1, l:l + 1],
          training_games=state.training_games[l:l + 1, l:l + 1],
          opponents=jnp.ones((1, 1), jnp.float32),
          env_states=jax.tree.map(lambda x: x[l * games:(l + 1) * games], state.env_states),
          key=state.run_keys[l], update=state.update,
          baselines=state.baselines[:, l * players:(l + 1) * players], born=own(state.born),
          run_keys=own(state.run_keys)))
    return tuple(out)

  def with_runs(self, state: PopulationState, runs: Sequence[PopulationState],
                metrics: Sequence[dict]) -> tuple[PopulationState, dict]:
    """(`state` with the learners' runs (`runs`' form) put back, the mean of the runs'
    `metrics`). Jittable."""
    learners = jnp.arange(self.num_learners)
    put = lambda name: jax.tree.map(lambda x, *v: x.at[:self.num_learners].set(
        jnp.concatenate(v)), getattr(state, name), *[getattr(r, name) for r in runs])
    own = lambda name: jnp.stack([getattr(run, name)[0, 0] for run in runs])
    baselines = state.baselines.at[:, :self.num_learners * self.learner.num_players].set(
        jnp.concatenate([run.baselines for run in runs], axis=1))
    state = state.replace(
        params=put("params"), magnet=put("magnet"), opt_state=put("opt_state"),
        magnet_opt_state=put("magnet_opt_state"),
        payoff=state.payoff.at[learners, learners].set(own("payoff")),
        counts=state.counts.at[learners, learners].set(own("counts")),
        training_games=state.training_games.at[learners, learners].set(own("training_games")),
        env_states=jax.tree.map(lambda *x: jnp.concatenate(x), *[r.env_states for r in runs]),
        update=runs[0].update, baselines=baselines,
        run_keys=jnp.stack([run.key for run in runs]))
    return state, jax.tree.map(lambda *x: jnp.mean(jnp.stack(x), axis=0), *metrics)

  def keep(self, live: jax.Array, updated: PopulationState, state: PopulationState
           ) -> PopulationState:
    """`updated` where `live`, else `state` (a finished run keeps its state), selecting all
    but the members' parameters, magnets and optimizer states: `update` keeps those itself,
    on the learners' slots (selecting every member's, at 121 members a seat, took a fifth of
    a Leduc PSRO update's time)."""
    members = {name: getattr(updated, name)
               for name in ("params", "magnet", "opt_state", "magnet_opt_state")}
    empty = {name: () for name in members}
    return tree_select(live, updated.replace(**empty), state.replace(**empty)).replace(
        **members)

  def chunk_metrics(self, stacked: dict[str, jax.Array], done: jax.Array
                    ) -> dict[str, jax.Array]:
    """`Learner.chunk_metrics`, the returns against scripted partners averaged over their
    games."""
    return self.learner.chunk_metrics(stacked, done, {
        f"population/scripted_return_{j}": f"population/scripted_episodes_{j}"
        for j in range(len(self.scripted))})
