"""The run config: every field a training run has, its default, and the one place it is checked.

    config = jaxplay.config.defaults()      # every field (experiments/configs/*.py start here)
    config.games = ("leduc_poker",)
    config = jaxplay.config.check(config)   # checked and normalized, frozen

`check` is the only place a run config is validated. What it returns is what every consumer
(the `Learner`, the evaluators, the experiment binaries) reads, and they trust it:

- no field it does not know (a mistyped name fails instead of being ignored), every value of
  the type and in the range its field allows, the first problem as one `ConfigError`; a
  field it lacks takes its default;
- normalized: tuples for sequences, `game_options` holding every option of each trained game
  (the game's defaults filled in; options of games not trained must stay at their defaults and
  are dropped), `reward_scale` a factor for every trained game;
- frozen (`ml_collections.FrozenConfigDict`), so nothing downstream changes a checked value.

`defaults()` lists the options of every registered game under `game_options`, so any game
option can be set on the command line (`--config.game_options.overcooked.horizon=200`).
A game of your own (an `Env` subclass registered with `jaxplay.core.register`) trains like the
built-in ones: name the module that registers it in `imports`, and the run (and its later
evaluation, which reads the saved config) imports it first.
The `run` and `eval` sections decide what is logged and when (and how the programs compile),
not what is learned: a resumed run may change them (`learned_part`).
"""

from __future__ import annotations

import importlib
import json
from typing import Any, Callable, Mapping

import ml_collections

from jaxplay.agents.networks import NETWORKS
from jaxplay.agents import scripted as scripted_lib
from jaxplay import parallel as parallel_lib
from jaxplay.parallel import fsdp
from jaxplay.core.errors import ConfigError, check_return_range
from jaxplay.core.registry import game_options, make, registered_games
from jaxplay.eval import meta_strategy
from jaxplay.learn import cole as cole_lib, side_by_side
from jaxplay.learn import population_entropy as population_entropy_lib

ADVANTAGES = ("gae", "rae")
MAGNET_UPDATES = ("ema", "distill")
# The `ppo` fields `ppo_by_game` may set for one game; the rest are shared by all games.
PER_GAME_FIELDS = ("advantage", "gamma", "gae_lambda", "rae_alpha", "clip_eps",
                   "normalize_advantages", "entropy_coef", "final_entropy_coef", "kl_coef",
                   "magnet_coef", "final_magnet_fraction")
POPULATION_SCHEMES = ("self_play", "fictitious", "pfsp", "psro", "fcp", "cole")
META_SOLVERS = meta_strategy.NAMES  # psro's meta-strategy solvers, named in one place
PFSP_WEIGHTINGS = ("hard", "variance")
WHEN_FULL = ("stop", "replace_oldest")  # population.when_full
# Sections a resumed run may change: they decide what is logged and when, not what is learned,
# and on how many devices it runs (`parallel`: a run resumes on another device count; with
# parallel.shards = 0 the shard count follows the devices, so later updates average over as
# many shards as there are devices now).
RESUMABLE_SECTIONS = ("run", "eval", "parallel")
# Sections keyed by game name: {game: value}.
_BY_GAME = ("game_options", "reward_scale", "ppo_by_game")


def defaults() -> ml_collections.ConfigDict:
  """Every field of a run config, with its default."""
  config = ml_collections.ConfigDict()
  config.seed = 0
  config.imports = ()                    # modules to import first: they register games of yours
  config.games = ("kuhn_poker",)         # trained together by one network
  config.game_options = _all_game_options()  # {game: {make keyword: value}}
  config.reward_scale = ml_collections.ConfigDict()   # {game: factor on its training rewards}
  config.ppo_by_game = ml_collections.ConfigDict()  # {game: {ppo field: value}} overrides
  config.total_env_steps = 1_000_000     # over all games: num_envs x num_steps x games per update

  config.network = ml_collections.ConfigDict()
  config.network.kind = "transformer"    # or "mlp"
  config.network.width = 64              # transformer: token width
  config.network.depth = 2               # transformer: blocks
  config.network.heads = 4
  config.network.mlp_ratio = 2
  config.network.hidden = (128, 128)     # mlp: hidden layer sizes
  config.network.separate_critic = False  # mlp: a second trunk for the value (JaxMARL IPPO's)
  config.network.token_embed = 0         # mlp: map each token to this many features first

  config.ppo = ml_collections.ConfigDict()
  config.ppo.num_envs = 256              # B games of each game, side by side
  config.ppo.num_steps = 16              # T steps per rollout
  config.ppo.num_epochs = 4
  config.ppo.num_minibatches = 4
  config.ppo.learning_rate = 3e-4        # Adam
  config.ppo.final_lr_fraction = 1.0     # linear schedule to learning_rate x this at the end
  config.ppo.max_grad_norm = 0.5
  config.ppo.gamma = 1.0
  config.ppo.gae_lambda = 0.95
  config.ppo.advantage = "gae"           # or "rae": SPIRAL's role-conditioned advantages
  config.ppo.rae_alpha = 0.95            # RAE's baseline: b <- alpha b + (1 - alpha) R
  config.ppo.bootstrap_truncated = True  # bootstrap from the value where a time limit cuts a game
  config.ppo.clip_eps = 0.2
  config.ppo.clip_value = True
  config.ppo.value_coef = 0.5
  config.ppo.entropy_coef = 0.01
  config.ppo.final_entropy_coef = 0.01   # linear schedule to this at the end
  config.ppo.normalize_advantages = True
  config.ppo.kl_coef = 0.0               # KL(old policy || policy): a proximal term
  config.ppo.magnet_coef = 0.0           # KL(policy || magnet): magnetic mirror descent
  config.ppo.final_magnet_fraction = 1.0  # linear schedule to magnet_coef x this at the end
  config.ppo.magnet_ema = 0.01           # the magnet: parameters averaged with this step
  config.ppo.final_magnet_ema_fraction = 1.0  # linear schedule to magnet_ema x this at the end,
  config.ppo.magnet_ema_decay_start = 0.0     # starting at this fraction of the run
  config.ppo.magnet_update = "ema"       # or "distill": the magnet learns the played policies
  config.ppo.magnet_lr = 1e-4            # "distill": Adam step size, one step an update

  config.shaping = ml_collections.ConfigDict()
  config.shaping.coef = 0.0              # weight of the env's shaped rewards (Overcooked)
  config.shaping.anneal_env_steps = 1    # linearly down to 0 over this many env steps

  config.run = ml_collections.ConfigDict()
  config.run.updates_per_call = 10       # K updates per compiled call
  config.run.log_every = 10              # updates between progress lines (a multiple of K)
  config.run.eval_every = 50             # updates between evaluations (0: only at the end)
  config.run.checkpoint_every = 100      # updates between checkpoints (and at the end)
  config.run.keep_checkpoints = 3
  config.run.xla_ynnpack_fusions = True  # XLA:CPU's YNNPACK fusions in the training programs
  #   (XLA's default); False: XLA's own kernels, faster for small minibatches
  #   (jaxplay.learn.compiling). How it runs, not what it learns (float rounding aside)

  config.population = ml_collections.ConfigDict()
  config.population.scheme = "self_play"  # "fictitious" / "pfsp": one learner against its
  #   frozen snapshots (fictitious self-play, prioritized fictitious self-play); "psro": PSRO
  #   with PPO best responses, a population a seat (two-player games with a tree); "fcp":
  #   fictitious co-play against the frozen pool of `partners`; "cole": COLE's generations
  #   (common-payoff games)
  config.population.capacity = 8         # fictitious, pfsp, cole: the most members, learner
  #                                        included
  config.population.snapshot_every = 100  # fictitious, pfsp: updates between snapshots; cole:
  #                                         a generation
  config.population.snapshot_start = 0   # fictitious, pfsp: the update of the first snapshot
  config.population.when_full = "stop"   # fictitious, pfsp, self_play with num_learners > 1:
  #   once the population is full, "stop" taking snapshots or "replace_oldest": each new one
  #   takes the slot of the oldest frozen snapshot (a new member: payoff counts from 0)
  config.population.weighting = "hard"   # pfsp: "hard" (1 - p)^k or "variance" p (1 - p)
  config.population.k = 2.0              # pfsp: the exponent of "hard"
  config.population.return_range = (-1.0, 1.0)  # pfsp, Elo: returns -> win probabilities
  config.population.iterations = 20      # psro: best responses a seat; the updates of the run
  #                                         are spread over them
  config.population.meta_solver = "nash"  # psro: "nash" (PSRO), "prd" (projected replicator
  #   dynamics), "uniform" (fictitious play) or "least_exploitable" (anytime double oracle's
  #   mixture: least exploitable in the whole game; jaxplay.eval.least_exploitable)
  config.population.meta_rounds = 100   # psro, least_exploitable: best responses it adds, at most
  config.population.output_meta_solver = ""  # psro: the meta-strategy it reports and exports
  #   (measured by exploitability); one of meta_solver's values, "": meta_solver's
  config.population.fresh = True         # psro: each best response from a new network
  config.population.num_learners = 1     # self_play: K runs side by side (learner_map; seeds
  #   seed .. seed + K - 1; total_env_steps each), frozen copies of each kept every
  #   snapshot_every updates from snapshot_start on while capacity lasts (FCP's partner pool);
  #   cole: K learners sharing one population (K lineages; jaxplay.learn.cole_generations)
  config.population.learner_map = "auto"  # how several learners run side by side: "vmap",
  #   "map" (one program), "threads" (independent self-play learners, num_learners > 1 on
  #   one device: each its own program, a CPU core each) or "auto" (threads for those on
  #   the CPU, else map there; vmap on accelerators); see jaxplay.learn.population
  config.population.snapshot_initial = False  # self_play with num_learners > 1: also a
  #   frozen copy of each untrained network (FCP's "start" checkpoints)
  config.population.population_entropy = 0.0  # self_play with num_learners > 1: MEP's alpha
  #   (Zhao et al. 2023): each learner's reward at a decision gets -alpha log pibar(a | s),
  #   pibar the learners' mean policy, a diverse partner pool for FCP; the learners then run
  #   in one program (learner_map "auto" maps them on the CPU); 0: off
  config.population.population_entropy_ramp = (0, 0)  # with population_entropy: (start,
  #   end) in each learner's env steps: alpha 0 until start, rising linearly to alpha at end
  #   (a bonus that waits until the learners can do the task); (0, 0): alpha throughout
  config.population.per_seat = False     # self_play with num_learners = 2 in a two-player
  #   game: one learner a seat, always in its seat, each playing the other (a pair with
  #   different rewards a seat, game_options.overcooked.event_rewards: hidden-utility
  #   self-play's biased partner beside a task partner); capacity and snapshots per seat
  config.population.cole_self_play = 0.5  # cole: the learner's share of games with itself
  config.population.cole_uniform = 0.0   # cole: the share of the other games whose partner is
  #   drawn uniformly from the members, as fictitious co-play draws (the rest by COLE's
  #   priority; an extension of ours, 0 in COLE)
  config.population.cole_visits = "run"  # cole: the visits of the UCB bonus in the partner
  #   draw: "run", the learner's games with each member since it joined; "generation", those
  #   of the current generation (COLE-Platform's draws of the current iteration)
  config.population.cole_games = 16       # cole: games a pair when measuring the learner's
  #   cross-play at the end of a generation (snapshot_every updates)
  config.population.partners = ""        # fcp: the workdir of a finished run whose members
  #   (a self_play run with num_learners > 1) are the frozen training partners; several
  #   such workdirs separated by commas make one pool (their members in that order); cole:
  #   such a pool as the population's first frozen members (capacity must hold them too)
  config.population.cole_keep_partners = False  # cole with partners: the pool's members are
  #   never replaced (False: COLE's rule, the oldest first once full, and they are the oldest)
  config.population.partner_members = ()  # fcp, cole: only these slots of each run (its
  #   learners are slots 0 .. K - 1), e.g. (2,) trains a best response to its third learner;
  #   () all
  config.population.learner_from = -1    # fcp: the learner starts as this member of the pool
  #   (its index in the pool's order) instead of from its seed: a best response that starts
  #   where the partner with itself is; -1: from the seed
  config.population.scripted = ()        # overcooked: scripted training partners by name
  #   (jaxplay.agents.scripted.PARTNERS: "independent_cook", "onion_fetcher", "dish_fetcher",
  #   "static", "random"), opponents beside the population's networks
  config.population.scripted_weight = 0.0  # the share of games against a scripted partner
  #   (uniform among them); scheme self_play with weight 1: a best response to them
  config.population.scripted_share = 1.0  # the probability that the scripted partner acts at
  #   a step; otherwise the learner's own policy acts for it (E3T's partner, Yan et al. 2023,
  #   with "random"); below 1 only for one self-play learner (scheme self_play, num_learners 1)

  config.population.partner_noise = 0.0  # the probability that a frozen member (FCP's pool
  #   partners, COLE's members, snapshots) acts uniformly at random at a step instead of its
  #   network: E3T's mixture for a population's partners; below 1, not with psro

  config.parallel = ml_collections.ConfigDict()  # jaxplay.parallel: data parallelism (self-play)
  config.parallel.data = 1               # devices on the mesh's "data" axis (0: every device);
  #   each rolls out, computes advantages for and shuffles its own games
  config.parallel.shards = 0             # data shards an update's games are cut into (0: one
  #   per data device; else a multiple of data): what an update computes depends on the shards,
  #   not the devices (1 device with shards = 4 computes what 4 devices do)
  config.parallel.members = 1            # devices on the mesh's "members" axis (populations
  #   of several learners): each plays the games and does the PPO epochs of num_learners /
  #   members learners; the mesh has data x members devices, and the result is the same for
  #   any members (not with PSRO or scripted partners)
  config.parallel.params = ()            # self-play: sharding rules of the parameters, magnet
  #   and optimizer states, ((regex, "fsdp" | "replicate"), ...) on leaf paths such as
  #   "params/Dense_0/kernel", the first match deciding; "fsdp" cuts a leaf over the data
  #   devices (jaxplay.parallel.fsdp); () or no match: whole on every device

  config.eval = ml_collections.ConfigDict()
  config.eval.num_games = 1000           # games per match or metric evaluation
  config.eval.greedy = False             # play the most likely action instead of sampling
  config.eval.magnet = True              # also evaluate the averaged parameters (the magnet)
  return config


def _all_game_options() -> ml_collections.ConfigDict:
  """{game: {option: default}} for every registered game. Each field takes any type (a
  negotiation objective is a name or a number, a layout a name or rows), so that config files
  and `--config.game_options.<game>.<option>=...` can set any value the game accepts."""
  options = ml_collections.ConfigDict()
  for name in registered_games():
    options[name] = ml_collections.ConfigDict({
        option: ml_collections.FieldReference(default, field_type=object)
        for option, default in game_options(name).items()})
  return options


# --- checking -------------------------------------------------------------------------------

Rule = Callable[[str, Any], Any]  # (field path, value) -> normalized value; raises ConfigError


def _fail(path: str, allowed: str, value: Any) -> None:
  raise ConfigError(f"{path} must be {allowed}, got {value!r}")


def _int(low: int = 0, what: str = "an int >= 0") -> Rule:
  def rule(path, value):
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
      _fail(path, what, value)
    return value
  return rule


def _number(low: float, high: float) -> Rule:
  def rule(path, value):
    if (isinstance(value, bool) or not isinstance(value, (int, float))
        or not low <= value <= high):
      _fail(path, f"a number in [{low}, {high}]", value)
    return float(value)
  return rule


def _bool(path: str, value: Any) -> bool:
  if not isinstance(value, bool):
    _fail(path, "True or False", value)
  return value


def _one_of(options: tuple[str, ...]) -> Rule:
  def rule(path, value):
    if value not in options:
      _fail(path, f"one of {options}", value)
    return value
  return rule


def _string(path: str, value: Any) -> str:
  if not isinstance(value, str):
    _fail(path, "a string", value)
  return value


def _scripted_names(path: str, value: Any) -> tuple[str, ...]:
  if (isinstance(value, str) or not hasattr(value, "__iter__")
      or not all(isinstance(name, str) for name in value)):
    _fail(path, "a sequence of scripted partner names", value)
  return scripted_lib.check_names(path, value)


def _ints(path: str, value: Any) -> tuple[int, ...]:
  if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
    _fail(path, "a sequence of ints >= 0", value)
  value = tuple(value)
  if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value):
    _fail(path, "a sequence of ints >= 0", value)
  return value


def _positive_ints(path: str, value: Any) -> tuple[int, ...]:
  if (isinstance(value, (str, bytes)) or not hasattr(value, "__iter__")
      or not (value := tuple(value))
      or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value)):
    _fail(path, "a non-empty sequence of positive ints", value)
  return value


_POSITIVE = _int(1, "a positive int")
_UNBOUNDED = 1e9
_PPO_RULES: dict[str, Rule] = {
    "num_envs": _POSITIVE, "num_steps": _POSITIVE, "num_epochs": _POSITIVE,
    "num_minibatches": _POSITIVE,
    "learning_rate": _number(0, 1), "final_lr_fraction": _number(0, 1),
    "max_grad_norm": _number(0, _UNBOUNDED), "gamma": _number(0, 1),
    "gae_lambda": _number(0, 1), "advantage": _one_of(ADVANTAGES), "rae_alpha": _number(0, 1),
    "bootstrap_truncated": _bool, "clip_eps": _number(0, _UNBOUNDED), "clip_value": _bool,
    "value_coef": _number(0, _UNBOUNDED), "entropy_coef": _number(0, _UNBOUNDED),
    "final_entropy_coef": _number(0, _UNBOUNDED), "normalize_advantages": _bool,
    "kl_coef": _number(0, _UNBOUNDED), "magnet_coef": _number(0, _UNBOUNDED),
    "final_magnet_fraction": _number(0, 1), "magnet_ema": _number(0, 1),
    "final_magnet_ema_fraction": _number(0, 1), "magnet_ema_decay_start": _number(0, 1),
    "magnet_update": _one_of(MAGNET_UPDATES), "magnet_lr": _number(0, 1),
}
# Every leaf outside the sections keyed by game: its rule.
_RULES: dict[str, Rule] = {
    "seed": _int(),
    "total_env_steps": _POSITIVE,
    "network.kind": _one_of(NETWORKS),
    "network.width": _POSITIVE, "network.depth": _POSITIVE, "network.heads": _POSITIVE,
    "network.mlp_ratio": _POSITIVE, "network.hidden": _positive_ints,
    "network.separate_critic": _bool, "network.token_embed": _int(),
    **{f"ppo.{field}": rule for field, rule in _PPO_RULES.items()},
    "shaping.coef": _number(0, _UNBOUNDED), "shaping.anneal_env_steps": _POSITIVE,
    # The intervals are multiples of updates_per_call (`_check_run`).
    "run.updates_per_call": _POSITIVE, "run.log_every": _int(), "run.eval_every": _int(),
    "run.checkpoint_every": _int(), "run.keep_checkpoints": _POSITIVE,
    "run.xla_ynnpack_fusions": _bool,
    "eval.num_games": _POSITIVE, "eval.greedy": _bool, "eval.magnet": _bool,
    "population.scheme": _one_of(POPULATION_SCHEMES), "population.iterations": _POSITIVE,
    "population.meta_solver": _one_of(META_SOLVERS), "population.fresh": _bool,
    "population.meta_rounds": _POSITIVE,
    "population.output_meta_solver": _one_of(("",) + META_SOLVERS),
    "population.capacity": _int(2, "an int >= 2"), "population.snapshot_every": _POSITIVE,
    "population.snapshot_start": _int(), "population.when_full": _one_of(WHEN_FULL),
    "population.weighting": _one_of(PFSP_WEIGHTINGS), "population.k": _number(0, _UNBOUNDED),
    "population.return_range": lambda path, value: check_return_range(path, value),
    "population.num_learners": _POSITIVE,
    "population.learner_map": _one_of(side_by_side.WITH_THREADS),
    "population.snapshot_initial": _bool, "population.per_seat": _bool,
    "population.population_entropy": _number(0, _UNBOUNDED),
    "population.population_entropy_ramp": population_entropy_lib.check_ramp,
    "population.cole_self_play": _number(0, 1), "population.cole_uniform": _number(0, 1),
    "population.cole_games": _int(2, "an even int >= 2"), "population.partners": _string,
    "population.cole_keep_partners": _bool,
    "population.cole_visits": _one_of(cole_lib.VISITS),
    "population.partner_members": _ints,
    "population.learner_from": _int(-1, "an int >= -1"),
    "population.scripted": _scripted_names,
    "population.scripted_weight": _number(0, 1), "population.scripted_share": _number(0, 1),
    "population.partner_noise": _number(0, 1),
    "parallel.data": _int(), "parallel.shards": _int(), "parallel.members": _POSITIVE,
    "parallel.params": fsdp.check_rules,
}


def check(config: ml_collections.ConfigDict | Mapping) -> ml_collections.FrozenConfigDict:
  """The config, checked and normalized (see the module docstring).

  Raises:
    ConfigError: the first field with a name or value it does not allow; the message names
      the field and what is allowed.
    UnknownGameError: a game that is not registered.
  """
  data = config.to_dict() if isinstance(config, ml_collections.ConfigDict) else dict(config)
  imports = _import_modules(data.get("imports", ()))
  known = defaults().to_dict()
  _check_known_fields(data, known)
  data = _with_defaults(data, known)
  out = {}
  for path, rule in _RULES.items():
    section, _, field = path.rpartition(".")
    value = rule(path, (data[section] if section else data)[field])
    (out.setdefault(section, {}) if section else out)[field] = value
  out["imports"] = imports
  games = out["games"] = _check_games(data["games"])
  options = _check_game_options(data["game_options"], games)
  envs = {name: make(name, **kwargs) for name, kwargs in options.items()}
  out["game_options"] = {name: {option: _as_tuples(value) for option, value in kwargs.items()}
                         for name, kwargs in options.items()}
  out["reward_scale"] = _check_reward_scales(data["reward_scale"], games)
  out["ppo_by_game"] = _check_ppo_by_game(data["ppo_by_game"], games)
  _check_network(out["network"])
  _check_sizes(out, envs)
  _check_run(out["run"])
  _check_population(out, envs)
  _check_parallel(out, envs)
  _check_param_sharding(out)
  return ml_collections.FrozenConfigDict(out)


def _import_modules(names: Any) -> tuple[str, ...]:
  """Imports the modules a config names (registering the games they define)."""
  if isinstance(names, str) or not all(isinstance(n, str) for n in names):
    _fail("imports", "a sequence of module names", names)
  for name in names:
    try:
      importlib.import_module(name)
    except ImportError as error:
      raise ConfigError(f"imports: cannot import {name!r} ({error}); run from the directory "
                        "that holds it, or install it") from None
  return tuple(names)


def _check_known_fields(data: Mapping, known: Mapping, prefix: str = "") -> None:
  """Every field of `data` exists in `known` (at any depth; sections keyed by game take any
  game name, checked later)."""
  for key, value in data.items():
    path = f"{prefix}{key}"
    if key not in known:
      raise ConfigError(f"unknown config field {path!r}; the fields of its section are "
                        f"{sorted(known)} (all fields, with defaults: jaxplay/config.py)")
    if isinstance(known[key], Mapping) and path not in _BY_GAME:
      if not isinstance(value, Mapping):
        _fail(path, "a section (fields " + ", ".join(sorted(known[key])) + ")", value)
      _check_known_fields(value, known[key], f"{path}.")


def _check_games(games: Any) -> tuple[str, ...]:
  if isinstance(games, str) or not hasattr(games, "__iter__") or not tuple(games):
    raise ConfigError(f"games must be a non-empty sequence of names from "
                      f"{registered_games()}, got {games!r}")
  games = tuple(games)
  if len(set(games)) != len(games):
    raise ConfigError(f"games must not repeat: {list(games)}")
  for name in games:
    game_options(name)  # UnknownGameError names the registered games
  return games


def _check_game_options(given: Mapping, games: tuple[str, ...]) -> dict[str, dict]:
  """Each trained game's options with its defaults filled in; options of other registered
  games must be at their defaults."""
  for name, options in given.items():
    if not isinstance(options, Mapping):
      _fail(f"game_options.{name}", "a section of options", options)
    if name not in games:
      defaults_ = game_options(name) if name in registered_games() else None
      if defaults_ is None:
        raise ConfigError(f"game_options names {name!r}, which is not a registered game "
                          f"({', '.join(registered_games())})")
      changed = sorted(k for k, v in options.items() if k not in defaults_ or v != defaults_[k])
      if changed:
        raise ConfigError(f"game_options.{name} sets {changed}, but {name} is not among "
                          f"games={list(games)}")
  return {name: {**game_options(name), **dict(given.get(name, {}))} for name in games}


def _as_tuples(value: Any) -> Any:
  """Lists (as JSON gives them back) as tuples, at any depth: one form for every option."""
  if isinstance(value, (list, tuple)):
    return tuple(_as_tuples(v) for v in value)
  return value


def _only_trained(section: str, given: Mapping, games: tuple[str, ...]) -> None:
  """A section keyed by game names only games the run trains."""
  stray = sorted(set(given) - set(games))
  if stray:
    raise ConfigError(f"{section} names {stray}, which are not among games={list(games)}")


def _check_reward_scales(given: Mapping, games: tuple[str, ...]) -> dict[str, float]:
  _only_trained("reward_scale", given, games)
  scales = {}
  for name in games:
    scale = given.get(name, 1.0)
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not scale > 0:
      _fail(f"reward_scale.{name}", "a positive number", scale)
    scales[name] = float(scale)
  return scales


def _check_ppo_by_game(given: Mapping, games: tuple[str, ...]) -> dict[str, dict]:
  _only_trained("ppo_by_game", given, games)
  out = {}
  for name, overrides in given.items():
    if not isinstance(overrides, Mapping):
      _fail(f"ppo_by_game.{name}", "a section of ppo fields", overrides)
    wrong = sorted(set(overrides) - set(PER_GAME_FIELDS))
    if wrong:
      raise ConfigError(f"ppo_by_game.{name} sets {wrong}; the fields a game can set are "
                        f"{list(PER_GAME_FIELDS)}")
    out[name] = {field: _PPO_RULES[field](f"ppo_by_game.{name}.{field}", value)
                 for field, value in overrides.items()}
  return out


def _check_network(network: dict) -> None:
  if network["kind"] == "transformer" and network["width"] % network["heads"]:
    raise ConfigError(f"network.width ({network['width']}) must be a multiple of "
                      f"network.heads ({network['heads']})")


def _check_sizes(config: dict, envs: Mapping[str, Any]) -> None:
  """An update's steps fit total_env_steps, and its samples the minibatches."""
  ppo, update_steps = config["ppo"], steps_per_update(config)
  if config["total_env_steps"] < update_steps:
    raise ConfigError(f"total_env_steps must be at least one update's steps (num_envs x "
                      f"num_steps x games = {update_steps}), got {config['total_env_steps']}")
  actors = sum(env.num_players if env.simultaneous else 1 for env in envs.values())
  samples = ppo["num_envs"] * ppo["num_steps"] * actors
  if samples < ppo["num_minibatches"]:
    raise ConfigError(f"ppo.num_minibatches ({ppo['num_minibatches']}) exceeds the samples "
                      f"of an update ({samples})")


def plain_self_play(population: Mapping) -> bool:
  """Whether a config's `population` section trains one network in self-play alone (scheme
  self_play, one learner, no scripted partners): a `Learner`, no `Population`."""
  return (population["scheme"] == "self_play" and population["num_learners"] == 1
          and not population["scripted"])


def _check_param_sharding(config: dict) -> None:
  """Parameters are cut over the devices in self-play runs only (`plain_self_play`): a
  population's members stay whole on every device."""
  population = config["population"]
  if (any(strategy == "fsdp" for _, strategy in config["parallel"]["params"])
      and not plain_self_play(population)):
    raise ConfigError(f"parallel.params: parameters are cut over the devices (\"fsdp\") in "
                      f"self-play runs only (population.scheme 'self_play', one learner, no "
                      f"scripted partners), not with population.scheme "
                      f"{population['scheme']!r}; use parallel.params = ()")


def _check_parallel(config: dict, envs: Mapping[str, Any]) -> None:
  """Every scheme runs sharded (PSRO and scripted partners without a members axis); the
  shards fit the batch (the device count is checked where the mesh is made,
  `jaxplay.parallel.make_mesh`)."""
  parallel, population = config["parallel"], config["population"]
  if parallel["members"] > 1 and population["scheme"] == "psro":
    raise ConfigError(f"parallel.members ({parallel['members']}): PSRO's best responses are "
                      "not split over a members axis; population.scheme 'psro' runs "
                      "data-parallel (parallel.data, parallel.shards) with parallel.members = 1")
  if parallel["members"] > 1 and population["scripted"]:
    raise ConfigError(f"parallel.members ({parallel['members']}): scripted partners "
                      f"(population.scripted) play on one members device; use "
                      "parallel.members = 1")
  if population["num_learners"] % parallel["members"]:
    raise ConfigError(f"parallel.members ({parallel['members']}) must divide "
                      f"population.num_learners ({population['num_learners']}): each device "
                      "of the members axis trains as many learners")
  if parallel["data"] or parallel["shards"]:  # else known once the devices are
    ppo = config["ppo"]
    actors = sum(env.num_players if env.simultaneous else 1 for env in envs.values())
    parallel_lib.check_sizes(ppo["num_envs"], ppo["num_envs"] * ppo["num_steps"] * actors,
                             ppo["num_minibatches"], parallel["data"] or parallel["shards"],
                             parallel["shards"])


def _check_run(run: dict) -> None:
  """The logging, evaluation and checkpoint intervals fit the compiled chunks of K updates."""
  k = run["updates_per_call"]
  for field in ("log_every", "eval_every", "checkpoint_every"):
    value, may_be_zero = run[field], field == "eval_every"
    if value % k or (value == 0 and not may_be_zero):
      raise ConfigError(f"run.{field} must be a positive multiple of run.updates_per_call ({k})"
                        f"{' or 0 (only at the end)' if may_be_zero else ''}, got {value!r}")


def _check_population(config: dict, envs: Mapping[str, Any]) -> None:
  """Snapshots fit the compiled chunks (and are replaced only by schemes that take them);
  self-play runs side by side fit the capacity; FCP names its partners; PSRO needs one
  two-player game measured on its tree, and an update per iteration."""
  population = config["population"]
  scheme, learners = population["scheme"], population["num_learners"]
  if learners > 1 and scheme not in ("self_play", "cole"):
    raise ConfigError(f"population.num_learners > 1 runs self-play side by side (scheme "
                      f"'self_play') or COLE's learners in one population (scheme 'cole'), "
                      f"got scheme {scheme!r} with {learners} learners")
  if learners > 1 and population["capacity"] < learners:
    raise ConfigError(f"population.capacity ({population['capacity']}) must hold the "
                      f"{learners} learners (population.num_learners) and their snapshots")
  if population["per_seat"] and not (scheme == "self_play" and learners == 2 and len(envs) == 1
                                     and next(iter(envs.values())).num_players == 2
                                     and not population["scripted"]):
    raise ConfigError(f"population.per_seat trains a pair, one learner a seat: scheme "
                      f"'self_play', num_learners = 2, one two-player game and no scripted "
                      f"partners; got scheme {scheme!r}, {learners} learner(s), games="
                      f"{list(envs)}, scripted={list(population['scripted'])}")
  if population["population_entropy"] and not (scheme == "self_play" and learners > 1
                                               and not population["per_seat"]):
    raise ConfigError(f"population.population_entropy ({population['population_entropy']!r}) "
                      f"rewards the diversity of several self-play learners (MEP): it needs "
                      f"the scheme 'self_play' with num_learners > 1, not per seat; got scheme "
                      f"{scheme!r} with {learners} learner(s); leave it 0")
  ramp = tuple(population["population_entropy_ramp"])
  if ramp != (0, 0) and not population["population_entropy"]:
    raise ConfigError(f"population.population_entropy_ramp ({ramp!r}) schedules MEP's alpha: "
                      f"set population.population_entropy > 0, or leave the ramp (0, 0)")
  if population["population_entropy"] and ramp[0] >= config["total_env_steps"]:
    raise ConfigError(f"population.population_entropy_ramp starts at {ramp[0]} env steps, at or "
                      f"after the run's end (total_env_steps {config['total_env_steps']}): the "
                      f"bonus would never be paid")
  if scheme == "fcp" and not population["partners"]:
    raise ConfigError("population.scheme 'fcp' trains against a frozen pool: set "
                      "population.partners to the workdir of a finished self_play run with "
                      "num_learners > 1 (FCP's stage 1), or several separated by commas")
  if population["partners"] and scheme not in ("fcp", "cole"):
    raise ConfigError(f"population.partners ({population['partners']!r}) is a pool of frozen "
                      f"partners for the schemes 'fcp' and 'cole', not {scheme!r}; leave it "
                      f"empty")
  if population["learner_from"] >= 0 and scheme != "fcp":
    raise ConfigError(f"population.learner_from ({population['learner_from']}) starts FCP's "
                      f"learner as a member of its pool: it needs the scheme 'fcp', got "
                      f"{scheme!r}; leave it -1")
  if population["cole_keep_partners"] and not (scheme == "cole" and population["partners"]):
    raise ConfigError(f"population.cole_keep_partners keeps the members of the pool COLE "
                      f"starts from: it needs the scheme 'cole' and population.partners, got "
                      f"scheme {scheme!r} and partners {population['partners']!r}")
  if population["cole_uniform"] and scheme != "cole":
    raise ConfigError(f"population.cole_uniform ({population['cole_uniform']!r}) mixes uniform "
                      f"draws into COLE's partner priority: it needs the scheme 'cole', got "
                      f"{scheme!r}; leave it 0")
  if population["cole_visits"] != "run" and scheme != "cole":
    raise ConfigError(f"population.cole_visits ({population['cole_visits']!r}) is how COLE's "
                      f"partner draw counts visits: it needs the scheme 'cole', got "
                      f"{scheme!r}; leave it 'run'")
  if scheme == "cole" and population["cole_games"] % 2:
    _fail("population.cole_games", "an even int >= 2 (both seats alike)", population["cole_games"])
  if scheme == "cole" and (len(envs) != 1 or not next(iter(envs.values())).common_payoff):
    raise ConfigError(f"population.scheme 'cole' trains one common-payoff game (overcooked), "
                      f"got games={list(envs)}")
  if scheme in ("fictitious", "pfsp", "cole") or learners > 1:
    k = config["run"]["updates_per_call"]
    for field in ("snapshot_every", "snapshot_start"):
      if population[field] % k:
        raise ConfigError(f"population.{field} must be a multiple of run.updates_per_call "
                          f"({k}), got {population[field]}")
  if population["when_full"] != "stop" and not (scheme in ("fictitious", "pfsp")
                                               or (scheme == "self_play" and learners > 1)):
    raise ConfigError(f"population.when_full {population['when_full']!r} replaces the "
                      f"snapshots of the schemes fictitious and pfsp (and of self_play with "
                      f"num_learners > 1), not of scheme {scheme!r} with {learners} "
                      f"learner(s); use 'stop'")
  _check_scripted(population, envs)
  if population["partner_noise"] and (scheme == "psro" or (scheme == "self_play"
                                                          and learners == 1)):
    raise ConfigError(f"population.partner_noise ({population['partner_noise']}) makes frozen "
                      f"members act at random at a share of their steps: scheme {scheme!r} "
                      f"with {learners} learner(s) has none it plays (psro's are measured "
                      f"exactly)")
  if population["scheme"] != "psro":
    return
  env = next(iter(envs.values()))
  if len(envs) != 1 or env.num_players != 2 or env.evaluator != "exploitability":
    raise ConfigError(f"population.scheme 'psro' trains one two-player game measured on its "
                      f"game tree (kuhn_poker, leduc_poker), got games={list(envs)}")
  updates = config["total_env_steps"] // steps_per_update(config)
  if population["iterations"] > updates:
    raise ConfigError(f"population.iterations ({population['iterations']}) exceeds the run's "
                      f"updates ({updates}); every best response needs at least one")


def _check_scripted(population: dict, envs: Mapping[str, Any]) -> None:
  """Scripted partners play one Overcooked game, in populations trained by updates, and a
  scripted_weight needs them."""
  names, weight = population["scripted"], population["scripted_weight"]
  if weight > 0 and not names:
    raise ConfigError(f"population.scripted_weight ({weight}) is the share of games against "
                      f"scripted partners: name them in population.scripted")
  share = population["scripted_share"]
  if share < 1 and not (weight > 0 and population["scheme"] == "self_play"
                        and population["num_learners"] == 1 and not population["per_seat"]):
    raise ConfigError(f"population.scripted_share ({share}) mixes the scripted partner with "
                      f"the learner's own policy: it needs scripted games "
                      f"(population.scripted_weight > 0) and one self-play learner (scheme "
                      f"'self_play', num_learners 1, not per_seat)")
  if not names:
    return
  if list(envs) != ["overcooked"]:
    raise ConfigError(f"population.scripted: scripted partners play overcooked alone, got "
                      f"games={list(envs)}")
  if population["scheme"] in ("psro", "cole"):
    raise ConfigError(f"population.scripted: scripted partners train with the schemes "
                      f"self_play, fictitious, pfsp and fcp, not {population['scheme']!r}")


# --- derived views of a checked config --------------------------------------------------------


def game_ppo(config: ml_collections.FrozenConfigDict) -> tuple[ml_collections.ConfigDict, ...]:
  """Per trained game, `ppo` with the game's `ppo_by_game` overrides."""
  out = []
  for name in config.games:
    merged = config.ppo.to_dict()
    merged.update(config.ppo_by_game.get(name, {}))
    out.append(ml_collections.FrozenConfigDict(merged))
  return tuple(out)


def steps_per_update(config: ml_collections.FrozenConfigDict | Mapping) -> int:
  """Env steps of one update: num_envs x num_steps x games (of a checked config, or of the
  dict `check` builds)."""
  ppo = config["ppo"]
  return ppo["num_envs"] * ppo["num_steps"] * len(config["games"])


def num_updates(config: ml_collections.FrozenConfigDict) -> int:
  """Updates of the whole run: total_env_steps // steps_per_update."""
  return config.total_env_steps // steps_per_update(config)


# --- saved configs ------------------------------------------------------------------------------


def to_json(config: ml_collections.ConfigDict) -> str:
  """The config as JSON (what a run saves as config.json)."""
  return config.to_json_best_effort(indent=1)


def from_saved(saved: Mapping, one_device: bool = False) -> ml_collections.ConfigDict:
  """A run's saved config (its config.json as a dict) with every field added to the configs
  since then at its default, which keeps what the code did before the field existed.
  `one_device`: on one device (parallel.data and parallel.members 1) however many trained
  it, to evaluate or read the run anywhere. Unchecked: `check` it."""
  config = ml_collections.ConfigDict(_with_defaults(dict(saved), defaults().to_dict()))
  if one_device:
    config.parallel.data = config.parallel.members = 1
  return config


def _with_defaults(saved: dict, defaults_: dict) -> dict:
  """`saved` with every field of `defaults_` it lacks, at any depth."""
  out = dict(saved)
  for key, value in defaults_.items():
    if key not in out:
      out[key] = value
    elif isinstance(value, dict) and isinstance(out[key], dict):
      out[key] = _with_defaults(out[key], value)
  return out


def learned_part(config: ml_collections.ConfigDict) -> dict:
  """A checked config as a JSON dict without the sections a resumed run may change."""
  data = json.loads(config.to_json_best_effort())
  return {k: v for k, v in data.items() if k not in RESUMABLE_SECTIONS}


def differences(saved: Mapping, current: Mapping, prefix: str = "") -> list[str]:
  """'field: saved -> current' for every leaf field that differs between two config dicts."""
  out = []
  for key in sorted(set(saved) | set(current)):
    a, b = saved.get(key, "<absent>"), current.get(key, "<absent>")
    if isinstance(a, Mapping) and isinstance(b, Mapping):
      out += differences(a, b, f"{prefix}{key}.")
    elif a != b:
      out.append(f"{prefix}{key}: {a!r} -> {b!r}")
  return out
