"""Sweeps for `python -m experiments.sweep --sweep=experiments/configs/sweeps/<file>.py`: each
file's `sweep()` returns the list of overrides {dotted config field: value}, one a run."""
