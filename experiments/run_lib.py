"""The training loop and what the experiment binaries share: run-config checks, resuming,
evaluation of every game of a learner, progress lines.

`train(config, workdir)` is what `python -m experiments.train` runs; tests call it directly.
"""

from __future__ import annotations

import json
import pathlib
import sys
import time
from typing import Callable

import jax
from absl import flags, logging

import jaxplay
from jaxplay.core.errors import ConfigError
from jaxplay.eval.policy_eval import make_evaluator
from jaxplay.io.checkpoints import Checkpointer, CheckpointError
from jaxplay.io.metrics import MetricWriter
from jaxplay.learn.learner import Learner, TrainState, host_metrics

# Sections a resumed run may change: they decide what is logged and when, not what is learned.
RUN_SECTIONS = ("run", "eval")
# Training metrics shown on the progress line (after the per-game returns).
PROGRESS_KEYS = ("entropy", "kl", "magnet_kl")


def check_run_config(config) -> None:
  """Raises ConfigError unless the `run` intervals fit the compiled chunks of K updates."""
  run = config.run
  k = run.updates_per_call
  if not isinstance(k, int) or k < 1:
    raise ConfigError(f"run.updates_per_call must be a positive int, got {k!r}")
  for field in ("log_every", "eval_every", "checkpoint_every"):
    value, may_be_zero = run[field], field == "eval_every"
    if (not isinstance(value, int) or value < 0 or value % k
        or (value == 0 and not may_be_zero)):
      raise ConfigError(f"run.{field} must be a positive multiple of run.updates_per_call ({k})"
                        f"{' or 0 (only at the end)' if may_be_zero else ''}, got {value!r}")
  if not isinstance(run.keep_checkpoints, int) or run.keep_checkpoints < 1:
    raise ConfigError(f"run.keep_checkpoints must be a positive int, got {run.keep_checkpoints!r}")
  if not isinstance(config.eval.num_games, int) or config.eval.num_games < 1:
    raise ConfigError(f"eval.num_games must be a positive int, got {config.eval.num_games!r}")


def learned_part(config) -> dict:
  """The config as a dict without the sections a resumed run may change."""
  data = json.loads(config.to_json_best_effort())
  return {k: v for k, v in data.items() if k not in RUN_SECTIONS}


def config_differences(saved: dict, current: dict, prefix: str = "") -> list[str]:
  """'field: saved -> current' for every leaf field that differs between two config dicts."""
  out = []
  for key in sorted(set(saved) | set(current)):
    a, b = saved.get(key, "<absent>"), current.get(key, "<absent>")
    if isinstance(a, dict) and isinstance(b, dict):
      out += config_differences(a, b, f"{prefix}{key}.")
    elif a != b:
      out.append(f"{prefix}{key}: {a!r} -> {b!r}")
  return out


class Evaluation:
  """Every game's evaluator for a learner: `(state, update) -> {"<game>/<metric>": value}`
  for the learned parameters and, with `eval.magnet`, their moving average (`<game>/magnet/`)."""

  def __init__(self, learner: Learner, config):
    self.learner, self.config = learner, config
    self.evaluators = []
    for game, env in enumerate(learner.games.raw):
      evaluator = make_evaluator(env, probs_fn(learner, game), num_games=config.eval.num_games,
                                 greedy=bool(config.eval.greedy))
      self.evaluators.append((env.name, evaluator))

  def __call__(self, state: TrainState, update: int) -> dict[str, float]:
    key = jax.random.fold_in(jax.random.key(self.config.seed + 1), update)
    metrics = {}
    for name, evaluator in self.evaluators:
      for prefix, params in [("", state.params)] + (
          [("magnet/", state.magnet)] if self.config.eval.magnet else []):
        for metric, value in evaluator(params, key).items():
          metrics[f"{name}/{prefix}{metric}"] = value
    return metrics


def probs_fn(learner: Learner, game: int) -> Callable:
  """`(params, observation, legal) -> probabilities` of game `game`, as evaluators take it."""
  return lambda params, observation, legal: learner.policy_probs(params, observation, legal, game)


def _format(metrics: dict[str, float], keys) -> str:
  return " ".join(f"{k}={metrics[k]:.4g}" for k in keys if k in metrics)


def headline_keys(names, metrics: dict[str, float]) -> list[str]:
  """The evaluation metrics worth a glance on the terminal, per game."""
  wanted = [f"{magnet}{metric}" for magnet in ("", "magnet/") for metric in (
      "exploitability", "vs_perfect/seat0_loss", "vs_perfect/seat1_loss", "vs_random/seat0_win",
      "agreement", "pareto_optimal", "joint_score_fraction", "return_0")]
  return [f"{name}/{w}" for name in names for w in wanted if f"{name}/{w}" in metrics]


def restore_or_init(learner: Learner, config, checkpoints: Checkpointer) -> TrainState:
  """The latest checkpoint's state if the workdir has one (after checking that it was made by
  the same config), else a fresh state."""
  state = learner.init(config.seed)
  step = checkpoints.latest_step()
  if step is None:
    return state
  saved = checkpoints.metadata(step).get("config", {})
  differences = config_differences({k: v for k, v in saved.items() if k not in RUN_SECTIONS},
                                   learned_part(config))
  if differences:
    raise CheckpointError(
        f"{checkpoints.path(step)} was written by a different config; resuming would mix two "
        f"runs. Differences (saved -> now): {'; '.join(differences[:8])}. Use the saved config "
        f"(its fields are in {checkpoints.directory.parent / 'config.json'}) or a new --workdir.")
  return checkpoints.restore(step, state)


def train(config, workdir: str | pathlib.Path, *, stop_after: int | None = None,
          print_fn: Callable[[str], None] = print) -> TrainState:
  """Runs (or resumes) training in `workdir` until `total_env_steps`.

  Args:
    stop_after: stop once this many updates are done, without a final checkpoint or
      evaluation, as a killed run would (tests use it to check resuming).
    print_fn: where progress lines go.

  Returns:
    The final TrainState.
  """
  workdir = pathlib.Path(workdir)
  learner = Learner(config)
  check_run_config(config)
  workdir.mkdir(parents=True, exist_ok=True)
  run = config.run
  with Checkpointer(workdir / "checkpoints", max_to_keep=run.keep_checkpoints) as checkpoints:
    state = restore_or_init(learner, config, checkpoints)
    update = int(state.update)
    (workdir / "config.json").write_text(config.to_json_best_effort(indent=1))
    total = learner.num_updates
    names = learner.games.names
    if update:
      print_fn(f"resuming {workdir} at update {update}/{total}")
    else:
      print_fn(f"training {', '.join(names)} in {workdir}: {total} updates of "
               f"{learner.steps_per_update} env steps, {learner.network.__class__.__name__} "
               f"network")
    if update >= total:
      print_fn(f"{workdir} already holds a finished run ({total} updates)")
      return state
    evaluation = Evaluation(learner, config)
    chunks = {}  # compiled K-update functions by K (the last chunk may be shorter)

    with MetricWriter(workdir, resume_step=update if update else None) as writer:
      steps_since, seconds_since = 0, 0.0
      while update < total:
        if stop_after is not None and update >= stop_after:
          return state
        count = min(run.updates_per_call, total - update)
        if count not in chunks:
          start = time.perf_counter()
          chunks[count] = jax.jit(learner.train_chunk, static_argnums=1).lower(
              state, count).compile()
          print_fn(f"compiled {count} updates per call in {time.perf_counter() - start:.1f} s")
        start = time.perf_counter()
        state, stacked = jax.block_until_ready(chunks[count](state))
        seconds_since += time.perf_counter() - start
        update += count
        steps_since += count * learner.steps_per_update
        last = update == total
        if update % run.log_every == 0 or last:
          logged = host_metrics(stacked)
          logged["env_steps"] = update * learner.steps_per_update
          logged["steps_per_second"] = steps_since / max(seconds_since, 1e-9)
          steps_since, seconds_since = 0, 0.0
          writer.write(update, logged)
          returns = [f"{n}/return_0" for n in names]
          print_fn(f"update {update}/{total} | {logged['env_steps']:,} env steps | "
                   f"{logged['steps_per_second']:,.0f} steps/s | "
                   f"{_format(logged, returns + list(PROGRESS_KEYS))}")
        if (run.eval_every and update % run.eval_every == 0) or last:
          start = time.perf_counter()
          metrics = evaluation(state, update)
          metrics["env_steps"] = update * learner.steps_per_update
          writer.write(update, metrics)
          print_fn(f"eval @ {update}: {_format(metrics, headline_keys(names, metrics))} "
                   f"({time.perf_counter() - start:.1f} s)")
        if update % run.checkpoint_every == 0 or last:
          checkpoints.save(update, state, metadata={
              "config": json.loads(config.to_json_best_effort()),
              "jaxplay_version": jaxplay.__version__,
              "env_steps": update * learner.steps_per_update})
  return state


def parse_flags(argv: list[str]) -> list[str]:
  """absl's flag parsing, with a config override of a field that does not exist (or of the
  wrong type) reported as one line instead of a traceback."""
  try:
    return flags.FLAGS(argv)
  except flags.Error as error:
    sys.exit(f"error: {error}\nPass --help for the flags.")
  except (AttributeError, KeyError, TypeError, ValueError) as error:
    sys.exit(f"error: bad --config override ({type(error).__name__}: {error}); the fields a "
             "config has are in experiments/configs/common.py")


def quiet_libraries() -> None:
  """Orbax logs every step of a save at INFO; show warnings and up unless --verbosity is set."""
  if not flags.FLAGS["verbosity"].present:
    logging.set_verbosity(logging.WARNING)
