"""A game's OpenSpiel counterpart, as plain data (no pyspiel here).

`OpenSpielGame` names the OpenSpiel game an env plays exactly: its `pyspiel.load_game` string
and a comparison of game strings by their parameters, OpenSpiel's defaults filled in, so that
"kuhn_poker", "kuhn_poker()" and "kuhn_poker(players=2)" are one game. The helpers below let
games turn an OpenSpiel history (`state.history()`) into their chance vector and actions
with one kind of error for histories that do not fit.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping, Sequence, Union

import numpy as np

from jaxplay.core.errors import JaxplayError

# A game parameter: bool, int, float, str, or a nested game as (name, parameters).
Value = Union[bool, int, float, str, tuple]
History = Sequence[int]


class OpenSpielError(JaxplayError):
  """Something asked of a game's OpenSpiel counterpart that it lacks (no counterpart, no
  information-state strings) or that does not fit it (a history that is not the game's)."""


@dataclasses.dataclass(frozen=True)
class OpenSpielGame:
  """The OpenSpiel game an env plays exactly.

  Attributes:
    name: OpenSpiel's short name ("kuhn_poker").
    params: the parameters its load string spells out ({"players": 2}).
    defaults: OpenSpiel's default of every parameter of the game, so that spellings which
      leave some out compare equal.
  """

  name: str
  params: Mapping[str, Value] = dataclasses.field(default_factory=dict)
  defaults: Mapping[str, Value] = dataclasses.field(default_factory=dict)

  def string(self) -> str:
    """The `pyspiel.load_game` string, e.g. "kuhn_poker(players=2)" ("leduc_poker" without
    parameters)."""
    return game_string(self.name, self.params)

  def matches(self, game: str) -> bool:
    """Whether the game string `game` ("name(key=value,...)") is this game: same name and
    the same parameters once defaults are filled in. False for a string that does not parse."""
    try:
      name, params = parse_game_string(game)
    except OpenSpielError:
      return False
    return name == self.name and _same_params({**self.defaults, **params},
                                              {**self.defaults, **self.params})


def game_string(name: str, params: Mapping[str, Value]) -> str:
  """OpenSpiel's "name(key=value,...)" with keys sorted (just "name" without parameters)."""
  if not params:
    return name
  return f"{name}({','.join(f'{k}={_format(params[k])}' for k in sorted(params))})"


def parse_game_string(game: str) -> tuple[str, dict[str, Value]]:
  """(name, parameters) of "name" or "name(key=value,...)"; values as OpenSpiel reads them
  (True/False, ints, floats, nested games, else strings).

  Raises:
    OpenSpielError: not a game string.
  """
  if not isinstance(game, str):
    raise OpenSpielError(f"a game string is a str like 'kuhn_poker(players=2)', got {game!r}")
  text = game.strip()
  name, _, rest = text.partition("(")
  name = name.strip()
  if not name or (rest and not rest.endswith(")")) or ")" in name or "=" in name:
    raise OpenSpielError(f"{game!r} is not an OpenSpiel game string (name or "
                         "name(key=value,...))")
  params = {}
  for item in _split_top_level(rest[:-1]) if rest else []:
    key, equals, value = item.partition("=")
    if not equals or not key.strip():
      raise OpenSpielError(f"{game!r}: parameter {item!r} is not key=value")
    params[key.strip()] = _parse_value(value.strip())
  return name, params


def _split_top_level(text: str) -> list[str]:
  """`text` split at the commas outside parentheses (nested games keep theirs)."""
  items, depth, start = [], 0, 0
  for i, char in enumerate(text):
    depth += {"(": 1, ")": -1}.get(char, 0)
    if char == "," and depth == 0:
      items.append(text[start:i])
      start = i + 1
  items.append(text[start:])
  return [item for item in items if item.strip()]


def _parse_value(text: str) -> Value:
  if text in ("True", "true", "False", "false"):
    return text in ("True", "true")
  if "(" in text:
    return parse_game_string(text)
  for kind in (int, float):
    try:
      return kind(text)
    except ValueError:
      pass
  return text


def _format(value: Value) -> str:
  if isinstance(value, tuple):
    return game_string(*value)
  return repr(value) if isinstance(value, float) else str(value)


def _same_params(a: Mapping[str, Value], b: Mapping[str, Value]) -> bool:
  return a.keys() == b.keys() and all(_same_value(a[k], b[k]) for k in a)


def _same_value(a: Value, b: Value) -> bool:
  if isinstance(a, bool) or isinstance(b, bool):
    return type(a) is type(b) and a == b
  if isinstance(a, tuple) and isinstance(b, tuple):
    return a[0] == b[0] and _same_params(a[1], b[1])
  return a == b  # 2 == 2.0: OpenSpiel reads "discount=1" as the double 1


# --- splitting histories (for `Env.from_openspiel_history`) ------------------------------


def history_error(env: Any, history: History, what: str) -> OpenSpielError:
  """The error of a history that is not one of `env`'s OpenSpiel game."""
  game = env.openspiel_game()
  return OpenSpielError(f"{env.name}: {list(history)!r} is not a history of OpenSpiel's "
                        f"{game.string() if game else 'counterpart'}: {what}")


def as_ids(env: Any, history: History) -> list[int]:
  """The history as a list of Python ints (raises for anything else)."""
  try:
    ids = [int(x) for x in history]
  except (TypeError, ValueError):
    raise history_error(env, [], f"expected a sequence of int action ids, got {history!r}"
                        ) from None
  if any(i != x for i, x in zip(ids, history)):
    raise history_error(env, ids, "action ids are ints")
  return ids


def first(env: Any, history: History, count: int, what: str) -> list[int]:
  """The first `count` ids of `history`, which must hold at least that many."""
  if len(history) < count:
    raise history_error(env, history, f"it starts with {count} chance outcomes ({what})")
  return list(history[:count])


def cards(env: Any, history: History, ids: Sequence[int], num_cards: int) -> np.ndarray:
  """int32[len(ids)]: dealt card ids, checked distinct and in [0, num_cards)."""
  if len(set(ids)) != len(ids) or not all(0 <= c < num_cards for c in ids):
    raise history_error(env, history, f"cards are dealt without repeats from ids "
                        f"0..{num_cards - 1}, got {list(ids)}")
  return np.asarray(ids, np.int32)


def actions(env: Any, history: History, ids: Sequence[int]) -> list[int]:
  """The players' action ids, checked in [0, env.num_actions)."""
  bad = [a for a in ids if not 0 <= a < env.num_actions]
  if bad:
    raise history_error(env, history, f"player actions are ids 0..{env.num_actions - 1}, "
                        f"got {bad[0]}")
  return list(ids)
