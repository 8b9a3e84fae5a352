"""Policies to and from OpenSpiel: information-state strings -> action probabilities.

The JSON format (one object):

    {"game": "kuhn_poker(players=2)",           # pyspiel.load_game's string
     "policy": {"0pb": [0.67, 0.33], ...}}      # OpenSpiel information-state string ->
                                                # probability of every action id

`export_policy` writes it for any policy over a game tree of kuhn_poker or leduc_poker,
`import_policy` reads it back into a table over the tree's information sets, and
`to_tabular_policy` loads it into `open_spiel.python.policy.TabularPolicy` (needs open_spiel,
a test-only dependency, imported only there). The strings are OpenSpiel's
`InformationStateString(player)`, written here from a state of each information set.
"""

from __future__ import annotations

import json
import pathlib
from typing import Any, Callable

import numpy as np

from jaxplay.core.errors import JaxplayError
from jaxplay.eval.exploitability import Policy, policy_table
from jaxplay.eval.tree import GameTree


class PolicyFormatError(JaxplayError, ValueError):
  """A policy file that does not fit the game: wrong game, missing or unknown information
  states, or probabilities of the wrong length."""


def _kuhn_string(state: Any, player: int) -> str:
  moves = "".join("pb"[int(a)] for a in state.history if a >= 0)
  return f"{int(state.cards[player])}{moves}"


def _leduc_string(state: Any, player: int) -> str:
  second_round = int(state.slot) >= 4
  actions = [str(int(a)) for a in state.history]
  played = [a for a in actions[:4] if a != "-1"], [a for a in actions[4:] if a != "-1"]
  public = f"[Public: {int(state.cards[2])}]" if second_round else ""
  money = " ".join(str(100 - int(c)) for c in state.contrib)
  return (f"[Observer: {player}][Private: {int(state.cards[player])}]"
          f"[Round {2 if second_round else 1}][Player: {int(state.current_player)}]"
          f"[Pot: {int(state.contrib.sum())}][Money: {money}]{public}"
          f"[Round1: {' '.join(played[0])}][Round2: {' '.join(played[1])}]")


_FORMATTERS: dict[str, tuple[Callable[[Any], str], Callable[[Any, int], str]]] = {
    "kuhn_poker": (lambda env: f"kuhn_poker(players={env.num_players})", _kuhn_string),
    "leduc_poker": (lambda env: "leduc_poker", _leduc_string),
}
GAMES = tuple(_FORMATTERS)  # the games whose policies go to and from OpenSpiel


def openspiel_game_string(tree: GameTree) -> str:
  """The `pyspiel.load_game` string of the tree's game."""
  return _formatter(tree)[0](tree.env)


def infostate_strings(tree: GameTree) -> list[str]:
  """OpenSpiel's information-state string of every information set of `tree`, by id."""
  to_string = _formatter(tree)[1]
  return [to_string(tree.infoset_state(i), int(tree.infoset_player[i]))
          for i in range(tree.num_infosets)]


def export_policy(tree: GameTree, policy: Policy, path: str | pathlib.Path | None = None
                  ) -> dict:
  """The JSON object of `policy` (a table or policy function; see the module docstring),
  also written to `path` if given."""
  table = policy_table(tree, policy)
  data = {"game": openspiel_game_string(tree),
          "policy": {key: [float(p) for p in row]
                     for key, row in zip(infostate_strings(tree), table)}}
  if path is not None:
    pathlib.Path(path).write_text(json.dumps(data, indent=1))
  return data


def import_policy(tree: GameTree, source: dict | str | pathlib.Path) -> np.ndarray:
  """float64[I, A]: the policy of a JSON object (or file) as a table over `tree`'s
  information sets.

  Raises:
    PolicyFormatError: a different game, an information state missing or unknown, or a row
      that is not num_actions probabilities.
  """
  data = source if isinstance(source, dict) else _read_json(source)
  game = openspiel_game_string(tree)
  if not isinstance(data, dict) or data.get("game") != game or not isinstance(
      data.get("policy"), dict):
    raise PolicyFormatError(f"expected a policy object for {game!r} "
                            '({"game": ..., "policy": {infostate: probabilities}}), got one for '
                            f"{data.get('game') if isinstance(data, dict) else type(data)!r}")
  keys = infostate_strings(tree)
  missing = [k for k in keys if k not in data["policy"]]
  unknown = sorted(set(data["policy"]) - set(keys))
  if missing or unknown:
    raise PolicyFormatError(f"{game}: the policy lacks {len(missing)} information states "
                            f"(e.g. {missing[:2]}) and has {len(unknown)} unknown ones "
                            f"(e.g. {unknown[:2]})")
  try:
    table = np.array([data["policy"][k] for k in keys], np.float64)
  except (TypeError, ValueError):
    table = None
  if table is None or table.shape != (len(keys), tree.num_actions) or not np.isfinite(
      table).all() or (table < 0).any():
    raise PolicyFormatError(f"{game}: every information state needs {tree.num_actions} "
                            "non-negative probabilities, one per action id")
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


def _formatter(tree: GameTree):
  if tree.env.name not in _FORMATTERS:
    raise PolicyFormatError(f"OpenSpiel policy interop covers {sorted(_FORMATTERS)}, not "
                            f"{tree.env.name!r}")
  return _FORMATTERS[tree.env.name]


def _read_json(path) -> Any:
  try:
    return json.loads(pathlib.Path(path).read_text())
  except (OSError, json.JSONDecodeError) as error:
    raise PolicyFormatError(f"cannot read a policy from {path}: {error}") from None
