"""A frozen pool of partners read from finished runs' workdirs: fictitious co-play's stage 2
trains against the members that stage 1 (K self-play runs side by side, snapshots along the
way) left behind.

    pool = partner_pool.load("/tmp/fcp_stage1", config)   # checks the run, reads its members
    pool.params                                           # stacked [M, ...], M = pool.size
    state = partner_pool.seat(population_state, pool)     # members in slots 1 .. M, live

COLE can start from such a pool too (`population.partners` with the scheme "cole"): the
members are then its population's first frozen members, beside the learners, and
`ColeGenerations.measure_frozen` measures their cross-play into the payoff graph.

The pool is what the stage-1 run's last checkpoint holds: every live member of its population
(each self-play run's final parameters and its frozen snapshots), in slot order. Several
stage-1 runs make one pool when `population.partners` names their workdirs separated by
commas ("/tmp/stage1_a,/tmp/stage1_b"): their members in that order, so a larger or more
varied pool (other seeds, other recipes) needs no stage 1 run again. A pool is only read from
runs that are finished (a checkpoint at the last update) and were trained on the same games
with the same network, or with an MLP narrower in its hidden layers alone (played padded with
zero units, the same function: `jaxplay.agents.widening`; a wider stage 2 than its pool):
anything else is refused with one `ConfigError` that says what differs, before anything is
trained or written.

On one process the pool is read onto one device; on many (`jaxplay.parallel.hosts`) every
process reads it onto the mesh of all their devices (a mesh must hold them all there),
replicated, as the stage-2 population's arrays are.
"""

from __future__ import annotations

import json
import pathlib
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxplay import config as config_lib
from jaxplay.agents import widening
from jaxplay.core import registry
from jaxplay.core.errors import ConfigError, JaxplayError
from jaxplay.io.checkpoints import Checkpointer
from jaxplay.learn.learner import Learner
from jaxplay.learn import population as population_lib
from jaxplay.learn.population import Population, PopulationState
from jaxplay.parallel import hosts

# The sections of a partner's config that must equal the trainee's: what a network plays and
# how it reads what it sees.
SHARED_FIELDS = ("games", "game_options", "network")


class PartnerPool(NamedTuple):
  """Frozen partners: params stacked [M, ...]; `members` int32[M] their slots in their
  stage-1 runs and `runs` int32[M] which run each came from (an index into `workdirs`)."""

  params: Any
  members: np.ndarray
  runs: np.ndarray
  workdirs: tuple[pathlib.Path, ...]

  @property
  def size(self) -> int:
    return int(self.members.shape[0])


def workdirs(partners: str) -> tuple[pathlib.Path, ...]:
  """The stage-1 workdirs that `population.partners` names: one, or several separated by
  commas.

  Raises:
    ConfigError: no workdir named, or one named twice.
  """
  named = tuple(pathlib.Path(p.strip()) for p in str(partners).split(",") if p.strip())
  if not named:
    raise ConfigError("population.partners names no workdir; set it to the workdir of a "
                      "finished stage-1 run, or several separated by commas")
  repeated = sorted({str(p) for p in named if named.count(p) > 1})
  if repeated:
    raise ConfigError(f"population.partners names {', '.join(repeated)} more than once; "
                      f"a pool holds each stage-1 run once")
  return named


def _stage_one_hint(workdir: pathlib.Path) -> str:
  return (f"run stage 1 there first (python -m experiments.train "
          f"--config=experiments/configs/fcp_partners_overcooked.py --workdir={workdir})")


def read_config(workdir: str | pathlib.Path, config) -> Any:
  """The checked config of the run in `workdir`, after checking that its networks can partner
  a run of `config` (same games, game options and network), on one device (on many
  processes: data-parallel over all their devices, one data shard each).

  Raises:
    ConfigError: no run in `workdir`, a config that cannot be read, or one that differs in
      `SHARED_FIELDS` (the message lists the differences).
  """
  workdir = pathlib.Path(workdir)
  saved = workdir / "config.json"
  if not saved.is_file():
    raise ConfigError(f"population.partners: {workdir} holds no run (no config.json); "
                      f"{_stage_one_hint(workdir)}")
  try:
    partner_config = config_lib.from_saved(json.loads(saved.read_text()), one_device=True)
    if jax.process_count() > 1:
      partner_config.parallel.data = partner_config.parallel.shards = 0
    partner_config = config_lib.check(partner_config)
  except (ValueError, JaxplayError) as error:
    raise ConfigError(f"population.partners: cannot read {saved} ({error})") from None
  check_compatible(config, partner_config, workdir, where="population.partners")
  if partner_config.population.scheme != "self_play":
    raise ConfigError(f"population.partners: {workdir} is a "
                      f"{partner_config.population.scheme!r} run; partners come from self_play "
                      f"runs (FCP's stage 1)")
  return partner_config


def check_compatible(config, other, workdir: pathlib.Path, where: str = "cross-play") -> None:
  """ConfigError unless the run in `workdir` (checked config `other`) trained the same games,
  game options and network as `config` (`SHARED_FIELDS`), or an MLP that differs only in
  narrower hidden layers (`jaxplay.agents.widening`: played padded with zero units): its
  networks can then play beside those of `config`. The message lists the differences."""
  mine, theirs = (_shared_part(c) for c in (config, other))
  if widening.widens(theirs["network"], mine["network"]):  # narrower MLPs play padded
    theirs["network"] = mine["network"]
  differences = config_lib.differences(theirs, mine)
  if differences:
    raise ConfigError(f"{where}: the run in {workdir} trained other networks or games than "
                      f"this config (that run -> this one): {'; '.join(differences[:6])}")


def _shared_part(config) -> dict:
  """`SHARED_FIELDS` of a checked config as JSON, without the game options that change only
  the training signal (`Env.reward_options`: a hidden-reward partner plays the same game)."""
  shared = {k: v for k, v in json.loads(config.to_json_best_effort()).items()
            if k in SHARED_FIELDS}
  for game, options in shared["game_options"].items():
    for option in registry.reward_options(game):
      options.pop(option, None)
  return shared


def load(partners: str | pathlib.Path, config) -> PartnerPool:
  """The live members of the finished runs that `partners` names (a workdir, or several
  separated by commas; see the module docstring), or those in the slots
  `config.population.partner_members` names, of every run.

  Raises:
    ConfigError: as `workdirs` and `read_config`, a run without checkpoints or not finished.
    CheckpointError: a checkpoint that cannot be read (corrupt, another structure).
  """
  named = workdirs(partners)
  params, members = zip(*(_load_run(workdir, config) for workdir in named))
  params = widening.pad_stacked(list(params))  # runs of narrower MLPs: as wide as the widest
  return PartnerPool(
      params=params[0] if len(named) == 1 else jax.tree.map(
          lambda *x: jnp.concatenate(x), *params),
      members=np.concatenate(members),
      runs=np.repeat(np.arange(len(named), dtype=np.int32), [len(m) for m in members]),
      workdirs=named)


def _load_run(workdir: pathlib.Path, config) -> tuple[Any, np.ndarray]:
  """(params [m, ...], their slots int32[m]) of the members of the finished run in `workdir`
  that the pool takes, after checking the run (`read_config`)."""
  partner_config = read_config(workdir, config)
  try:
    learner = Learner(partner_config)
  except ConfigError as error:  # on many processes: its batch on all their devices
    raise ConfigError(f"population.partners: cannot read the run in {workdir} on the "
                      f"{jax.device_count()} devices of {jax.process_count()} processes "
                      f"({error})") from None
  population = partner_config.population
  target = Population(learner, max(population.capacity, population.num_learners),
                      num_learners=population.num_learners,
                      per_seat=population.per_seat).init(partner_config.seed)
  if not (workdir / "checkpoints").is_dir():
    raise ConfigError(f"population.partners: {workdir} has no checkpoints; "
                      f"{_stage_one_hint(workdir)}")
  with Checkpointer(workdir / "checkpoints") as checkpoints:
    step = checkpoints.latest_step()
    if step is None or step < learner.num_updates:
      raise ConfigError(f"population.partners: the run in {workdir} is not finished (its "
                        f"last checkpoint is at update {step or 0} of {learner.num_updates}); "
                        f"resume it to the end first")
    state = population_lib.restore_saved(checkpoints, step, target)
  members = np.flatnonzero(hosts.to_host(state.live))
  chosen = config.population.partner_members
  if chosen:
    missing = sorted(set(chosen) - set(members.tolist()))
    if missing:
      raise ConfigError(f"population.partner_members: the run in {workdir} has no members in "
                        f"slots {missing}; its members are in slots {members.tolist()}")
    members = np.asarray(chosen)
  params = jax.tree.map(lambda x: x[members], state.params)
  return params, members.astype(np.int32)


def seat(state: PopulationState, pool: PartnerPool, first: int = 1) -> PopulationState:
  """`state` (a population of capacity >= first + M, its learners in slots 0 .. first - 1)
  with the pool's members frozen in slots first .. first + M - 1 and live (their magnets are
  their parameters; they never learn; `born` 0, as the learners'). The partners are placed as
  the state's arrays are (e.g. replicated over a mesh of several devices)."""
  slots = jnp.arange(first, first + pool.size)
  return _with_params(state, slots, pool.params).replace(live=state.live.at[slots].set(True))


def start_learner_as(state: PopulationState, pool: PartnerPool, member: int,
                     learner: int = 0) -> PopulationState:
  """`state` with learner slot `learner`'s params and magnet those of the pool's `member` (its
  index in the pool's order; the optimizer states stay fresh): a learner that starts where
  that partner is. ConfigError for a member outside the pool."""
  if not 0 <= member < pool.size:
    raise ConfigError(f"population.learner_from ({member}) must be a member of the pool of "
                      f"{pool.size} (0 .. {pool.size - 1}, in the pool's order)")
  if any(jax.tree.leaves(jax.tree.map(lambda x, v: x.shape[1:] != v.shape[1:], state.params,
                                      pool.params))):
    raise ConfigError("population.learner_from: the pool's networks are narrower than this "
                      "run's (network.hidden); a learner started as one would keep its extra "
                      "units at zero (they get no gradient): train at the pool's width")
  return _with_params(state, learner, jax.tree.map(lambda v: v[member], pool.params))


def _with_params(state: PopulationState, slots, params) -> PopulationState:
  """`state` with `params` (stacked as `slots` indexes) as the params and magnets of `slots`,
  placed as the state's arrays are (e.g. replicated over a mesh of several devices); a
  narrower MLP's params are padded to the state's widths first (`jaxplay.agents.widening`)."""
  def one(x, v):
    v = widening.pad(v, jax.ShapeDtypeStruct(v.shape[:v.ndim - x.ndim + 1] + x.shape[1:],
                                             v.dtype))
    return x.at[slots].set(jax.device_put(v, x.sharding))

  put = lambda tree: jax.tree.map(one, tree, params)
  return state.replace(params=put(state.params), magnet=put(state.magnet))
