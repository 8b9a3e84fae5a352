"""jaxplay: JAX-native multi-agent games and the tools to learn and evaluate them."""

from jaxplay import games as _games  # noqa: F401  (registers the games)
from jaxplay.core import (AutoReset, Checked, ConfigError, Env, EpisodeStats, IllegalActionError,
                          IllegalChanceError, JaxMARLView, JaxplayError, PgxView, State, TimeLimit,
                          UnknownGameError, game_options, make, random_legal_actions,
                          registered_games, wrap)

__version__ = "0.1.0"
