"""Policy-value networks over observation tokens (Flax).

Every network maps observations int8[B, L, F] (an env's tokens, zero-padded to one shape when
several games share the network) and game ids int32[B] to policy logits float32[B, A] and
values float32[B] (the observing player's expected return). Mask the logits with
`jaxplay.agents.policy.masked_policy`.

- `Transformer`: token embeddings plus learned positions plus the game's embedding, a [CLS]
  token, pre-LayerNorm blocks (self-attention, then an MLP), and both heads on the final
  LayerNorm of [CLS]. Tokens past a game's own length (padding) are masked out of attention,
  so a game plays the same whether or not it shares the network with longer ones.
- `MLP`: the flattened tokens (and the game embedding) through tanh layers; the baseline, and
  JaxMARL IPPO's network with `separate_critic=True`. With `token_embed=k`, every token is
  first mapped to k features by one linear map shared by all tokens, so the first hidden
  layer reads L x k inputs instead of L x F (Overcooked: F = 24 features a cell). Given the
  games' fixed features (`Env.fixed_features`), the first layer multiplies only the inputs
  that can change and adds the fixed ones' part as a constant: the same function and
  parameters, with 30% of the arithmetic on cramped_room (144 of its 480 inputs change).

Every network splits into `inputs(observation)`, parameter-free (the MLP keeps the inputs that
can change, flattened), and `from_inputs(inputs, game)`; calling it does both. A learner
stores the inputs of its samples, so the selection runs once per sample, not once per epoch.

`make_network(config, num_actions, token_counts)` builds either from a config.
"""

from __future__ import annotations

from typing import Any, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from jaxplay.core.env import FixedFeatures

NETWORKS = ("transformer", "mlp")


class Block(nn.Module):
  """Pre-LayerNorm transformer block over tokens [B, L, D]; `mask` bool[B, 1, 1, L] marks the
  tokens that may be attended to. With `first_only`, only the first token's output is computed
  ([B, 1, D]): the last block, whose other outputs nobody reads (the same parameters and the
  same result for that token, at a fraction of the attention's cost on CPU)."""

  heads: int
  mlp_ratio: int = 4
  first_only: bool = False

  @nn.compact
  def __call__(self, x: jax.Array, mask: jax.Array) -> jax.Array:
    width = x.shape[-1]
    y = nn.LayerNorm()(x)
    queries = y[:, :1] if self.first_only else y
    x = x[:, :1] if self.first_only else x
    x = x + nn.MultiHeadDotProductAttention(num_heads=self.heads)(queries, y, mask=mask)
    y = nn.LayerNorm()(x)
    y = nn.Dense(self.mlp_ratio * width)(y)
    return x + nn.Dense(width)(nn.gelu(y))


class Transformer(nn.Module):
  """See the module docstring. `token_counts[g]`: how many of the L tokens game g really has
  (default: all)."""

  num_actions: int
  token_counts: Sequence[int] = (0,)
  width: int = 64
  depth: int = 2
  heads: int = 4
  mlp_ratio: int = 4

  def inputs(self, observation: jax.Array) -> jax.Array:
    return observation

  def __call__(self, observation: jax.Array, game: jax.Array):
    return self.from_inputs(self.inputs(observation), game)

  @nn.compact
  def from_inputs(self, observation: jax.Array, game: jax.Array):
    _, length, _ = observation.shape
    counts = np.asarray(self.token_counts, np.int32)
    counts = np.where(counts > 0, counts, length)
    game_embedding = nn.Embed(len(counts), self.width, name="game")(game)          # [B, D]
    tokens = nn.Dense(self.width, name="embed")(observation.astype(jnp.float32))
    positions = self.param("positions", nn.initializers.normal(1.0), (length, self.width))
    cls = self.param("cls", nn.initializers.normal(0.02), (self.width,))
    x = jnp.concatenate([(cls + game_embedding)[:, None],
                         tokens + positions + game_embedding[:, None]], axis=1)
    real = jnp.arange(length)[None, :] < jnp.asarray(counts)[game][:, None]         # [B, L]
    mask = jnp.concatenate([jnp.ones_like(real[:, :1]), real], axis=1)[:, None, None, :]
    for i in range(self.depth):
      x = Block(self.heads, self.mlp_ratio, first_only=i == self.depth - 1)(x, mask)
    return _heads(nn.LayerNorm()(x[:, 0]), self.num_actions)


class MLP(nn.Module):
  """See the module docstring."""

  num_actions: int
  num_games: int = 1
  hidden: Sequence[int] = (128, 128)
  separate_critic: bool = False
  token_embed: int = 0
  # The flattened observation's fixed values (L x F floats) and the columns that can change
  # (0 there); empty: every column is an input. Ignored with token_embed.
  fixed_values: tuple[float, ...] = ()
  varying_columns: tuple[int, ...] = ()

  def inputs(self, observation: jax.Array) -> jax.Array:
    """int8[B, L, F] -> int8[B, D]: the flattened observation's columns that can change
    (all of them without fixed features; [B, L, F] unchanged with token_embed)."""
    if self.token_embed:
      return observation
    flat = observation.reshape(observation.shape[0], -1)
    return take_columns(flat, self.varying_columns) if self.fixed_values else flat

  def __call__(self, observation: jax.Array, game: jax.Array):
    return self.from_inputs(self.inputs(observation), game)

  @nn.compact
  def from_inputs(self, inputs: jax.Array, game: jax.Array):
    x = inputs.astype(jnp.float32)
    if self.token_embed:  # one linear map shared by every token, before flattening
      x = nn.Dense(self.token_embed, name="token_embed")(x)
      x = x.reshape(x.shape[0], -1)
    if self.num_games > 1:
      x = jnp.concatenate([x, nn.Embed(self.num_games, 16, name="game")(game)], axis=-1)
    fixed = () if self.token_embed else self.fixed_values
    actor = _tanh_layers(x, self.hidden, "actor", fixed, self.varying_columns)
    critic = (_tanh_layers(x, self.hidden, "critic", fixed, self.varying_columns)
              if self.separate_critic else actor)
    return _policy_head(actor, self.num_actions), _value_head(critic)


class PartlyFixedDense(nn.Module):
  """`nn.Dense` over a vector whose columns are partly fixed, given only the others.

  The kernel [D, N] and bias [N] are nn.Dense's (same names, shapes and initializers); the
  layer reads x[B, K] = the full input's `varying_columns` (then any extra columns appended
  after the D0 = len(fixed_values) columns of the observation, e.g. a game embedding) and
  computes full_input @ kernel + bias as x @ kernel[varying rows] + (fixed_values @ kernel
  + bias): K x N multiplies per sample instead of D x N.
  """

  features: int
  fixed_values: tuple[float, ...]
  varying_columns: tuple[int, ...]
  kernel_init: Any = nn.initializers.orthogonal(2 ** 0.5)

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    num_fixed, extra = len(self.fixed_values), x.shape[-1] - len(self.varying_columns)
    kernel = self.param("kernel", self.kernel_init, (num_fixed + extra, self.features))
    bias = self.param("bias", nn.initializers.zeros, (self.features,))
    rows = np.concatenate([np.asarray(self.varying_columns, np.int32),
                           np.arange(num_fixed, num_fixed + extra, dtype=np.int32)])
    constant = jnp.asarray(self.fixed_values, jnp.float32) @ kernel[:num_fixed] + bias
    return x @ jnp.take(kernel, rows, axis=0) + constant


def take_columns(x: jax.Array, columns: Sequence[int]) -> jax.Array:
  """x[:, columns] for sorted static `columns`, as one slice per run of consecutive columns
  (XLA:CPU copies slices far faster than it gathers single columns)."""
  columns = np.asarray(columns)
  runs = np.split(columns, np.flatnonzero(np.diff(columns) != 1) + 1)
  return jnp.concatenate([x[:, run[0]:run[-1] + 1] for run in runs], axis=1)


def _tanh_layers(x: jax.Array, sizes: Sequence[int], name: str,
                 fixed_values: tuple[float, ...] = (),
                 varying_columns: tuple[int, ...] = ()) -> jax.Array:
  init = nn.initializers.orthogonal(2 ** 0.5)
  for i, size in enumerate(sizes):
    if i == 0 and fixed_values:
      layer = PartlyFixedDense(size, fixed_values, varying_columns, init, name=f"{name}_{i}")
    else:
      layer = nn.Dense(size, kernel_init=init, name=f"{name}_{i}")
    x = nn.tanh(layer(x))
  return x


def _value_head(features: jax.Array) -> jax.Array:
  return nn.Dense(1, kernel_init=nn.initializers.orthogonal(1.0), name="value")(features)[..., 0]


def _policy_head(features: jax.Array, num_actions: int) -> jax.Array:
  """Logits [B, A]; small at first, so the first policy is near uniform."""
  return nn.Dense(num_actions, kernel_init=nn.initializers.orthogonal(0.01),
                  name="policy")(features)


def _heads(features: jax.Array, num_actions: int):
  return _policy_head(features, num_actions), _value_head(features)


def make_network(config: Any, num_actions: int, token_counts: Sequence[int],
                 fixed_features: FixedFeatures | None = None) -> nn.Module:
  """A network from the `network` section of a checked run config (`jaxplay.config.check`).

  Args:
    config: kind "transformer" (width, depth, heads, mlp_ratio) or "mlp" (hidden,
      separate_critic, token_embed).
    num_actions: A, the (padded) number of actions.
    token_counts: per game, its own number of observation tokens (games are padded to the
      longest).
    fixed_features: the observation features [L, F] no game changes; the MLP skips their
      arithmetic (the same function).
  """
  if config.kind == "transformer":
    return Transformer(num_actions=num_actions, token_counts=tuple(token_counts),
                       width=config.width, depth=config.depth, heads=config.heads,
                       mlp_ratio=config.mlp_ratio)
  if config.kind == "mlp":
    token_embed = config.token_embed
    fixed_values, varying_columns = (), ()
    if (fixed_features is not None and fixed_features.mask.any()
        and not fixed_features.mask.all() and not token_embed):
      fixed_values = tuple(float(v) for v in fixed_features.values.reshape(-1))
      varying_columns = tuple(int(c) for c in np.flatnonzero(~fixed_features.mask.reshape(-1)))
    return MLP(num_actions=num_actions, num_games=len(token_counts), hidden=tuple(config.hidden),
               separate_critic=config.separate_critic,
               token_embed=token_embed, fixed_values=fixed_values,
               varying_columns=varying_columns)
  raise ValueError(f"unknown network kind {config.kind!r} (jaxplay.config.check allows "
                   f"{NETWORKS})")
