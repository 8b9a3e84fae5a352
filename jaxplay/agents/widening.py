"""Narrower MLPs played as wider ones: hidden units padded with zeros.

An MLP of `jaxplay.agents.networks` whose hidden layers get extra units with zero incoming
weights, zero bias and zero outgoing weights computes what it computed before: each extra
unit outputs tanh(0) = 0 and adds nothing downstream. So the networks of a run trained with
`network.hidden = (64, 64)` can sit in the stacked parameters of a run with (256, 256) (FCP's
stage 2 with a wider learner than its pool, a wide agent in a cross-play table beside the
recorded held-out networks), at the wide network's cost per forward pass.

    widening.widens(narrow_network, wide_network)   # may narrow's networks play as wide's?
    params = widening.pad(params, like)             # every leaf zero-padded to like's shapes
    a, b = widening.pad_stacked([a, b])             # stacked [K, ...] trees, to the widest

Padded units get no gradient (zero weights in and out), so a learner started as a padded
network would stay as narrow as it was: `population.learner_from` refuses a narrower pool.

Only `hidden` may differ, layer by layer no narrower and with as many layers, between two MLPs
(a transformer's LayerNorms would see the extra features: refused).
"""

from __future__ import annotations

from typing import Any, Mapping

import jax
import jax.numpy as jnp


def widens(narrow: Mapping, wide: Mapping) -> bool:
  """Whether networks of the `network` section `narrow` can play as networks of `wide` (config
  dicts or ConfigDicts): both MLPs, every other field equal, as many hidden layers, each no
  narrower in `wide`."""
  narrow, wide = dict(narrow), dict(wide)
  small, large = tuple(narrow.pop("hidden", ())), tuple(wide.pop("hidden", ()))
  return (narrow == wide and wide.get("kind") == "mlp" and len(small) == len(large)
          and all(s <= l for s, l in zip(small, large)))


def widest(networks: list[Mapping]) -> int | None:
  """The index of the first network section every one of `networks` `widens` to, or None
  where there is none (a transformer among MLPs, other depths, or widths that cross: (128, 64)
  beside (64, 128))."""
  return next((i for i, wide in enumerate(networks)
               if all(widens(narrow, wide) for narrow in networks)), None)


def pad(tree: Any, like: Any) -> Any:
  """`tree` with every leaf zero-padded at the end of each axis to the shape of `like`'s leaf
  (arrays or ShapeDtypeStructs of the same structure; a leaf already that shape is returned
  as it is). For an MLP's parameters (or optimizer state) this is the widening of the module
  docstring; leading stacked axes [N, ...] must then be equal.

  Raises:
    ValueError: another structure, or a leaf of other rank or larger than its target.
  """
  def one(x, target):
    if x.shape == tuple(target.shape):
      return x
    if x.ndim != len(target.shape) or any(a > b for a, b in zip(x.shape, target.shape)):
      raise ValueError(f"widening.pad: a leaf of shape {x.shape} does not fit in "
                       f"{tuple(target.shape)}")
    return jnp.pad(x, [(0, b - a) for a, b in zip(x.shape, target.shape)])

  return jax.tree.map(one, tree, like)


def pad_stacked(trees: list[Any]) -> list[Any]:
  """Stacked trees [K_i, ...] of one structure, each leaf zero-padded (`pad`) to the largest
  size of every trailing axis among them: networks of several runs, made one width before
  they are concatenated into one stack."""
  largest = jax.tree.map(lambda *x: tuple(map(max, zip(*(y.shape[1:] for y in x)))), *trees)
  return [jax.tree.map(lambda x, shape: pad(x, jax.ShapeDtypeStruct(x.shape[:1] + shape,
                                                                    x.dtype)), tree, largest)
          for tree in trees]
