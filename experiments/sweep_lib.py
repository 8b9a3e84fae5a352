"""Sweeps: a config's list of overrides, run as one compiled program where the runs share one
and as separate processes where they cannot (`python -m experiments.sweep`; tests call the
functions here).

A sweep is a list of overrides, one a run: dicts {dotted config field: value}, e.g.
`[{"seed": 0}, {"seed": 1, "ppo.learning_rate": 1e-3}]`, returned by a function `sweep()`
of the config file or of the file named by `--sweep` (big_vision's style: configs and sweeps
are Python). Each override applies on top of the config (with its `--config.*` flags); every
run is checked (`jaxplay.config.check`) before anything runs.

Runs are split into groups: self-play runs that differ only in the seed and in the
shape-keeping hyperparameters (`jaxplay.learn.hyperparams`: learning rates, loss coefficients,
schedule ends, gamma, GAE's lambda) form one group, trained as one program
(`jaxplay.learn.sweep`: the runs vmapped on accelerators, a run a core at once on the CPU);
every other run (another num_envs, network or game: another program; populations, PSRO) is a
group of its own. With more than one group to run, each runs in its own process (a pool of
`--jobs`, default the CPU count); its lines go to `<workdir>/logs/<group>.log`.

Each run keeps its own workdir, `<workdir>/<run name>/`, as `experiments.train` writes it
(config.json, checkpoints, metrics.jsonl, TensorBoard); the name is made of its overrides.
A sweep started again resumes each run from its latest checkpoint and skips finished ones.
At the end: the results table (printed, and `<workdir>/sweep.csv`) and the runs' curves of
the first headline metric (`<workdir>/sweep.png`).
"""

from __future__ import annotations

import ast
import contextlib
import copy
import csv
import dataclasses
import importlib.util
import json
import os
import pathlib
import re
import subprocess
import time
from typing import Any, Callable, Mapping, Sequence

import jax
import ml_collections

from experiments import run_lib
from jaxplay import config as config_lib
from jaxplay.core.errors import ConfigError, JaxplayError
from jaxplay.core.registry import make
from jaxplay.io import plots
from jaxplay.io.checkpoints import Checkpointer
from jaxplay.io.metrics import METRICS_FILE, MetricWriter, read_metrics
from jaxplay.learn import hyperparams as hyperparams_lib
from jaxplay.learn.evaluation import Evaluation, headline_keys
from jaxplay.learn.learner import Learner
from jaxplay.learn.sweep import VmappedRuns, vmappable

SWEEP_FUNCTION = "sweep"
_format = run_lib._format  # pylint: disable=protected-access  (the progress lines of train)
# Sections keyed by game name, where an override may add a game's entry.
_BY_GAME = ("game_options", "reward_scale", "ppo_by_game")


@dataclasses.dataclass(frozen=True)
class Run:
  """One run of a sweep: its name (its workdir's), its overrides and its checked config."""
  name: str
  overrides: Mapping[str, Any]
  config: ml_collections.FrozenConfigDict


@dataclasses.dataclass(frozen=True)
class Group:
  """Runs trained together: several as one vmapped program, or one run alone."""
  name: str
  runs: tuple[Run, ...]

  @property
  def vmapped(self) -> bool:
    return len(self.runs) > 1


# --- the sweep's runs ---------------------------------------------------------------------------


def _load_module(path: str):
  try:
    spec = importlib.util.spec_from_file_location(f"sweep_{abs(hash(path))}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
  except Exception as error:  # pylint: disable=broad-except  (whatever the file raised)
    raise ConfigError(f"cannot load the sweep file {path}: {type(error).__name__}: "
                      f"{str(error).strip().splitlines()[-1] if str(error).strip() else ''}"
                      ) from None
  return module


def load_overrides(config_path: str, sweep_path: str = "") -> list[dict[str, Any]]:
  """The sweep's overrides: `sweep()` of `sweep_path`, else of the config file.

  Raises:
    ConfigError: no such file or function, or it returned something other than a non-empty
      list of dicts with dotted field names as keys.
  """
  path = sweep_path or config_path
  function = getattr(_load_module(path), SWEEP_FUNCTION, None)
  if not callable(function):
    raise ConfigError(f"{path} defines no {SWEEP_FUNCTION}(): a sweep is a function "
                      f"{SWEEP_FUNCTION}() returning a list of overrides, e.g. "
                      "[{'seed': 0}, {'seed': 1}]; define it in the config file or pass "
                      "--sweep=<a file defining it>")
  overrides = function()
  if (not isinstance(overrides, (list, tuple)) or not overrides
      or not all(isinstance(o, Mapping) and all(isinstance(k, str) for k in o)
                 for o in overrides)):
    raise ConfigError(f"{path}: {SWEEP_FUNCTION}() must return a non-empty list of dicts "
                      f"{{'dotted.field': value}}, got {overrides!r:.200}")
  return [dict(o) for o in overrides]


def _text(value: Any) -> str:
  if isinstance(value, (list, tuple)):
    return "x".join(_text(v) for v in value)
  return repr(value) if isinstance(value, float) else str(value)


def run_name(overrides: Mapping[str, Any]) -> str:
  """A run's workdir name: its overrides as `field=value` joined by commas ("base" for
  none), characters other than letters, digits and `._=,+-` as `_`."""
  name = ",".join(f"{field}={_text(value)}" for field, value in overrides.items())
  return re.sub(r"[^A-Za-z0-9._=,+-]", "_", name) or "base"


def parse_overrides(texts: Sequence[str]) -> dict[str, Any]:
  """{field: value} of `field=value` texts (values as Python literals), as `--set` flags give
  them.

  Raises:
    ConfigError: a value that is not a Python literal.
  """
  parsed = {}
  for text in texts:
    field, _, value = text.partition("=")
    try:
      parsed[field] = ast.literal_eval(value)
    except (ValueError, SyntaxError) as error:
      raise ConfigError(f"--set={text}: not a Python literal ({error})") from None
  return parsed


def apply_overrides(config: ml_collections.ConfigDict,
                    overrides: Mapping[str, Any]) -> ml_collections.ConfigDict:
  """A copy of `config` with each dotted field of `overrides` set.

  Raises:
    ConfigError: a field the config does not have (sections keyed by game accept a game's
      name), or a value of another type than the field's.
  """
  config = copy.deepcopy(config)  # (keeps game options' any-type fields)
  for path, value in overrides.items():
    *sections, field = path.split(".")
    node = config
    for depth, section in enumerate(sections):
      if section not in node and sections[0] in _BY_GAME and depth > 0:
        node[section] = ml_collections.ConfigDict()
      if section not in node or not isinstance(node[section], ml_collections.ConfigDict):
        raise ConfigError(f"unknown config field {path!r} (no section "
                          f"{'.'.join(sections[:depth + 1])!r}; the fields, with defaults, "
                          "are in jaxplay/config.py)")
      node = node[section]
    if field not in node and not (sections and sections[0] in _BY_GAME):
      raise ConfigError(f"unknown config field {path!r}; the fields of its section are "
                        f"{sorted(node)} (all fields, with defaults: jaxplay/config.py)")
    try:
      node[field] = value
    except (TypeError, ValueError) as error:
      raise ConfigError(f"{path}: cannot set {value!r} ({error})") from None
  return config


def make_runs(config: ml_collections.ConfigDict,
              overrides: Sequence[Mapping[str, Any]]) -> list[Run]:
  """The sweep's runs, each override applied to `config` and checked.

  Raises:
    ConfigError: the first run with a bad override (naming the run), or two runs with one
      name (the same overrides twice).
  """
  runs = []
  for index, override in enumerate(overrides):
    name = run_name(override)
    try:
      checked = config_lib.check(apply_overrides(config, override))
    except JaxplayError as error:
      raise ConfigError(f"sweep run {index} ({name}): {error}") from None
    runs.append(Run(name, override, checked))
  names = [run.name for run in runs]
  twice = sorted({name for name in names if names.count(name) > 1})
  if twice:
    raise ConfigError(f"the sweep lists the runs {twice} more than once")
  return runs


def program_key(config) -> str:
  """What decides a run's compiled program: its config without the seed and the traced
  hyperparameters, and which of the structural ones are 0 (`hyperparams.structure`)."""
  data = json.loads(config_lib.to_json(config))
  data.pop("seed")
  for field, path in hyperparams_lib.CONFIG_FIELDS.items():
    section, name = path.split(".")
    data[section].pop(name)
    for game in data["ppo_by_game"].values():
      game.pop(name, None)
  structure = hyperparams_lib.structure(hyperparams_lib.from_config(config))
  return json.dumps([data, structure], sort_keys=True)


def plan(runs: Sequence[Run]) -> list[Group]:
  """The runs in groups (in the sweep's order of their first runs): vmappable runs with one
  program key together, every other run alone."""
  groups: dict[str, list[Run]] = {}
  for index, run in enumerate(runs):
    key = program_key(run.config) if vmappable(run.config) else f"alone {index}"
    groups.setdefault(key, []).append(run)
  return [Group(f"group{index}", tuple(members))
          for index, members in enumerate(groups.values())]


# --- progress of a run ---------------------------------------------------------------------------


def updates_done(run: Run, workdir: pathlib.Path) -> int:
  """The update of the run's latest checkpoint (0 without one)."""
  directory = workdir / run.name / "checkpoints"
  if not directory.is_dir():
    return 0
  with Checkpointer(directory) as checkpoints:
    return checkpoints.latest_step() or 0


def unfinished(group: Group, workdir: pathlib.Path) -> list[Run]:
  """The group's runs short of their last update."""
  return [run for run in group.runs
          if updates_done(run, workdir) < config_lib.num_updates(run.config)]


# --- training a group ---------------------------------------------------------------------------


def train_group(runs: Sequence[Run], workdir: pathlib.Path,
                print_fn: Callable[[str], None] = print) -> None:
  """Trains (or resumes) runs of one group: one as `experiments.train` does, several as
  one vmapped program (`train_vmapped`)."""
  if len(runs) == 1:
    run_lib.train(runs[0].config, workdir / runs[0].name,
                  print_fn=lambda line: print_fn(f"[{runs[0].name}] {line}"))
  elif runs:
    train_vmapped(runs, workdir, print_fn=print_fn)


class _RunFiles:
  """One vmapped run's workdir: its checkpoints, metrics and progress lines, as
  `run_lib.train` writes them."""

  def __init__(self, run: Run, workdir: pathlib.Path, stack: contextlib.ExitStack):
    self.run, self.learner = run, Learner(run.config)
    self.workdir = workdir / run.name
    run_lib.make_workdir(self.workdir)
    self.checkpoints = stack.enter_context(
        Checkpointer(self.workdir / "checkpoints", max_to_keep=run.config.run.keep_checkpoints))
    self.stack = stack
    self.writer, self.steps_since, self.seconds_since = None, 0, 0.0

  def start(self, fresh):
    """The run's state (its latest checkpoint's, or `fresh`); writes its config.json and
    opens its metrics."""
    state = run_lib.restore_or_init(self.learner, self.checkpoints, fresh)
    self.update = int(state.update)
    (self.workdir / "config.json").write_text(config_lib.to_json(self.run.config))
    self.writer = self.stack.enter_context(MetricWriter(self.workdir, resume_step=self.update))
    return state


def train_vmapped(runs: Sequence[Run], workdir: pathlib.Path,
                  print_fn: Callable[[str], None] = print) -> None:
  """Trains (or resumes) runs of one program key as one vmapped program (`VmappedRuns`),
  each run's logs, evaluations and checkpoints as `experiments.train` writes them."""
  learner = Learner(runs[0].config)
  config, total = learner.config, learner.num_updates
  group = VmappedRuns(learner, [run.config for run in runs])
  evaluation, names = Evaluation(learner), learner.games.names
  per_call = config.run.updates_per_call
  with contextlib.ExitStack() as stack:
    files = [_RunFiles(run, workdir, stack) for run in runs]
    fresh = group.init()
    states = group.join([f.start(group.run(fresh, i)) for i, f in enumerate(files)])
    print_fn(f"training {len(runs)} runs as one program, {group.how()} "
             f"({', '.join(group.traced) or 'seeds'} traced): {total} updates of "
             f"{learner.steps_per_update} env steps each, from updates "
             f"{sorted({f.update for f in files})}")
    start = time.perf_counter()
    chunk = group.compile(states, min(per_call, total))
    print_fn(f"compiled {min(per_call, total)} updates of {len(runs)} runs per call in "
             f"{time.perf_counter() - start:.1f} s")
    steps, seconds = 0, 0.0  # of the whole group, since its last progress line
    while min(f.update for f in files) < total:
      start = time.perf_counter()
      states, metrics = jax.block_until_ready(chunk(states))
      elapsed = time.perf_counter() - start
      metrics = jax.device_get(metrics)
      seconds += elapsed
      logged = False
      for index, f in enumerate(files):
        if f.update < total:
          done = min(per_call, total - f.update)
          f.update += done
          f.steps_since += done * learner.steps_per_update
          f.seconds_since += elapsed
          steps += done * learner.steps_per_update
          logged |= _after_chunk(f, group.run(states, index), group.run(metrics, index),
                                 evaluation, names, print_fn)
      if logged:
        print_fn(f"{steps / max(seconds, 1e-9):,.0f} env steps/s, all {len(runs)} runs together")
        steps, seconds = 0, 0.0


def _after_chunk(files: _RunFiles, state, metrics: dict, evaluation: Evaluation,
                 names: Sequence[str], print_fn) -> bool:
  """One run's logs, evaluation and checkpoint after a chunk (as `run_lib.train`; its
  steps/s: its steps over the group's time); returns whether it logged a progress line."""
  learner, update, run = files.learner, files.update, files.run.config.run
  total, prefix = learner.num_updates, f"[{files.run.name}]"
  last = update == total
  logged = update % run.log_every == 0 or last
  if logged:
    values = {key: float(value) for key, value in metrics.items()}
    values["env_steps"] = update * learner.steps_per_update
    values["steps_per_second"] = files.steps_since / max(files.seconds_since, 1e-9)
    files.steps_since, files.seconds_since = 0, 0.0
    files.writer.write(update, values)
    keys = [f"{n}/return_0" for n in names] + list(run_lib.PROGRESS_KEYS)
    print_fn(f"{prefix} update {update}/{total} | {values['env_steps']:,} env steps | "
             f"{_format(values, keys)}")
  if (run.eval_every and update % run.eval_every == 0) or last:
    values = evaluation.of(state.params, state.magnet, update, seed=files.run.config.seed)
    values["env_steps"] = update * learner.steps_per_update
    files.writer.write(update, values)
    headline = headline_keys(learner.games.raw, values)
    print_fn(f"{prefix} eval @ {update}: {_format(values, headline)}")
  if update % run.checkpoint_every == 0 or last:
    run_lib.save(files.checkpoints, update, state, learner)
  return logged


# --- running the groups ---------------------------------------------------------------------------


def run_pool(groups: Sequence[Group], workdir: pathlib.Path, child_argv: Callable[[int], list],
             jobs: int, print_fn: Callable[[str], None] = print) -> list[str]:
  """Runs each group in its own process (`child_argv(index)`, the index in `groups`), at most
  `jobs` at a time, each one's output in `<workdir>/logs/<group>.log`. Returns the names of
  the groups that failed (each reported with its last line)."""
  logs = workdir / "logs"
  logs.mkdir(parents=True, exist_ok=True)
  waiting, running, failed = list(enumerate(groups)), [], []
  while waiting or running:
    while waiting and len(running) < jobs:
      index, group = waiting.pop(0)
      log = logs / f"{group.name}.log"
      with open(log, "w") as out:
        process = subprocess.Popen(child_argv(index), stdout=out, stderr=subprocess.STDOUT)
      running.append((group, process, log, time.perf_counter()))
      print_fn(f"{group.name}: {_describe(group)} started (log: {log})")
    time.sleep(0.2)
    for entry in [e for e in running if e[1].poll() is not None]:
      running.remove(entry)
      group, process, log, start = entry
      seconds = time.perf_counter() - start
      if process.returncode:
        lines = log.read_text().strip().splitlines() or ["(no output)"]
        failed.append(group.name)
        print_fn(f"{group.name}: failed after {seconds:.0f} s: {lines[-1]}")
      else:
        print_fn(f"{group.name}: done in {seconds:.0f} s")
  return failed


def _describe(group: Group) -> str:
  names = ", ".join(run.name for run in group.runs)
  return f"{len(group.runs)} runs in one program ({names})" if group.vmapped else f"run {names}"


# --- results --------------------------------------------------------------------------------------


def _headline(config) -> list[str]:
  """The run's evaluation metrics worth a glance, and its games' training returns."""
  envs = [make(name, **config.game_options[name]) for name in config.games]
  evaluated = [f"{env.name}/{prefix}{metric}" for env in envs for prefix in ("", "magnet/")
               for metric in env.headline_metrics]
  return evaluated + [f"{name}/return_0" for name in config.games]


def results(runs: Sequence[Run], workdir: pathlib.Path) -> tuple[list[dict], list[str]]:
  """(a row per run: its name, overrides, updates done, status and the last value of each
  headline metric; the metric columns present)."""
  rows, columns = [], []
  for run in runs:
    metrics_path = workdir / run.name / METRICS_FILE
    history = read_metrics(metrics_path) if metrics_path.exists() else []
    done, total = updates_done(run, workdir), config_lib.num_updates(run.config)
    row = {"run": run.name, **{k: _text(v) for k, v in run.overrides.items()},
           "updates": done, "status": ("finished" if done >= total else
                                        f"at {done}/{total}" if done else "not started")}
    for key in _headline(run.config):
      values = [r[key] for r in history if r.get(key) is not None]
      if values:
        row[key] = values[-1]
        columns += [key] if key not in columns else []
    rows.append(row)
  return rows, columns


def write_results(runs: Sequence[Run], workdir: pathlib.Path,
                  print_fn: Callable[[str], None] = print) -> list[dict]:
  """Prints the results table, writes it as `<workdir>/sweep.csv` and the runs' curves of
  the first headline metric as `<workdir>/sweep.png`; returns the rows."""
  rows, metrics = results(runs, workdir)
  fields = list(dict.fromkeys(k for run in runs for k in run.overrides))
  header = ["run", *fields, "updates", "status", *metrics]
  with open(workdir / "sweep.csv", "w", newline="") as out:
    writer = csv.DictWriter(out, header)
    writer.writeheader()
    writer.writerows(rows)
  cell = lambda value: (f"{value:.4g}" if isinstance(value, float) else str(value))
  table = [header] + [[cell(row.get(column, "")) for column in header] for row in rows]
  widths = [max(len(line[i]) for line in table) for i in range(len(header))]
  for line in table:
    print_fn("  ".join(text.ljust(width) for text, width in zip(line, widths)).rstrip())
  print_fn(f"wrote {workdir / 'sweep.csv'}")
  if metrics:
    key = metrics[0]
    curves = {}
    for run in runs:
      path = workdir / run.name / METRICS_FILE
      history = read_metrics(path) if path.exists() else []
      points = [(r["env_steps"], r[key]) for r in history
                if r.get(key) is not None and r.get("env_steps") is not None]
      curves[run.name] = ([x for x, _ in points], [y for _, y in points])
    try:
      plots.plot_curves(curves, workdir / "sweep.png", xlabel="env steps", ylabel=key,
                        log_y="exploitability" in key or "nash_conv" in key,
                        title=f"{key}, {len(runs)} runs")
      print_fn(f"wrote {workdir / 'sweep.png'} ({key})")
    except plots.PlotError as error:
      print_fn(f"no plot: {error}")
  return rows


def sweep(config: ml_collections.ConfigDict, overrides: Sequence[Mapping[str, Any]],
          workdir: str | pathlib.Path, *, jobs: int = 0,
          child_argv: Callable[[int], list] | None = None,
          print_fn: Callable[[str], None] = print) -> list[dict]:
  """Runs (or resumes) a sweep in `workdir` and returns its results' rows (see the module
  docstring). Every run is checked first: a bad override raises ConfigError before anything
  is written. Groups with runs to do run in this process when there is one, else each in
  its own process, `child_argv(index)` (the binary with `--group=<index>`; None: all here).

  Raises:
    ConfigError: a bad override or sweep; JaxplayError from a run trained here.
  """
  workdir = pathlib.Path(workdir)
  runs = make_runs(config, overrides)
  groups = plan(runs)
  todo = [(index, group) for index, group in enumerate(groups) if unfinished(group, workdir)]
  run_lib.make_workdir(workdir)
  (workdir / "sweep.json").write_text(json.dumps(
      [{"name": run.name, "overrides": {k: _text(v) for k, v in run.overrides.items()},
        "group": group.name} for group in groups for run in group.runs], indent=1))
  print_fn(f"sweep of {len(runs)} runs in {workdir}: {len(groups)} group(s), "
           f"{len(todo)} with runs to do")
  for group in groups:
    print_fn(f"  {group.name}: {_describe(group)}")
  failed = []
  if len(todo) == 1 or (todo and child_argv is None):
    for _, group in todo:
      train_group(unfinished(group, workdir), workdir, print_fn=print_fn)
  elif todo:
    jobs = min(jobs or os.cpu_count() or 1, len(todo))
    failed = run_pool([group for _, group in todo], workdir,
                      lambda i: child_argv(todo[i][0]), jobs, print_fn=print_fn)
  rows = write_results(runs, workdir, print_fn=print_fn)
  if failed:
    raise SweepError(f"{len(failed)} group(s) failed: {', '.join(failed)} (their logs: "
                     f"{workdir / 'logs'}); run the sweep again to resume them")
  return rows


def run_one_group(config: ml_collections.ConfigDict, overrides: Sequence[Mapping[str, Any]],
                  workdir: str | pathlib.Path, index: int,
                  print_fn: Callable[[str], None] = print) -> None:
  """Trains group `index` of the sweep's plan (what a child process of `sweep` runs)."""
  workdir = pathlib.Path(workdir)
  groups = plan(make_runs(config, overrides))
  if not 0 <= index < len(groups):
    raise ConfigError(f"--group={index}: the sweep has groups 0..{len(groups) - 1}")
  train_group(unfinished(groups[index], workdir), workdir, print_fn=print_fn)


class SweepError(JaxplayError):
  """Some of a sweep's groups failed."""
