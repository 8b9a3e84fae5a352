"""The hyperparameters that keep an update's shapes: the values a sweep may trace.

A `Learner` keeps its config's values in `learner.hparams`, Python floats (one per game for
the per-game fields, `ppo_by_game` applied): a single run compiles them in as constants, as
it always did. `Learner.update`, `train_chunk` and `optimize` take `hparams`, a dict
{field: value} that replaces some of them by traced values; `jax.vmap` over those values
(and over the runs' states) trains several runs in one compiled program:

    learner = Learner(config)                        # the static parts, shared by the runs
    traced = stack([from_config(c) for c in configs], fields=("learning_rate",))
    step = jax.vmap(lambda state, h: learner.train_chunk(state, 10, h))
    states, metrics = step(states, traced)   # states [R, ...]; traced {"learning_rate": [R]}

`jaxplay.learn.sweep` does this for a list of configs that differ only in these fields (and
the seed). A field whose zero-ness decides what the loss computes (`STRUCTURAL`: the KL and
magnet terms are left out when their coefficient is 0) may be traced only among runs that
agree on it being zero.
"""

from __future__ import annotations

from typing import Any, Sequence

import jax.numpy as jnp
import numpy as np
from flax import struct

from jaxplay import config as config_lib

# Hyperparams field -> its config field (`ppo.<field>` may also be set per game: ppo_by_game).
CONFIG_FIELDS = {
    "learning_rate": "ppo.learning_rate", "final_lr_fraction": "ppo.final_lr_fraction",
    "max_grad_norm": "ppo.max_grad_norm", "value_coef": "ppo.value_coef",
    "clip_eps": "ppo.clip_eps", "entropy_coef": "ppo.entropy_coef",
    "final_entropy_coef": "ppo.final_entropy_coef", "kl_coef": "ppo.kl_coef",
    "magnet_coef": "ppo.magnet_coef", "final_magnet_fraction": "ppo.final_magnet_fraction",
    "magnet_ema": "ppo.magnet_ema", "final_magnet_ema_fraction": "ppo.final_magnet_ema_fraction",
    "shaping_coef": "shaping.coef", "gamma": "ppo.gamma", "gae_lambda": "ppo.gae_lambda",
    "magnet_lr": "ppo.magnet_lr",
}
PER_GAME = ("clip_eps", "entropy_coef", "final_entropy_coef", "kl_coef", "magnet_coef",
            "final_magnet_fraction", "gamma", "gae_lambda")
# Fields whose being zero or not changes the program (`jaxplay.learn.ppo.uses`).
STRUCTURAL = ("kl_coef", "magnet_coef")


@struct.dataclass
class Hyperparams:
  """One run's shape-keeping hyperparameters: scalars, and for the `PER_GAME` fields one value
  per trained game (a tuple of G floats, or float32[G] when traced). Each field is its config
  field (`CONFIG_FIELDS`, documented in jaxplay/config.py)."""

  learning_rate: Any
  final_lr_fraction: Any
  max_grad_norm: Any
  value_coef: Any
  clip_eps: Any
  entropy_coef: Any
  final_entropy_coef: Any
  kl_coef: Any
  magnet_coef: Any
  final_magnet_fraction: Any
  magnet_ema: Any
  final_magnet_ema_fraction: Any
  shaping_coef: Any
  gamma: Any
  gae_lambda: Any
  magnet_lr: Any

  def replace_with(self, traced: dict[str, Any] | None) -> "Hyperparams":
    """These hyperparameters with the fields of `traced` (None or {}: as they are)."""
    return self.replace(**traced) if traced else self


def from_config(config) -> Hyperparams:
  """A checked run config's values, as Python floats (per game: tuples, `ppo_by_game`
  applied)."""
  per_game = config_lib.game_ppo(config)
  values = {}
  for field, path in CONFIG_FIELDS.items():
    if field in PER_GAME:
      values[field] = tuple(float(ppo[field]) for ppo in per_game)
    else:
      section, name = path.split(".")
      values[field] = float(config[section][name])
  return Hyperparams(**values)


def differing(runs: Sequence[Hyperparams]) -> tuple[str, ...]:
  """The fields whose values are not the same in every run."""
  first = runs[0]
  return tuple(field for field in CONFIG_FIELDS
               if any(getattr(run, field) != getattr(first, field) for run in runs[1:]))


def structure(hparams: Hyperparams) -> tuple:
  """What of the hyperparameters the compiled program depends on: which `STRUCTURAL`
  coefficients are zero (per game). Runs vmapped together must agree on it."""
  return tuple(tuple(value == 0 for value in getattr(hparams, field)) for field in STRUCTURAL)


def stack(runs: Sequence[Hyperparams], fields: Sequence[str]) -> dict[str, jnp.ndarray]:
  """{field: float32[R] (per game: float32[R, G])}: the runs' values of `fields`, stacked
  along a leading run axis (the traced `hparams` of R vmapped runs)."""
  return {field: jnp.asarray(np.array([getattr(run, field) for run in runs], np.float32))
          for field in fields}
