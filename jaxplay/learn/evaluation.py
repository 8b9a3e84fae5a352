"""Evaluating a learner's policies with each game's own evaluator (`Env.evaluator`).

    evaluation = Evaluation(learner)
    metrics = evaluation(state, update)     # {"<game>/<metric>": value, "<game>/magnet/...": ...}
    headline_keys(learner.games.raw, metrics)   # the ones worth a glance
"""

from __future__ import annotations

from typing import Callable, Sequence

import jax

from jaxplay.agents.agent import Agent
from jaxplay.core.env import Env
from jaxplay.eval.crossplay import cross_play
from jaxplay.eval.policy_eval import make_evaluator
from jaxplay.learn.learner import Learner, TrainState

MAGNET = "magnet/"  # prefix of the magnet's metrics


def probs_fn(learner: Learner, game: int) -> Callable:
  """`(params, observation, legal) -> probabilities` of game `game`, as evaluators take it."""
  return lambda params, observation, legal: learner.policy_probs(params, observation, legal, game)


class Evaluation:
  """Every game's evaluator for a learner: `(state, update) -> {"<game>/<metric>": value}`
  for the learned parameters and, with the config's `eval.magnet`, their magnet
  (`<game>/magnet/<metric>`). Evaluation keys derive from the run's seed and the update, so an
  evaluation repeats exactly."""

  def __init__(self, learner: Learner):
    self.learner, self.config = learner, learner.config
    self.evaluators = [
        (env.name, make_evaluator(env, probs_fn(learner, game),
                                  num_games=self.config.eval.num_games,
                                  greedy=self.config.eval.greedy))
        for game, env in enumerate(learner.games.raw)]

  def __call__(self, state: TrainState, update: int) -> dict[str, float]:
    return self.of(state.params, state.magnet, update)

  def of(self, params, magnet, update: int, seed: int | None = None) -> dict[str, float]:
    """The metrics of one network's parameters and its magnet (a population's learner).
    `seed`: the run's seed, if not the config's (one of a sweep's vmapped runs)."""
    seed = self.config.seed if seed is None else seed
    key = jax.random.fold_in(jax.random.key(seed + 1), update)
    policies = [("", params)] + ([(MAGNET, magnet)] if self.config.eval.magnet else [])
    metrics = {}
    for name, evaluator in self.evaluators:
      for prefix, params in policies:
        for metric, value in evaluator(params, key).items():
          metrics[f"{name}/{prefix}{metric}"] = value
    return metrics


def _cross_play_network(learner: Learner, params, update: int, games_factor: int = 1,
                        **partners):
  """`cross_play` of one network (`params`) with `partners` (cross_play's keywords),
  `games_factor` x `eval.num_games` games (rounded up to even), keys from the run's seed and
  `update`, apart from `Evaluation`'s."""
  config = learner.config
  num_games = games_factor * (config.eval.num_games + config.eval.num_games % 2)
  key = jax.random.fold_in(jax.random.key(config.seed + 2), update)
  return cross_play(learner.games.raw[0], learner, jax.tree.map(lambda x: x[None], params),
                    key, num_games=num_games, greedy=config.eval.greedy, **partners)


def partner_returns(learner: Learner, params, partners: Sequence[Agent],
                    names: Sequence[str], update: int) -> dict[str, float]:
  """`<game>/with_<name>/return`: the mean return of the learner's network (`params`, one
  network's) with each scripted partner (`partners`, named `names`) in `eval.num_games`
  games (rounded up to even; half in each seat), and `.../return_seat<s>` by the network's
  seat: what a best response to scripted partners is trained for. Keys from the run's seed
  and `update`, apart from `Evaluation`'s."""
  env = learner.games.raw[0]
  played = _cross_play_network(learner, params, update, scripted=partners)
  metrics = {}
  for j, name in enumerate(names):
    metrics[f"{env.name}/with_{name}/return"] = float(played.returns[0, j])
    for seat in range(2):
      metrics[f"{env.name}/with_{name}/return_seat{seat}"] = float(
          played.returns_by_seat[0, j, seat])
  return metrics


def pair_returns(learner: Learner, first, second, update: int) -> dict[str, float]:
  """`population/pair_return`: the mean return of a per-seat pair (`Population(per_seat=True)`)
  as it trains, network `first` (one network's params) in seat 0 and `second` in seat 1, and
  `population/pair_return_swapped` with the seats the other way round: `eval.num_games`
  games (rounded up to even) each. Keys as `partner_returns`'."""
  by_seat = _cross_play_network(learner, first, update, games_factor=2, partners=jax.tree.map(
      lambda x: x[None], second)).returns_by_seat[0, 0]
  return {"population/pair_return": float(by_seat[0]),
          "population/pair_return_swapped": float(by_seat[1])}


def headline_keys(envs: Sequence[Env], metrics: dict[str, float]) -> list[str]:
  """The evaluation metrics worth a glance, per game: its declared `headline_metrics`, of the
  parameters and of the magnet, those present in `metrics`."""
  keys = [f"{env.name}/{prefix}{metric}" for env in envs for prefix in ("", MAGNET)
          for metric in env.headline_metrics]
  return [key for key in keys if key in metrics]
