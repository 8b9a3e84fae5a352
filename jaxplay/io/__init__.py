"""Checkpoints, metric writers, plots and policy export."""
