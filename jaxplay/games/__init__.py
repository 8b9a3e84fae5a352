"""Games. Importing this package registers every game with `jaxplay.make`."""

from jaxplay.games import kuhn_poker, leduc_poker, negotiation, overcooked, tic_tac_toe  # noqa: F401
