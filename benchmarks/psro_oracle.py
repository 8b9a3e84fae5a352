"""How close PPO best responses come to exact ones, against one meta-strategy of a PSRO run.

    python -m benchmarks.psro_oracle --workdir=/tmp/psro_leduc --step=23600
    python -m benchmarks.psro_oracle --workdir=/tmp/psro_leduc --step=23600 \
        --set=ppo.num_envs=2048 --set=ppo.entropy_coef=0.2 --rollout_seeds=0,1

Restores a checkpoint of a PSRO run of the train binary (`--step`; not its last, whose best
responses are already trained): its learners are the next iteration's new best responses and
their opponents the meta-strategy the run solved. Trains them `--updates` updates with the
run's config changed by `--set` (any field; the games start anew, so `ppo.num_envs` may
change too; each best response follows the config's schedules over its `--updates`, as in
PSRO; where the overrides change the network's parameters, e.g. a separate critic, every
member keeps the layers whose name and shape it still has, so the frozen members' policies
stay theirs, and the rest starts anew) and prints, every `--every` updates, how far each
seat's best response falls short of an exact best response to the same mixture (`PSRO`'s
`best_response_gap`), once per rollout seed. This is how the Leduc recipe's entropy schedule
was chosen (results/psro.md).

With `--top=K` it then prints, per seat, the K information sets where the exact best response
gains most over the trained one (`Exploitability.infoset_gain`: the learner's own reach times
what the best action's counterfactual value exceeds its policy's there; a seat's gains sum to
its gap), with the learner's action probabilities and the best action: where PPO falls short.
"""

from __future__ import annotations

import pathlib
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
from absl import app, flags
from flax import traverse_util

from experiments import evaluate_lib, run_lib, sweep_lib
from jaxplay import config as config_lib
from jaxplay.core.errors import ConfigError
from jaxplay.io import openspiel_policy
from jaxplay.io.checkpoints import CheckpointError
from jaxplay.learn.learner import Learner
from jaxplay.learn.psro import PSRO

_WORKDIR = flags.DEFINE_string("workdir", None, "A PSRO run's workdir.", required=True)
_STEP = flags.DEFINE_integer("step", None, "Its checkpoint (an update count); default: the "
                             "latest, which must not be the run's last.")
_UPDATES = flags.DEFINE_integer("updates", 200, "Updates of each best response.")
_EVERY = flags.DEFINE_integer("every", 100, "Measure the gaps every this many updates.")
_SET = flags.DEFINE_multi_string("set", [], "A config override, field=value (Python literal).")
_ROLLOUT_SEEDS = flags.DEFINE_list("rollout_seeds", ["0"], "Seeds of the rollouts' keys.")
_TOP = flags.DEFINE_integer("top", 0, "After training, print each seat's TOP information sets "
                            "by what an exact best response gains there.")

# What a new best response starts from, taken from the run's state (the rest, the games and
# their keys, from the changed config's fresh state).
_KEPT = ("params", "magnet", "opt_state", "magnet_opt_state", "live", "learners", "payoff",
         "counts", "opponents", "baselines", "born")


def same_shapes(a, b) -> bool:
  """Whether two pytrees of arrays have one structure and the same shapes."""
  shapes = lambda tree: jax.tree.map(jnp.shape, tree)
  return jax.tree.structure(a) == jax.tree.structure(b) and shapes(a) == shapes(b)


def transplant(saved, fresh):
  """`fresh` parameters (nested dicts) with every leaf whose path and shape `saved` also
  has taken from `saved`."""
  saved_leaves = traverse_util.flatten_dict(saved)
  out = {path: saved_leaves[path] if (path in saved_leaves and
                                      saved_leaves[path].shape == leaf.shape) else leaf
         for path, leaf in traverse_util.flatten_dict(fresh).items()}
  return traverse_util.unflatten_dict(out)


def changed_config(config, overrides: list[str], updates: int):
  """The run's config with `field=value` overrides (values as Python literals; the sweep's
  `apply_overrides`), its updates spread so that every iteration has `updates` (each best
  response's schedule period)."""
  config = sweep_lib.apply_overrides(config.as_configdict(),   # (checked: frozen)
                                     sweep_lib.parse_overrides(overrides))
  config.total_env_steps = (config.ppo.num_envs * config.ppo.num_steps * updates
                            * config.population.iterations)
  return config_lib.check(config)


def main(argv):
  del argv
  run_lib.quiet_libraries()
  try:
    measure_gaps()
  except (ConfigError, CheckpointError) as error:
    sys.exit(f"error: {error}")


def measure_gaps() -> None:
  """Trains the restored best responses and prints their gaps (the module docstring)."""
  workdir = pathlib.Path(_WORKDIR.value)
  # The overrides first: a mistyped one fails at once, before the run is restored.
  config = changed_config(evaluate_lib.load_config(workdir), _SET.value, _UPDATES.value)
  learner, run, saved = evaluate_lib.load_run(workdir, _STEP.value)
  if not isinstance(run, PSRO):
    raise ConfigError(f"{workdir} is not a PSRO run (population.scheme "
                      f"{learner.config.population.scheme!r})")
  if int(saved.update) >= learner.num_updates:
    raise ConfigError(f"{workdir}: the checkpoint at update {int(saved.update)} ends the run "
                      "(its best responses are trained); pass --step of an earlier one")
  psro = PSRO.from_config(Learner(config))
  fresh = psro.init(config.seed)
  kept = {name: getattr(saved, name) for name in _KEPT}
  if not same_shapes(saved.params, fresh.params):   # --set changed the network
    print("The overrides change the network: the members keep the layers that fit it (the "
          "policy's, for a new critic), the others and the optimizer states start anew.")
    kept.update(params=transplant(saved.params, fresh.params),
                magnet=transplant(saved.magnet, fresh.magnet),
                opt_state=fresh.opt_state, magnet_opt_state=fresh.magnet_opt_state)
  start = fresh.replace(update=jnp.zeros_like(fresh.update), **kept)
  trained_against = np.asarray(jax.device_get(start.opponents), np.float64)
  _, meta = psro.measure(start)
  print(f"PPO best responses against the meta-strategy of {workdir} at update "
        f"{int(saved.update)} (exploitability {meta.exploitability:.6g}), {_UPDATES.value} "
        f"updates of {psro.learner.steps_per_update:,} env steps a seat; overrides: "
        f"{_SET.value or 'none'}")
  print("| rollout seed | updates | gap seat 0 | gap seat 1 | seconds |")
  print("|---|---|---|---|---|")
  for seed in _ROLLOUT_SEEDS.value:
    state = start.replace(key=jax.random.key_data(jax.random.fold_in(jax.random.key(0),
                                                                      int(seed))))
    begin, done = time.perf_counter(), 0
    while done < _UPDATES.value:
      chunk = min(_EVERY.value, _UPDATES.value - done)
      state, _ = psro.train(state, chunk)
      done += chunk
      _, report = psro.measure(state, include_learners=True, trained_against=trained_against)
      gaps = report.best_response_gap
      print(f"| {seed} | {done} | {gaps[0]:.3f} | {gaps[1]:.3f} | "
            f"{time.perf_counter() - begin:.1f} |", flush=True)
    if _TOP.value:
      print_shortfalls(psro, state, trained_against, _TOP.value)


def infoset_names(tree) -> list[str]:
  """Every information set's OpenSpiel information-state string, or its id where the game
  declares no OpenSpiel counterpart."""
  try:
    return openspiel_policy.infostate_strings(tree)
  except openspiel_policy.PolicyFormatError:
    return [f"information set {i}" for i in range(tree.num_infosets)]


def print_shortfalls(psro: PSRO, state, trained_against: np.ndarray, top: int) -> None:
  """Per seat, the `top` information sets where an exact best response to the mixture the
  learner trained against gains most over the learner (the module docstring)."""
  tables = psro.member_tables(state)
  learners = np.asarray(jax.device_get(state.learners)) % tables.shape[1]
  names = infoset_names(psro.tree)
  for seat in range(2):
    result = psro.learner_against(tables, learners, trained_against, seat)
    gain = np.where(psro.tree.infoset_player == seat, result.infoset_gain, 0.0)
    print(f"seat {seat}: gap {gain.sum():.3f}, where the best response gains most")
    print("| gain | information set | learner's probabilities | best action |")
    print("|---|---|---|---|")
    for infoset in np.argsort(-gain)[:top]:
      probs = " ".join(f"{p:.2f}" for p in tables[seat, learners[seat], infoset])
      print(f"| {gain[infoset]:.4f} | {names[infoset]} | {probs} | "
            f"{result.best_response[infoset]} |")


if __name__ == "__main__":
  app.run(main)
