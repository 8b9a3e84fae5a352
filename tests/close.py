"""Training states compared across device layouts and processes: float tolerance, with the
one kind of parameter whose value is float noise given a looser bound."""

from __future__ import annotations

import jax
import numpy as np

# An attention key bias adds the same number to every attention logit of a query, which the
# softmax ignores: its gradient is float rounding, different for every device layout, and
# Adam (which divides by the gradient's scale) turns that into steps of up to ~1e-6. Any
# other parameter's difference beyond atol is a real one.
NOISE_LEAVES, NOISE_ATOL = ["key", "bias"], 1e-5  # the last two keys of the leaf's path


def assert_trees_close(actual, desired, rtol: float = 1e-5, atol: float = 1e-6) -> None:
  """Every leaf of `actual` within `rtol`/`atol` of `desired`'s (same structure), attention
  key biases within NOISE_ATOL; the failing leaf's path in the message."""
  leaves, tree = jax.tree_util.tree_flatten_with_path(actual)
  wanted, wanted_tree = jax.tree_util.tree_flatten_with_path(desired)
  assert tree == wanted_tree, (tree, wanted_tree)
  for (path, a), (_, b) in zip(leaves, wanted):
    name = jax.tree_util.keystr(path)
    noise = [getattr(entry, "key", None) for entry in path[-2:]] == NOISE_LEAVES
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=rtol,
                               atol=max(atol, NOISE_ATOL) if noise else atol, err_msg=name)
