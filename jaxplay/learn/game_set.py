"""The games a learner trains on, padded to one observation and action shape.

One network plays every game of a `GameSet`: observations are zero-padded to [L, F] (the
largest of the games; the transformer masks the padded tokens out), legal masks to A actions
(padded actions are never legal), and each game has an id for the network's game embedding.
For training, each env is wrapped with auto-reset and episode statistics.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np

import jaxplay
from jaxplay.core.env import FixedFeatures


@dataclasses.dataclass(frozen=True)
class GameSet:
  """The games of one learner.

  Attributes:
    names: the games, in id order.
    envs: each wrapped for training (AutoReset, EpisodeStats).
    raw: the unwrapped envs.
    observation_shape: (L, F), the largest of the games'.
    num_actions: A, the most actions of any game.
    token_counts: per game, its own number of tokens L_g.
    reward_scales: per game, the factor its rewards are multiplied by for training.
  """

  names: tuple[str, ...]
  envs: tuple[Any, ...]
  raw: tuple[Any, ...]
  observation_shape: tuple[int, int]
  num_actions: int
  token_counts: tuple[int, ...]
  reward_scales: tuple[float, ...]

  def pad_observation(self, observation: jax.Array) -> jax.Array:
    """int8[..., l, f] -> int8[..., L, F], zero-padded."""
    length, features = self.observation_shape
    pads = [(0, 0)] * (observation.ndim - 2) + [(0, length - observation.shape[-2]),
                                                (0, features - observation.shape[-1])]
    return jnp.pad(observation, pads)

  def pad_legal(self, legal: jax.Array) -> jax.Array:
    """bool[..., a] -> bool[..., A], padded with False."""
    return jnp.pad(legal, [(0, 0)] * (legal.ndim - 1) + [(0, self.num_actions - legal.shape[-1])])

  def fixed_features(self) -> FixedFeatures:
    """The padded features [L, F] that hold one value in every game of the set: fixed in
    each game (or padding there) with the same value in all of them."""
    length, features = self.observation_shape
    masks, values = [], []
    for env in self.raw:
      mask, value = env.fixed_features()
      l, f = mask.shape
      masks.append(np.pad(mask, [(0, length - l), (0, features - f)], constant_values=True))
      values.append(np.pad(value, [(0, length - l), (0, features - f)]))
    mask = np.logical_and.reduce(masks) & (np.ptp(np.stack(values), axis=0) == 0)
    return FixedFeatures(mask, np.where(mask, values[0], 0).astype(np.int8))

  def actor_slots(self, game: int) -> int:
    """K: how many seats act per step of game `game` (1 turn-based, P simultaneous)."""
    env = self.raw[game]
    return env.num_players if env.simultaneous else 1


def make_game_set(names: Sequence[str], options: Mapping[str, Mapping[str, Any]],
                  reward_scales: Mapping[str, float]) -> GameSet:
  """Builds the games `names` of a checked run config (`jaxplay.config.check`), each with
  `options[name]` as its `make` keywords and its rewards multiplied by `reward_scales[name]`."""
  names = tuple(names)
  raw = tuple(jaxplay.make(name, **dict(options[name])) for name in names)
  return GameSet(
      names=names, raw=raw,
      envs=tuple(jaxplay.wrap(env, auto_reset=True, episode_stats=True) for env in raw),
      observation_shape=(max(e.observation_shape[0] for e in raw),
                         max(e.observation_shape[1] for e in raw)),
      num_actions=max(e.num_actions for e in raw),
      token_counts=tuple(e.observation_shape[0] for e in raw),
      reward_scales=tuple(float(reward_scales[name]) for name in names))
