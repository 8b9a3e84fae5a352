"""The environment contract, registry, wrappers and adapters shared by every game."""

from jaxplay.core.env import Env, State
from jaxplay.core.errors import (ConfigError, IllegalActionError, IllegalChanceError, JaxplayError,
                                 UnknownGameError)
from jaxplay.core.jaxmarl_adapter import JaxMARLView
from jaxplay.core.openspiel import OpenSpielError, OpenSpielGame
from jaxplay.core.pgx_adapter import PgxView
from jaxplay.core.random_actions import random_legal_actions
from jaxplay.core.registry import game_options, make, register, registered_games
from jaxplay.core.wrappers import AutoReset, Checked, EpisodeStats, TimeLimit, wrap
