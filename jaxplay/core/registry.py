"""The game registry: `make(name, **kwargs)` and `registered_games()`."""

from __future__ import annotations

import inspect
from typing import Callable

from jaxplay.core.env import Env
from jaxplay.core.errors import ConfigError, UnknownGameError

_REGISTRY: dict[str, Callable[..., Env]] = {}


def register(name: str, factory: Callable[..., Env]) -> None:
  """Registers `factory(**kwargs) -> Env` under `name`."""
  if name in _REGISTRY:
    raise ValueError(f"game {name!r} is already registered")
  _REGISTRY[name] = factory


def registered_games() -> tuple[str, ...]:
  """The names `make` accepts, sorted."""
  return tuple(sorted(_REGISTRY))


def game_options(name: str) -> dict[str, object]:
  """The keywords `make(name, ...)` accepts, with their defaults."""
  factory = _lookup(name)
  return {p.name: p.default for p in inspect.signature(factory).parameters.values()}


def reward_options(name: str) -> tuple[str, ...]:
  """The options of game `name` that change only its training signal (`Env.reward_options`)."""
  return tuple(getattr(_lookup(name), "reward_options", ()))


def make(name: str, *, checked: bool = False, **kwargs) -> Env:
  """Builds a registered game.

  Args:
    name: one of `registered_games()`.
    checked: wrap the env in `Checked`, which raises `IllegalActionError` on illegal actions.
    **kwargs: the game's options (see `game_options(name)`).

  Raises:
    UnknownGameError: `name` is not registered.
    ConfigError: a keyword the game does not take, or a value it does not allow.
  """
  factory = _lookup(name)
  allowed = game_options(name)
  unknown = sorted(set(kwargs) - set(allowed))
  if unknown:
    shown = ", ".join(f"{k}={v!r}" for k, v in allowed.items()) or "none"
    raise ConfigError(
        f"{name} does not take option(s) {', '.join(map(repr, unknown))}; its options are: {shown}")
  env = factory(**kwargs)
  if checked:
    from jaxplay.core.wrappers import Checked  # wrappers import env; avoid a cycle at import.
    env = Checked(env)
  return env


def _lookup(name: str) -> Callable[..., Env]:
  if name not in _REGISTRY:
    raise UnknownGameError(
        f"unknown game {name!r}; registered games are: {', '.join(registered_games())}")
  return _REGISTRY[name]
