"""Exact evaluation of small games: game trees, best responses and exploitability, CFR+,
minimax and match play. See README.md ("Exact evaluation") for a tour."""

from jaxplay.eval import cfr, match, minimax, play
from jaxplay.eval.exploitability import Exploitability, exploitability, nash_conv, policy_table
from jaxplay.eval.tree import DeviceTree, GameTree, TreeError, build_tree
