"""A game defined outside jaxplay, with its own evaluator and headline metric (see
tests/test_toy_game.py): what adding a game takes."""
