"""Policies to and from OpenSpiel: information-state strings -> action probabilities.

The JSON format (one object):

    {"game": "kuhn_poker(players=2)",           # pyspiel.load_game's string
     "policy": {"0pb": [0.67, 0.33], ...}}      # OpenSpiel information-state string ->
                                                # probability of every action id

`export_policy` writes it for any policy over the game tree of a game that `supports` it
(one that declares its OpenSpiel game and writes its information-state strings: Kuhn and
Leduc poker), `import_policy` reads it (or an OpenSpiel `TabularPolicy`) back into a table
over the tree's information sets, and `to_tabular_policy` loads it into
`open_spiel.python.policy.TabularPolicy` (needs open_spiel, a test-only dependency, imported
only there). The game and the strings are the game's own (`Env.openspiel_game`,
`Env.information_state_string`), written from a state of each information set.
"""

from __future__ import annotations

import json
import pathlib
from typing import Any

import numpy as np

from jaxplay.core import openspiel as openspiel_lib
from jaxplay.core.errors import JaxplayError
from jaxplay.eval.exploitability import Policy, policy_table
from jaxplay.eval.tree import GameTree


class PolicyFormatError(JaxplayError, ValueError):
  """A policy that does not fit the game: wrong game, missing or unknown information states,
  probabilities of the wrong length, or an unreadable file."""


def supports(env: Any) -> bool:
  """Whether policies of `env` go to and from OpenSpiel: it declares its OpenSpiel game and
  writes that game's information-state strings."""
  return env.openspiel_game() is not None and env.writes_information_state_strings()


def openspiel_game_string(tree: GameTree) -> str:
  """The `pyspiel.load_game` string of the tree's game."""
  return _openspiel_game(tree).string()


def infostate_strings(tree: GameTree) -> list[str]:
  """OpenSpiel's information-state string of every information set of `tree`, by id."""
  _openspiel_game(tree)
  return [tree.env.information_state_string(tree.infoset_state(i), int(tree.infoset_player[i]))
          for i in range(tree.num_infosets)]


def export_policy(tree: GameTree, policy: Policy, path: str | pathlib.Path | None = None
                  ) -> dict:
  """The JSON object of `policy` (a table or policy function; see the module docstring),
  also written to `path` if given (its folder is made if missing)."""
  table = policy_table(tree, policy)
  data = {"game": openspiel_game_string(tree),
          "policy": {key: [float(p) for p in row]
                     for key, row in zip(infostate_strings(tree), table)}}
  if path is not None:
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1))
  return data


def import_policy(tree: GameTree, source: Any) -> np.ndarray:
  """float64[I, A]: a policy as a table over `tree`'s information sets.

  Args:
    source: a JSON object as `export_policy` writes it, a path to one, or an OpenSpiel
      `TabularPolicy` (read through its `game`, `state_lookup` and
      `action_probability_array`; open_spiel is not imported). Its game may be any spelling
      of the tree's ("kuhn_poker", "kuhn_poker()" and "kuhn_poker(players=2)" are one game).

  Raises:
    PolicyFormatError: a different game, an information state missing or unknown, a row
      that is not num_actions probabilities, or a file that cannot be read.
  """
  game = _openspiel_game(tree)
  game_string, policy = _game_and_rows(source)
  if not game.matches(game_string):
    raise PolicyFormatError(f"expected a policy for {game.string()!r}, got one for "
                            f"{game_string!r}")
  keys = infostate_strings(tree)
  missing = [k for k in keys if k not in policy]
  unknown = sorted(set(policy) - set(keys))
  if missing or unknown:
    raise PolicyFormatError(f"{game.string()}: the policy lacks {len(missing)} information "
                            f"states (e.g. {missing[:2]}) and has {len(unknown)} unknown ones "
                            f"(e.g. {unknown[:2]})")
  try:
    table = np.array([policy[k] for k in keys], np.float64)
  except (TypeError, ValueError):
    table = None
  if table is None or table.shape != (len(keys), tree.num_actions) or not np.isfinite(
      table).all() or (table < 0).any():
    raise PolicyFormatError(f"{game.string()}: every information state needs "
                            f"{tree.num_actions} non-negative probabilities, one per action id")
  return policy_table(tree, table)


def to_tabular_policy(source: dict | str | pathlib.Path):
  """The policy as `open_spiel.python.policy.TabularPolicy` (requires open_spiel)."""
  import pyspiel  # pylint: disable=import-outside-toplevel
  from open_spiel.python import policy as openspiel_policy  # pylint: disable=import-outside-toplevel
  data = source if isinstance(source, dict) else _read_json(source)
  tabular = openspiel_policy.TabularPolicy(pyspiel.load_game(data["game"]))
  for key, probs in data["policy"].items():
    tabular.policy_for_key(key)[:] = probs
  return tabular


def _openspiel_game(tree: GameTree) -> openspiel_lib.OpenSpielGame:
  if not supports(tree.env):
    raise PolicyFormatError(
        "policies go to and from OpenSpiel for games that declare their OpenSpiel game and "
        "write its information-state strings (Env.openspiel_game, "
        f"Env.information_state_string); {tree.env.name!r} here does not")
  return tree.env.openspiel_game()


def _game_and_rows(source: Any) -> tuple[str, dict]:
  """(game string, {information state: probabilities}) of any `import_policy` source."""
  if _is_tabular_policy(source):
    game = source.game
    name = game.get_type().short_name
    rows = {key: source.action_probability_array[row]
            for key, row in source.state_lookup.items()}
    return openspiel_lib.game_string(name, game.get_parameters()), rows
  if not isinstance(source, (dict, str, pathlib.Path)):
    raise PolicyFormatError("a policy is a JSON object, a path to one or an OpenSpiel "
                            f"TabularPolicy; got {type(source).__name__}")
  data = source if isinstance(source, dict) else _read_json(source)
  if not isinstance(data, dict) or not isinstance(data.get("game"), str) or not isinstance(
      data.get("policy"), dict):
    raise PolicyFormatError('expected a policy object ({"game": ..., "policy": {infostate: '
                            f"probabilities}}}}), got {_describe(data)}")
  return data["game"], data["policy"]


def _is_tabular_policy(source: Any) -> bool:
  return all(hasattr(source, a) for a in ("game", "state_lookup", "action_probability_array"))


def _describe(data: Any) -> str:
  if isinstance(data, dict):
    return f"one for {data.get('game')!r}" if "game" in data else f"keys {list(data)[:4]}"
  return type(data).__name__


def _read_json(path) -> Any:
  try:
    return json.loads(pathlib.Path(path).read_text())
  except (OSError, json.JSONDecodeError, UnicodeDecodeError) as error:
    raise PolicyFormatError(f"cannot read a policy from {path}: {error}") from None
