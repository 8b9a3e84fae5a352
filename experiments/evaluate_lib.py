"""What `python -m experiments.evaluate` does, as functions: load a run's config and checkpoint,
evaluate every game, plot the learning curves, export a poker policy for OpenSpiel, render an
Overcooked episode.
"""

from __future__ import annotations

import json
import pathlib

import jax
import ml_collections

from experiments import run_lib
from experiments.configs import common
from jaxplay.core.errors import ConfigError
from jaxplay.eval import build_tree, cfr
from jaxplay.eval.policy_eval import ExploitabilityEvaluator, play_episode
from jaxplay.games.overcooked import render
from jaxplay.io import metrics as metrics_lib
from jaxplay.io import openspiel_policy, plots
from jaxplay.io.checkpoints import Checkpointer
from jaxplay.learn.learner import Learner


def load_config(workdir: pathlib.Path) -> ml_collections.ConfigDict:
  """The config a run was trained with (its `config.json`). Fields added to the configs since
  the run get their defaults (`common.base()`), which keep what the code did before them."""
  path = workdir / "config.json"
  if not path.exists():
    raise ConfigError(f"{workdir} holds no training run (no config.json); train one with "
                      "python -m experiments.train --workdir=...")
  saved = json.loads(path.read_text())
  return ml_collections.ConfigDict(_with_defaults(saved, common.base().to_dict()))


def _with_defaults(saved: dict, defaults: dict) -> dict:
  """`saved` with every field of `defaults` it lacks, at any depth."""
  out = dict(saved)
  for key, value in defaults.items():
    if key not in out:
      out[key] = value
    elif isinstance(value, dict) and isinstance(out[key], dict):
      out[key] = _with_defaults(out[key], value)
  return out


def load_run(workdir: pathlib.Path, step: int | None = None):
  """(config, learner, restored TrainState) of a run's checkpoint (latest if `step` is None)."""
  config = load_config(workdir)
  learner = Learner(config)
  with Checkpointer(workdir / "checkpoints") as checkpoints:
    state = checkpoints.restore(step, learner.init(config.seed))
  return config, learner, state


def cfr_references(learner: Learner, iterations=(10, 100, 1000)) -> dict[str, float]:
  """For each poker game of the run, the exploitability of CFR+'s average policy after each
  of `iterations`: the exact baseline drawn on the learning curves."""
  references = {}
  for env in learner.games.raw:
    if env.name in openspiel_policy.GAMES:
      result = cfr.solve(build_tree(env), max(iterations), eval_at=iterations)
      for count, value in result.curve:
        references[f"{env.name}/exploitability: CFR+ {count} iterations"] = value
  return references


def plot_curves(workdir: pathlib.Path, learner: Learner, path: pathlib.Path) -> str:
  """Plots the run's headline metrics (and training returns) against env steps, with CFR+'s
  exploitability as reference lines for poker."""
  rows = metrics_lib.read_metrics(workdir)
  return plots.plot_learning_curves(rows, path, keys=curve_keys(learner.games.names, rows),
                                    x_key="env_steps",
                                    title=str(workdir), references=cfr_references(learner))


def curve_keys(names, rows: list[dict]) -> list[str]:
  """The metrics to plot: every game's headline metrics, then its seat-0 training return,
  each once."""
  keys = sorted({key for row in rows for key in run_lib.headline_keys(names, row)})
  return keys + [f"{name}/return_0" for name in names if f"{name}/return_0" not in keys]


def export_poker_policy(config, learner: Learner, params, path: str) -> str:
  """Writes the policy of the run's (first) poker game for OpenSpiel; returns the game."""
  for game, env in enumerate(learner.games.raw):
    if env.name in openspiel_policy.GAMES:
      evaluator = ExploitabilityEvaluator(env, run_lib.probs_fn(learner, game))
      openspiel_policy.export_policy(evaluator.tree, evaluator.table(params), path)
      return env.name
  raise ConfigError(f"--export_openspiel_policy needs a run on one of "
                    f"{sorted(openspiel_policy.GAMES)}; this one trained {list(config.games)}")


def render_overcooked(config, learner: Learner, params, path: str, num_steps: int) -> str:
  """Renders one self-play episode of the run's (first) Overcooked game to a GIF."""
  for game, env in enumerate(learner.games.raw):
    if env.name == "overcooked":
      key = jax.random.key(config.seed + 2)
      states = play_episode(env, run_lib.probs_fn(learner, game), num_steps,
                            bool(config.eval.greedy), params, key)
      return render.save_gif(env, states, path)
  raise ConfigError(f"--gif renders Overcooked; this run trained {list(config.games)}")


def evaluate(workdir: str | pathlib.Path, *, step: int | None = None,
             num_games: int | None = None, policy: str = "params", plot: str | None = None,
             export_openspiel_policy: str | None = None, gif: str | None = None,
             gif_steps: int = 400, print_fn=print) -> dict[str, float]:
  """Everything `main` does; returns the evaluation metrics."""
  workdir = pathlib.Path(workdir)
  config, learner, state = load_run(workdir, step)
  if num_games is not None:
    config.eval.num_games = num_games
  update = int(state.update)
  metrics = run_lib.Evaluation(learner, config)(state, update)
  print_fn(f"{workdir} at update {update} ({update * learner.steps_per_update:,} env steps):")
  for key in sorted(metrics):
    print_fn(f"  {key:48s} {metrics[key]:.6g}")
  params = state.params if policy == "params" else state.magnet
  if plot != "":
    path = pathlib.Path(plot) if plot else workdir / "curves.png"
    print_fn(f"learning curves: {plot_curves(workdir, learner, path)}")
  if export_openspiel_policy:
    game = export_poker_policy(config, learner, params, export_openspiel_policy)
    print_fn(f"OpenSpiel policy of {game}: {export_openspiel_policy}")
  if gif:
    print_fn(f"Overcooked episode: {render_overcooked(config, learner, params, gif, gif_steps)}")
  return metrics
