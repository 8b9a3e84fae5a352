"""The training loop and what the experiment binaries share: resuming, progress lines, flag
parsing and one-line errors.

`train(config, workdir)` is what `python -m experiments.train` runs; tests call it directly.
A process builds each config's learner and run once (`built_run`): training the same config
again (resuming, another workdir) skips tracing and compiling.
The config is checked once, by `jaxplay.config.check` (inside `Learner`); everything here
reads the checked config.
"""

from __future__ import annotations

import collections
import json
import os
import pathlib
import sys
import time
from typing import Any, Callable

import jax
import numpy as np
from absl import app, flags, logging

import jaxplay
from jaxplay import config as config_lib
from jaxplay.agents import scripted as scripted_lib
from jaxplay.core.errors import ConfigError, JaxplayError
from jaxplay.eval import elo
from jaxplay.io import plots
from jaxplay.io.checkpoints import Checkpointer, CheckpointError
from jaxplay.io.metrics import MetricWriter, NoMetrics
from jaxplay.learn.evaluation import Evaluation, headline_keys, pair_returns, partner_returns
from jaxplay.learn import compiling, matchmaking, partner_pool
from jaxplay.learn.cole_generations import ColeGenerations
from jaxplay.learn.learner import Learner
from jaxplay.learn import population as population_lib
from jaxplay.learn.population import Population
from jaxplay.learn.psro import PSRO
from jaxplay.parallel import hosts

# Training metrics shown on the progress line (after the per-game returns).
PROGRESS_KEYS = ("entropy", "kl", "magnet_kl")


def _format(metrics: dict[str, float], keys) -> str:
  return " ".join(f"{k}={metrics[k]:.4g}" for k in keys if k in metrics)


def restore_or_init(learner: Learner, checkpoints: Checkpointer, fresh,
                    population: population_lib.Population | None = None):
  """The latest checkpoint's state if the workdir has one (after checking that it was made by
  the same config, up to the sections a resumed run may change), else `fresh` (the run's
  initial state, whose structure the checkpoint must have). `population`: the run's, whose
  games a checkpoint laid out for other `parallel` settings are re-laid out for it
  (`Population.relaid`; each learner keeps its games)."""
  config = learner.config
  step = checkpoints.latest_step()
  if step is None:
    return fresh
  where = checkpoints.directory.parent / "config.json"
  try:
    saved = config_lib.check(config_lib.from_saved(checkpoints.metadata(step).get("config", {})))
  except JaxplayError as error:
    raise CheckpointError(f"{checkpoints.path(step)} was written by a config this version "
                          f"cannot read ({error}); use a new --workdir") from None
  differences = config_lib.differences(config_lib.learned_part(saved),
                                       config_lib.learned_part(config))
  if differences:
    raise CheckpointError(
        f"{checkpoints.path(step)} was written by a different config; resuming would mix two "
        f"runs. Differences (saved -> now): {'; '.join(differences[:8])}. Use the saved config "
        f"(its fields are in {where}) or a new --workdir.")
  state = population_lib.restore_saved(checkpoints, step, fresh)
  if population is None:
    return state
  return population.relaid(state, **saved_games_layout(checkpoints.metadata(step), saved,
                                                       population))


def saved_games_layout(metadata: dict, saved, population: population_lib.Population
                       ) -> dict[str, int]:
  """How a checkpoint's population games are laid out: as its metadata says
  (`Population.games_layout`, recorded since 2026-12-04), else as far as its config says
  (`parallel.members`; the shard count when `parallel.shards` or `parallel.data` fixed it,
  else taken as today's)."""
  if "games_layout" in metadata:
    return {key: int(metadata["games_layout"][key]) for key in ("shards", "members")}
  shards = saved.parallel.shards or saved.parallel.data or population.games_layout["shards"]
  return {"shards": shards, "members": saved.parallel.members}


def make_workdir(workdir: pathlib.Path) -> None:
  """Creates the workdir (and its parents), or says in one line why it cannot."""
  try:
    workdir.mkdir(parents=True, exist_ok=True)
    probe = workdir / f".writable{jax.process_index()}"  # (hosts may share the workdir)
    probe.touch()
    probe.unlink()
  except OSError as error:
    raise ConfigError(f"cannot use {workdir} as the workdir ({error.strerror or error}); pass "
                      "--workdir=<a writable directory>") from None


class _CompiledChunks:
  """A run's `train_chunk` (each subclass's), compiled once for each chunk length and state
  layout (`built_run` keeps runs, so an equal config trained again reuses them)."""

  def __init__(self):
    self._compiled_chunks: dict[tuple, Any] = {}

  def compiled_chunk(self, state, num_updates: int):
    """`self.train_chunk(state, num_updates)` compiled for the shapes and placements of
    `state`'s leaves."""
    leaves, structure = jax.tree.flatten(state)
    key = (num_updates, structure,
           tuple((leaf.shape, leaf.dtype, getattr(leaf, "sharding", None)) for leaf in leaves))
    if key not in self._compiled_chunks:
      self._compiled_chunks[key] = self.compile(state, num_updates)
    return self._compiled_chunks[key]

  def compile(self, state, num_updates: int):
    """`train_chunk` compiled (a function state -> (state, metrics))."""
    return compiling.compile_chunk(self.train_chunk, state, num_updates, self.learner.config)


class SelfPlayRun(_CompiledChunks):
  """What `train` runs for self-play: the learner's updates and its games' evaluators."""

  # Evaluation metrics worth a glance besides the games' headline metrics.
  headline_extra: tuple[str, ...] = ()

  def __init__(self, learner: Learner):
    super().__init__()
    self.learner, self.evaluation = learner, Evaluation(learner)
    self.describe = f"{learner.network.__class__.__name__} network"
    self.env_steps_per_update = learner.steps_per_update

  def init(self, seed: int):
    return self.learner.init(seed)

  def place(self, state):
    """A restored state on the learner's device mesh (`config.parallel`)."""
    return self.learner.place(state)

  def train_chunk(self, state, num_updates: int):
    return self.learner.train_chunk(state, num_updates)

  def between_chunks(self, state, update: int):
    del update
    return state

  def gathered(self, state):
    """`state` with whole parameters and magnet on this process, for `evaluate` (every
    process calls it: parameters cut over the devices of many hosts, `parallel.params`, are
    gathered from all of them)."""
    return state.replace(params=hosts.to_local(state.params),
                         magnet=hosts.to_local(state.magnet))

  def evaluate(self, state, update: int) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """(metrics, images for TensorBoard) of a `gathered` state, computed on this process
    alone."""
    return self.evaluation.of(state.params, state.magnet, update), {}


class LeagueRun(_CompiledChunks):
  """What `train` runs for populations trained by updates (not PSRO): one learner against its
  frozen snapshots (fictitious self-play, PFSP), K self-play runs side by side with frozen
  snapshots of each (`population.num_learners`: FCP's stage 1), or one learner against a
  frozen pool of partners read from another run (`population.partners`: FCP's stage 2), or
  COLE's generations (`ColeGenerations`; from its learners alone, or with such a pool as its
  first frozen members); any of them but COLE, or one learner alone (scheme self_play), also
  against scripted Overcooked partners in a `population.scripted_weight` share of its games
  (`population.scripted`; weight 1 and self_play: a best response to them). Snapshots: every
  `population.snapshot_every` updates from `population.snapshot_start` on (and of the
  untrained networks with `snapshot_initial`) until the population is full (or on, each in
  the oldest snapshot's slot, with `population.when_full = "replace_oldest"`).
  Evaluated by its games' evaluators (each learner's; with several, their mean and each as
  `learner<l>/...`), the first learner's mean return with the members of the pool it keeps
  (`population/partner_return`: FCP's partners, or COLE's first members with
  `cole_keep_partners`; the payoff matrix's entries) and with each scripted partner
  (`evaluation.partner_returns`), the members' Elo ratings from the training games' payoff
  matrix (zero-sum games), and that matrix as an image.

  `saved_members`: given (the length of a checkpoint's `live`), the run is built to restore
  that checkpoint of a run with a pool of partners (FCP's stage 2, COLE started from a pool)
  without reading the pool's runs: the checkpoint holds the partners, and the runs may be
  gone. FCP's partners are the saved members but its learner; COLE's population is the
  config's capacity."""

  def __init__(self, learner: Learner, saved_members: int | None = None):
    super().__init__()
    population = learner.config.population
    self.learner, self.config = learner, population
    self.pool = self.generations = None
    self.num_partners = 0
    self.pool_slots = ()   # the pool's slots (FCP's partners, COLE's first members), if known
    scripted = dict(  # scripted partners: opponents beside the networks (overcooked)
        scripted=scripted_lib.make_partners(population.scripted, learner.games.raw[0])
        if population.scripted else (), scripted_weight=population.scripted_weight,
        scripted_share=population.scripted_share)
    if population.partners and saved_members is None:   # fcp's partners, or cole's first ones
      self.pool = partner_pool.load(population.partners, learner.config)
    if population.scheme == "fcp":
      self.num_partners = self.pool.size if saved_members is None else saved_members - 1
      self.pool_slots = tuple(range(1, 1 + self.num_partners))
      self.population = Population(learner, 1 + self.num_partners, "fictitious",
                                   learner_map=population.learner_map,
                                   partner_noise=population.partner_noise, **scripted)
      noise = (f", each acting at random at {population.partner_noise:.0%} of its steps"
               if population.partner_noise else "")
      self.describe = (f"{learner.network.__class__.__name__} network against "
                       f"{self.num_partners} frozen partners from {population.partners}{noise}")
    else:
      options = {"pfsp": dict(weighting=population.weighting, k=population.k,
                              return_range=tuple(population.return_range)),
                 "cole": dict(self_play=population.cole_self_play,
                              uniform=population.cole_uniform)}.get(population.scheme, {})
      alone = population.scheme == "self_play" and population.num_learners == 1  # scripted
      self.population = Population(learner, 1 if alone else population.capacity,
                                   population.scheme, num_learners=population.num_learners,
                                   per_seat=population.per_seat,
                                   learner_map=population.learner_map,
                                   population_entropy=population.population_entropy,
                                   population_entropy_ramp=tuple(
                                       population.population_entropy_ramp),
                                   partner_noise=population.partner_noise,
                                   **options, **scripted)
      start, end = population.population_entropy_ramp
      ramp = ("" if end == 0 else f" from {start:,} env steps" if start == end
              else f" rising from 0 at {start:,} env steps to it at {end:,}")
      mep = (f", rewarded by the population entropy (MEP), alpha "
             f"{population.population_entropy:g}{ramp}" if population.population_entropy else "")
      mixed = (f" (acting at {population.scripted_share:.0%} of the steps, the learner's own "
               f"policy at the rest: E3T)" if population.scripted_share < 1 else "")
      rest = ", self-play in the rest" if population.scripted_weight < 1 else ""
      self.describe = (f"{learner.network.__class__.__name__} network against "
                       f"{', '.join(population.scripted)} in {population.scripted_weight:.0%} "
                       f"of its games{mixed}{rest}" if alone else
                       f"{learner.network.__class__.__name__} network, {population.scheme} "
                       f"against up to {population.capacity - 1} snapshots"
                       if population.num_learners == 1 else
                       f"a pair of {learner.network.__class__.__name__} networks, one a seat, "
                       f"up to {population.capacity} members a seat with their snapshots"
                       if population.per_seat else
                       f"{population.num_learners} {learner.network.__class__.__name__} "
                       f"networks in self-play side by side"
                       f"{', each a program, on threads' if self.population.threaded else ''}"
                       f"{mep}"
                       f", up to {population.capacity} members with their snapshots")
    if population.scheme == "cole":
      if self.pool is not None:   # the first frozen members (slots after the learners)
        self._check_room_for_pool(population)
        self.pool_slots = tuple(population.num_learners + np.arange(self.pool.size))
      self.generations = ColeGenerations(
          self.population, population.snapshot_every, num_games=population.cole_games,
          keep=self.pool_slots if population.cole_keep_partners else (),
          visits=population.cole_visits)
      self._end_generation = jax.jit(self.generations.end_generation)
      networks = ("network" if population.num_learners == 1 else
                  f"networks ({population.num_learners} learners)")
      self.describe = (f"{learner.network.__class__.__name__} {networks}, COLE generations "
                       f"of {population.snapshot_every} updates, up to {population.capacity} "
                       f"members")
      uniform = self.population.options["uniform"]   # as the matchmaker gets it
      if uniform:
        self.describe += f", {uniform:.0%} of the partners drawn uniformly from the members"
      if self.generations.visits == "generation":   # as the generations count them
        self.describe += ", visits counted a generation"
      if self.pool is not None:
        self._measure_pool = jax.jit(
            lambda state: self.generations.measure_frozen(state, self.pool_slots))
        self.describe += (f", the first {self.pool.size} frozen ones from "
                          f"{population.partners}"
                          f"{', never replaced' if population.cole_keep_partners else ''}")
    self.num_learners = self.population.num_learners
    self.env_steps_per_update = learner.steps_per_update * self.num_learners
    self.evaluation = Evaluation(learner)
    game = learner.games.names[0]
    self.headline_extra = tuple(f"{game}/with_{name}/return" for name in population.scripted)
    if population.per_seat:
      self.headline_extra += ("population/pair_return",)
    self._snapshot = jax.jit(self.population.add_member)
    self.rated = not any(env.common_payoff for env in learner.games.raw)  # Elo

  def _partner_spread(self, opponents: np.ndarray, learners: list[int],
                      num_members: int) -> dict[str, float]:
    """`matchmaking.distribution_spread` of each learner's opponents float32[L, N], the
    learners' mean, as population/... metrics."""
    pool = None
    if self.pool_slots:
      pool = np.zeros(num_members, bool)
      pool[list(self.pool_slots)] = True
    spreads = [matchmaking.distribution_spread(opponents[index], learner, pool)
               for index, learner in enumerate(learners)]
    return {f"population/{name}": float(np.mean([spread[name] for spread in spreads]))
            for name in spreads[0]}

  def _kept_pool(self) -> tuple[int, ...]:
    """The slots of the pool the learner trains with all run: FCP's partners, COLE's first
    members when it keeps them; () otherwise (COLE replaces them, or does not know them)."""
    keeps = self.generations is None or self.config.cole_keep_partners
    return self.pool_slots if keeps else ()

  def _check_room_for_pool(self, population) -> None:
    """ConfigError unless COLE's capacity holds its learners and the pool it starts from."""
    needed = population.num_learners + self.pool.size
    if population.capacity < needed:
      raise ConfigError(f"population.capacity ({population.capacity}) must hold the "
                        f"{population.num_learners} learner(s) and the {self.pool.size} "
                        f"members of population.partners that COLE starts from: at least "
                        f"{needed}, and more for the learners' copies to join")

  def init(self, seed: int):
    state = self.population.init(seed)
    if self.pool is not None and self.generations is not None:   # cole: the first members
      return self._measure_pool(partner_pool.seat(state, self.pool, self.num_learners))
    if self.pool is not None:
      state = partner_pool.seat(state, self.pool)
      if self.config.learner_from >= 0:
        state = partner_pool.start_learner_as(state, self.pool, self.config.learner_from)
      return state
    if self.config.snapshot_initial:
      state = self._snapshot_learners(state)
    return state

  def place(self, state):
    """A restored (or seated) state on the learner's device mesh (`config.parallel`)."""
    return self.population.place(state)

  def train_chunk(self, state, num_updates: int):
    return self.population.train_chunk(state, num_updates)

  def compile(self, state, num_updates: int):
    """`Population.compile_chunk`: one program, or independent learners on threads."""
    return self.population.compile_chunk(state, num_updates)

  def between_chunks(self, state, update: int):
    if self.generations is not None:
      if update % self.config.snapshot_every == 0:
        state, _ = self._end_generation(state)
      return state
    since = update - self.config.snapshot_start
    if not self.num_partners and since >= 0 and since % self.config.snapshot_every == 0:
      state = self._snapshot_learners(state)
    return state

  def _snapshot_learners(self, state):
    """A frozen copy of every learner, while there is room; once the population is full,
    with `population.when_full` "replace_oldest", each in the slot of the oldest frozen
    member (`Population.add_member`), else none."""
    for which in range(self.num_learners):
      if self.config.when_full == "replace_oldest":
        state = self._snapshot(state, which, replace_oldest=True)
      elif not hosts.to_host(state.live).all():
        state = self._snapshot(state, which)
    return state

  def gathered(self, state):
    """`state` for `evaluate`: as it is (members are whole on every device, and `evaluate`
    copies what it reads onto this process)."""
    return state

  def evaluate(self, state, update: int) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """(metrics, images for TensorBoard), computed on this process alone (on many hosts:
    with its copy of the replicated members, payoff matrix and counts). In a shared
    population, how the learners' opponent distributions of the last update spread
    (`matchmaking.distribution_spread`, the learners' mean; over the networks, scripted
    partners aside): population/self_play_share, population/effective_partners, and with a
    pool of partners population/pool_share (not for a COLE run restored without its pool's
    runs, which does not know their slots)."""
    learners, params, magnet, live, payoff, counts, trained, opponents = hosts.to_local(
        (state.learners, state.params, state.magnet, state.live, state.payoff, state.counts,
         state.training_games, state.opponents))
    learners = [int(l) for l in np.asarray(learners)]
    metrics = {}
    for index, learner in enumerate(learners):
      mine = lambda tree: jax.tree.map(lambda x: x[learner], tree)
      values = self.evaluation.of(mine(params), mine(magnet), update)
      if len(learners) == 1:
        metrics = values
        break
      metrics.update({f"learner{index}/{key}": value for key, value in values.items()})
      for key, value in values.items():
        metrics[key] = metrics.get(key, 0.0) + value / len(learners)
    if self.population.scripted:  # static
      metrics.update(partner_returns(
          self.learner, jax.tree.map(lambda x: x[learners[0]], params),
          self.population.scripted, self.config.scripted, update))
    live, payoff, counts = np.asarray(live), np.asarray(payoff), np.asarray(counts)
    metrics["population/members"] = int(live.sum())
    if self.population.per_seat:  # the pair with each other, each in its own seat
      mine = lambda index: jax.tree.map(lambda x: x[learners[index]], params)
      metrics.update(pair_returns(self.learner, mine(0), mine(1), update))
    else:  # how the learners draw their partners from the shared population
      metrics.update(self._partner_spread(np.asarray(opponents), learners, live.shape[0]))
    kept_pool = self._kept_pool()
    if kept_pool:  # the learner's mean return with each member of its pool
      partners = np.asarray(kept_pool)
      # Entries with games counted or trained (COLE counting visits a generation zeroes counts).
      played = (counts + np.asarray(trained))[learners[0], partners] > 0
      metrics["population/partner_return"] = (
          float(payoff[learners[0], partners][played].mean()) if played.any() else float("nan"))
    if self.rated:
      ratings = elo.elo_from_payoff(payoff, counts, live,
                                    return_range=tuple(self.config.return_range))
      metrics["population/learner_elo"] = float(ratings[learners[0]])
      metrics.update({f"population/elo_{i}": float(ratings[i]) for i in np.flatnonzero(live)})
    image = plots.payoff_image(payoff, live=live, counts=counts, title=f"payoff @ {update}")
    return metrics, {"population/payoff": image}


def make_run(learner: Learner, saved_members: int | None = None) -> SelfPlayRun | LeagueRun:
  """What `train` runs for the config's population (not "psro": `train_psro`);
  `saved_members`: see `LeagueRun`."""
  return (SelfPlayRun(learner) if config_lib.plain_self_play(learner.config.population)
          else LeagueRun(learner, saved_members))


# Runs built by `built_run`, the most recent last: (learner, run or PSRO) by `_build_key`.
_BUILT: collections.OrderedDict = collections.OrderedDict()
KEEP_BUILT = 8


def _build_key(config) -> tuple:
  """What a built run depends on: the checked config, and for a pool of partners (FCP, COLE
  started from one) the partner runs' checkpoint folders as the file system last changed
  them (a pool trained again is read again)."""
  key = (config_lib.to_json(config),)
  if config.population.partners:
    folders = [path / "checkpoints" for path in partner_pool.workdirs(config.population.partners)]
    key += tuple((str(f), tuple(sorted((e.name, e.stat().st_mtime_ns) for e in os.scandir(f)))
                  if f.is_dir() else None) for f in folders)
  return key


def built_run(config) -> tuple[Learner, SelfPlayRun | LeagueRun | PSRO]:
  """The `Learner` of `config` and what `train` runs for it (`make_run`, or `PSRO`), built
  once a process for each config (the last `KEEP_BUILT` kept): `train` called again with an
  equal config (to resume, or in another workdir) reuses their traced and compiled programs,
  which are most of a short run's time."""
  config = config_lib.check(config)
  key = _build_key(config)
  if key in _BUILT:
    _BUILT.move_to_end(key)
    return _BUILT[key]
  learner = Learner(config)
  trainer = (PSRO.from_config(learner) if learner.config.population.scheme == "psro"
             else make_run(learner))
  _BUILT[key] = learner, trainer
  while len(_BUILT) > KEEP_BUILT:
    _BUILT.popitem(last=False)
  return learner, trainer


def train(config, workdir: str | pathlib.Path, *, stop_after: int | None = None,
          print_fn: Callable[[str], None] = print):
  """Runs (or resumes) training in `workdir` until `total_env_steps`: self-play, a league
  (fictitious self-play, PFSP) or PSRO, by `config.population.scheme`.

  On many hosts (`jaxplay.parallel.hosts`) every process runs this with the same arguments:
  all of them train and write checkpoints together; only process 0 prints, evaluates and
  writes metrics and config.json.

  Args:
    stop_after: stop once this many updates are done, without a final checkpoint or
      evaluation, as a killed run would (tests use it to check resuming).
    print_fn: where progress lines go.

  Returns:
    The final state (a `TrainState`, or a `PopulationState` for populations).
  """
  workdir = pathlib.Path(workdir)
  learner, trainer = built_run(config)
  config, run = learner.config, learner.config.run
  writer_process = hosts.is_writer()
  if not writer_process:
    print_fn = lambda line: None
  if config.population.scheme == "psro":
    return train_psro(learner, trainer, workdir, stop_after=stop_after, print_fn=print_fn)
  make_workdir(workdir)
  with Checkpointer(workdir / "checkpoints", max_to_keep=run.keep_checkpoints) as checkpoints:
    population = getattr(trainer, "population", None)
    state = restore_or_init(learner, checkpoints, trainer.init(config.seed), population)
    state = trainer.place(state)
    update = int(state.update)
    if writer_process:
      (workdir / "config.json").write_text(config_lib.to_json(config))
    total = learner.num_updates
    names, envs = learner.games.names, learner.games.raw
    if update:
      print_fn(f"resuming {workdir} at update {update}/{total}")
    else:
      print_fn(f"training {', '.join(names)} in {workdir}: {total} updates of "
               f"{learner.steps_per_update} env steps"
               f"{' a learner' if trainer.env_steps_per_update > learner.steps_per_update else ''}"
               f", {trainer.describe}")
    if update >= total:
      print_fn(f"{workdir} already holds a finished run ({total} updates)")
      return state
    start = time.perf_counter()
    # One program of K updates serves every call, the run's shorter last one included.
    chunk = trainer.compiled_chunk(state, min(run.updates_per_call, total))
    print_fn(f"compiled {min(run.updates_per_call, total)} updates per call in "
             f"{time.perf_counter() - start:.1f} s")

    with (MetricWriter(workdir, resume_step=update) if writer_process else NoMetrics()) as writer:
      steps_since, seconds_since = 0, 0.0
      while update < total:
        if stop_after is not None and update >= stop_after:
          return state
        count = min(run.updates_per_call, total - update)
        start = time.perf_counter()
        state, chunk_metrics = jax.block_until_ready(chunk(state))
        seconds_since += time.perf_counter() - start
        update += count
        state = trainer.between_chunks(state, update)
        steps_since += count * trainer.env_steps_per_update  # all learners' steps
        last = update == total
        if writer_process and (update % run.log_every == 0 or last):
          logged = {key: float(value) for key, value in jax.device_get(chunk_metrics).items()}
          logged["env_steps"] = update * learner.steps_per_update
          logged["steps_per_second"] = steps_since / max(seconds_since, 1e-9)
          steps_since, seconds_since = 0, 0.0
          writer.write(update, logged)
          returns = [f"{n}/return_0" for n in names]
          print_fn(f"update {update}/{total} | {logged['env_steps']:,} env steps | "
                   f"{logged['steps_per_second']:,.0f} steps/s | "
                   f"{_format(logged, returns + list(PROGRESS_KEYS))}")
        evaluating = bool(run.eval_every and update % run.eval_every == 0) or last
        evaluated = trainer.gathered(state) if evaluating else None  # every process
        if writer_process and evaluating:
          start = time.perf_counter()
          metrics, images = trainer.evaluate(evaluated, update)
          metrics["env_steps"] = update * learner.steps_per_update
          writer.write(update, metrics)
          for tag, image in images.items():
            writer.image(update, tag, image)
          shown = headline_keys(envs, metrics) + list(trainer.headline_extra)
          print_fn(f"eval @ {update}: {_format(metrics, shown)} "
                   f"({time.perf_counter() - start:.1f} s)")
        if update % run.checkpoint_every == 0 or last:
          save(checkpoints, update, state, learner, population)
  return state


def save(checkpoints: Checkpointer, update: int, state, learner: Learner,
         population: population_lib.Population | None = None) -> None:
  """A checkpoint of `state` at `update`, with the run's config in its metadata (and a
  population's `games_layout`)."""
  checkpoints.save(update, state, metadata={
      "config": json.loads(config_lib.to_json(learner.config)),
      "jaxplay_version": jaxplay.__version__,
      "env_steps": update * learner.steps_per_update,
      **({"games_layout": population.games_layout} if population is not None else {})})


def train_psro(learner: Learner, psro: PSRO, workdir: pathlib.Path, *,
               stop_after: int | None = None, print_fn: Callable[[str], None] = print):
  """Runs (or resumes) PSRO (`config.population.scheme = "psro"`, `jaxplay.learn.psro`) in
  `workdir`: each iteration trains the best responses, measures the meta-strategy exactly,
  writes its metrics (`<game>/exploitability`, `<game>/nash_conv`, the training metrics)
  and a checkpoint. `stop_after`: stop once this many updates are done (whole iterations),
  as a killed run would. Returns the final `PopulationState`.

  On many hosts every process trains and measures (the exact passes on its copy of the
  members, the same numbers everywhere) and writes checkpoints; only process 0 writes
  metrics and config.json (`print_fn` prints nothing on the others)."""
  config, run = learner.config, learner.config.run
  make_workdir(workdir)
  writer_process = hosts.is_writer()
  name, per_iteration = learner.games.names[0], psro.updates_per_iteration
  two_solvers = psro.output_meta_solver != psro.meta_solver
  with Checkpointer(workdir / "checkpoints", max_to_keep=run.keep_checkpoints) as checkpoints:
    state = restore_or_init(learner, checkpoints, psro.init(config.seed), psro.population)
    update = int(state.update)
    if writer_process:
      (workdir / "config.json").write_text(config_lib.to_json(config))
    done = update // per_iteration
    print_fn(f"{'resuming' if done else 'training'} PSRO on {name} in {workdir}: iteration "
             f"{done}/{psro.iterations}, {per_iteration} updates of "
             f"{2 * learner.steps_per_update} env steps each")
    with (MetricWriter(workdir, resume_step=update) if writer_process else NoMetrics()) as writer:
      while done < psro.iterations:
        if stop_after is not None and update >= stop_after:
          return state
        start = time.perf_counter()
        state, report = psro.iteration(state)
        done, update = done + 1, int(state.update)
        metrics = {**report.training, f"{name}/exploitability": report.exploitability,
                   f"{name}/nash_conv": report.nash_conv,
                   **({f"{name}/training_meta_exploitability": report.opponent_exploitability}
                      if two_solvers else {}),
                   **{f"{name}/best_response_gap_seat{seat}": gap
                      for seat, gap in enumerate(report.best_response_gap)},
                   "iteration": done,
                   "env_steps": update * 2 * learner.steps_per_update}
        writer.write(update, metrics)
        print_fn(f"iteration {done}/{psro.iterations} | {metrics['env_steps']:,} env steps | "
                 f"exploitability {report.exploitability:.4g}"
                 + (f" (training meta-strategy {report.opponent_exploitability:.4g})"
                    if two_solvers else "") + " | best responses short of "
                 f"exact by {np.round(report.best_response_gap, 3).tolist()} | "
                 f"meta-strategy seat 0 "
                 f"{np.round(report.weights[0], 2).tolist()} "
                 f"({time.perf_counter() - start:.1f} s)")
        save(checkpoints, update, state, learner, psro.population)
  return state


def parse_flags(argv: list[str]) -> list[str]:
  """absl's flag parsing, with every mistake a user can make in the flags (an unknown flag or
  config field, a value of the wrong type) reported as one line instead of a traceback."""
  try:
    return flags.FLAGS(argv)
  except flags.Error as error:
    sys.exit(f"error: {error}\nPass --help for the flags.")
  except (AttributeError, KeyError, TypeError, ValueError) as error:
    sys.exit(f"error: {_override_problem(error, argv)}; the fields a config has, with their "
             "defaults, are in jaxplay/config.py")


def _override_problem(error: BaseException, argv: list[str]) -> str:
  """What was wrong with a `--config.<field>=<value>` override, from ml_collections' error."""
  message = error
  while isinstance(message, BaseException) and message.args:  # KeyError in AttributeError
    message = message.args[0]
  first, *rest = str(message).splitlines() or [""]
  name = first.strip("\"'")
  overrides = [arg.split("=")[0] for arg in argv if arg.startswith("--config.")]
  if isinstance(error, (AttributeError, KeyError)):
    flag = next((o for o in overrides if o.split(".")[-1] == name), "--config.*")
    hint = " ".join(line.strip() for line in rest)
    return f"{flag}: the config has no field {name!r}{' (' + hint + ')' if hint else ''}"
  return f"bad --config override: {first}"


def load_config(config_flag: flags.FlagHolder):
  """The config of a `config_flags.DEFINE_config_file` flag, or one line saying why the file
  could not be loaded (missing, not a config file, an error inside it)."""
  path = flags.FLAGS[config_flag.name].config_filename
  try:
    config = config_flag.value
    config.keys()  # ml_collections defers a failed load to the first use
  except Exception as error:  # pylint: disable=broad-except  (whatever the file raised)
    reason = str(error).strip().splitlines()[-1].strip() if str(error).strip() else ""
    raise ConfigError(f"cannot load --config={path}: {type(error).__name__}: {reason} (run "
                      "from the repository root, e.g. --config=experiments/configs/"
                      "kuhn_poker.py)") from None
  return config


def run_binary(main: Callable[[list[str]], None]) -> None:
  """Starts a training binary's `main` (`--config` required; JAX's flags read by absl; flag
  mistakes reported in one line, `parse_flags`)."""
  flags.mark_flag_as_required("config")
  jax.config.config_with_absl()
  app.run(main, flags_parser=parse_flags)


def quiet_libraries() -> None:
  """Orbax logs every step of a save at INFO; show warnings and up unless --verbosity is set."""
  if not flags.FLAGS["verbosity"].present:
    logging.set_verbosity(logging.WARNING)
