"""What `python -m experiments.evaluate` does, as functions: load a run's config and checkpoint,
evaluate every game, plot the learning curves, export a policy for OpenSpiel, render an
episode as a GIF.
"""

from __future__ import annotations

import json
import pathlib

import jax
import numpy as np

from experiments import run_lib
from jaxplay import config as config_lib
from jaxplay.core.errors import ConfigError
from jaxplay.eval import build_tree, cfr, elo
from jaxplay.eval.policy_eval import ExploitabilityEvaluator, play_episode
from jaxplay.io import gif as gif_lib
from jaxplay.io import metrics as metrics_lib
from jaxplay.io import openspiel_policy, plots
from jaxplay.io.checkpoints import Checkpointer
from jaxplay.learn.evaluation import headline_keys, probs_fn
from jaxplay.learn.learner import Learner
from jaxplay.learn import population as population_lib
from jaxplay.learn.psro import PSRO


def load_config(workdir: pathlib.Path, num_games: int | None = None):
  """The checked config a run was trained with (its `config.json`; fields added to the
  configs since the run take their defaults, which keep what the code did before them),
  with `eval.num_games` replaced if given."""
  path = workdir / "config.json"
  if not path.exists():
    raise ConfigError(f"{workdir} holds no training run (no config.json); train one with "
                      "python -m experiments.train --workdir=...")
  try:
    config = config_lib.from_saved(json.loads(path.read_text()), one_device=True)
  except (OSError, ValueError) as error:
    raise ConfigError(f"cannot read {path} ({error}); it is written by "
                      "python -m experiments.train") from None
  if num_games is not None:
    config.eval.num_games = num_games
  return config_lib.check(config)


def load_run(workdir: pathlib.Path, step: int | None = None, num_games: int | None = None):
  """(learner, PSRO or None, restored state) of a run's checkpoint (latest if `step` is
  None): a `TrainState`, or for a PSRO run its `PopulationState`. A run with a pool of
  partners (FCP's stage 2, COLE started from a pool) is restored from its own checkpoint
  alone (it holds the partners; stage 1's run is not read)."""
  config = load_config(workdir, num_games)
  with Checkpointer(workdir / "checkpoints") as checkpoints:
    if config.population.partners:   # the pool's runs not read: the checkpoint holds them
      learner = Learner(config)
      run = run_lib.make_run(learner, checkpoints.saved_shapes(step)["live"][0])
    else:   # as `train` built it, if this process trained it
      learner, run = run_lib.built_run(config)
    state = population_lib.restore_saved(checkpoints, step, run.init(learner.config.seed))
  return learner, run, state


def evaluate_members(run, state, update: int, print_fn=print) -> dict[str, float]:
  """Every live member of a league evaluated by its game's evaluator, printed as a table
  with the members' Elo ratings; returns `<game>/member_<i>/<metric>` of the headline
  metrics."""
  live = np.flatnonzero(np.asarray(state.live))
  envs, metrics, rows = run.learner.games.raw, {}, []
  for member in live:
    mine = lambda tree, m=member: jax.tree.map(lambda x: x[m], tree)
    values = run.evaluation.of(mine(state.params), mine(state.magnet), update)
    keys = headline_keys(envs, values)
    keys = [k for k in keys if "/magnet/" not in k]
    rows.append((member, {k: values[k] for k in keys}))
    for key in keys:
      game, metric = key.split("/", 1)
      metrics[f"{game}/member_{member}/{metric}"] = values[key]
  ratings = elo.elo_from_payoff(np.asarray(state.payoff), np.asarray(state.counts),
                                np.asarray(state.live),
                                return_range=tuple(run.config.return_range))
  learner = int(state.learners[0])
  trained = np.asarray(state.training_games)[learner]
  print_fn(f"members (Elo from the training games; the learner is member {learner}; games: "
           "its training games with each, 0 for runs saved before they were counted):")
  for member, values in rows:
    shown = " ".join(f"{k}={v:.4g}" for k, v in values.items())
    print_fn(f"  member {member:3d}  Elo {ratings[member]:7.1f}  games {trained[member]:8.0f}  "
             f"{shown}")
  return metrics


def evaluate_psro(psro: PSRO, state, print_fn=print):
  """The exact measurement of a PSRO run's members (`PSRO.measure`): metrics, and the payoff
  matrix and meta-strategy printed; returns (metrics, report)."""
  _, report = psro.measure(state)
  name = psro.learner.games.names[0]
  print_fn(f"meta-game of the {report.iteration} members a seat (seat 0's return, rows seat 0, "
           f"columns seat 1):")
  for row in report.payoff[..., 0]:
    print_fn("  " + " ".join(f"{value:+.3f}" for value in row))
  for seat, weights in enumerate(report.weights):
    print_fn(f"meta-strategy of seat {seat}: {np.round(weights, 3).tolist()}")
  metrics = {f"{name}/exploitability": report.exploitability,
             f"{name}/nash_conv": report.nash_conv, "members": report.iteration}
  if psro.output_meta_solver != psro.meta_solver:   # as the training run's metrics
    metrics[f"{name}/training_meta_exploitability"] = report.opponent_exploitability
  return metrics, report


def cfr_references(learner: Learner, iterations=(10, 100, 1000)) -> dict[str, float]:
  """For each game of the run measured by exact exploitability, the exploitability of CFR+'s
  average policy after each of `iterations`: the exact baseline drawn on the learning
  curves."""
  references = {}
  for env in learner.games.raw:
    if env.evaluator == "exploitability":
      result = cfr.solve(build_tree(env), max(iterations), eval_at=iterations)
      for count, value in result.curve:
        references[f"{env.name}/exploitability: CFR+ {count} iterations"] = value
  return references


def plot_curves(workdir: pathlib.Path, learner: Learner, path: pathlib.Path) -> str:
  """Plots the run's headline metrics (and training returns) against env steps, with CFR+'s
  exploitability as reference lines where the game is measured by exploitability."""
  rows = metrics_lib.read_metrics(workdir)
  return plots.plot_learning_curves(rows, path, keys=curve_keys(learner.games.raw, rows),
                                    x_key="env_steps",
                                    title=str(workdir), references=cfr_references(learner))


def curve_keys(envs, rows: list[dict]) -> list[str]:
  """The metrics to plot, each once, sorted: every game's headline metrics and its seat-0
  training return."""
  return sorted({key for row in rows for key in headline_keys(envs, row)}
                | {f"{env.name}/return_0" for env in envs})


def write_openspiel_policy(learner: Learner, params, path: str) -> str:
  """Writes the policy of the run's first game that OpenSpiel can load policies for
  (Kuhn, Leduc) as OpenSpiel information-state strings; returns the game."""
  for game, env in enumerate(learner.games.raw):
    if openspiel_policy.supports(env):
      evaluator = ExploitabilityEvaluator(env, probs_fn(learner, game))
      openspiel_policy.export_policy(evaluator.tree, evaluator.table(params), path)
      return env.name
  raise ConfigError(f"--export_openspiel_policy needs a run on a game whose policies OpenSpiel "
                    f"loads (kuhn_poker, leduc_poker); this one trained "
                    f"{list(learner.games.names)}")


def write_gif(learner: Learner, params, path: str, num_steps: int) -> str:
  """Renders one self-play episode of the run's first game that draws itself
  (`Env.render`: Overcooked) to a GIF."""
  for game, env in enumerate(learner.games.raw):
    if env.renders():
      key = jax.random.key(learner.config.seed + 2)
      states = play_episode(env, probs_fn(learner, game), num_steps,
                            learner.config.eval.greedy, params, key)
      return gif_lib.save_episode(env, states, path)
  raise ConfigError(f"--gif renders games that draw themselves (overcooked); this run trained "
                    f"{list(learner.games.names)}")


def evaluate(workdir: str | pathlib.Path, *, step: int | None = None,
             num_games: int | None = None, policy: str = "params", plot: str | None = None,
             export_openspiel_policy: str | None = None, gif: str | None = None,
             gif_steps: int = 400, meta_solver: str | None = None,
             print_fn=print) -> dict[str, float]:
  """Everything `main` does; returns the evaluation metrics. `meta_solver` (PSRO runs only)
  measures and exports the members' meta-strategy of that solver instead of the config's
  `population.output_meta_solver`."""
  workdir = pathlib.Path(workdir)
  learner, run, state = load_run(workdir, step, num_games)
  update = int(state.update)
  psro = run if isinstance(run, PSRO) else None
  if meta_solver:
    if psro is None:
      raise ConfigError(f"--meta_solver measures a PSRO run's members; {workdir} is a "
                        f"{learner.config.population.scheme} run")
    psro = psro.with_output_meta_solver(meta_solver)
  if psro is not None:
    metrics, report = evaluate_psro(psro, state, print_fn)
  else:
    metrics, _ = run.evaluate(state, update)
    if isinstance(run, run_lib.LeagueRun):
      metrics.update(evaluate_members(run, state, update, print_fn))
  print_fn(f"{workdir} at update {update}:")
  for key in sorted(metrics):
    print_fn(f"  {key:48s} {metrics[key]:.6g}")
  if plot != "":
    path = pathlib.Path(plot) if plot else workdir / "curves.png"
    print_fn(f"learning curves: {plot_curves(workdir, learner, path)}")
  if psro is not None:
    if export_openspiel_policy:
      openspiel_policy.export_policy(psro.tree, report.policy, export_openspiel_policy)
      print_fn(f"OpenSpiel policy of the meta-strategy: {export_openspiel_policy}")
    if gif:
      raise ConfigError("--gif renders games that draw themselves; PSRO runs poker")
    return metrics
  params = state.params if policy == "params" else state.magnet
  if isinstance(run, run_lib.LeagueRun):  # the learner's own network, as for self-play
    params = jax.tree.map(lambda x: x[int(state.learners[0])], params)
  if export_openspiel_policy:
    game = write_openspiel_policy(learner, params, export_openspiel_policy)
    print_fn(f"OpenSpiel policy of {game}: {export_openspiel_policy}")
  if gif:
    print_fn(f"episode: {write_gif(learner, params, gif, gif_steps)}")
  return metrics
