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
  layer reads L x k inputs instead of L x F (Overcooked: F = 24 features a cell).

`make_network(config, num_actions, token_counts)` builds either from a config.
"""

from __future__ import annotations

from typing import Any, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from jaxplay.core.errors import ConfigError

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

  @nn.compact
  def __call__(self, observation: jax.Array, game: jax.Array):
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

  @nn.compact
  def __call__(self, observation: jax.Array, game: jax.Array):
    x = observation.astype(jnp.float32)
    if self.token_embed:  # one linear map shared by every token, before flattening
      x = nn.Dense(self.token_embed, name="token_embed")(x)
    x = x.reshape(x.shape[0], -1)
    if self.num_games > 1:
      x = jnp.concatenate([x, nn.Embed(self.num_games, 16, name="game")(game)], axis=-1)
    actor = _tanh_layers(x, self.hidden, "actor")
    critic = _tanh_layers(x, self.hidden, "critic") if self.separate_critic else actor
    return _policy_head(actor, self.num_actions), _value_head(critic)


def _tanh_layers(x: jax.Array, sizes: Sequence[int], name: str) -> jax.Array:
  for i, size in enumerate(sizes):
    x = nn.tanh(nn.Dense(size, kernel_init=nn.initializers.orthogonal(2 ** 0.5),
                         name=f"{name}_{i}")(x))
  return x


def _value_head(features: jax.Array) -> jax.Array:
  return nn.Dense(1, kernel_init=nn.initializers.orthogonal(1.0), name="value")(features)[..., 0]


def _policy_head(features: jax.Array, num_actions: int) -> jax.Array:
  """Logits [B, A]; small at first, so the first policy is near uniform."""
  return nn.Dense(num_actions, kernel_init=nn.initializers.orthogonal(0.01),
                  name="policy")(features)


def _heads(features: jax.Array, num_actions: int):
  return _policy_head(features, num_actions), _value_head(features)


def make_network(config: Any, num_actions: int, token_counts: Sequence[int]) -> nn.Module:
  """A network from `config` (ml_collections; fields `kind` and that kind's sizes).

  Args:
    config: kind "transformer" (width, depth, heads, mlp_ratio) or "mlp" (hidden,
      separate_critic, token_embed).
    num_actions: A, the (padded) number of actions.
    token_counts: per game, its own number of observation tokens (games are padded to the
      longest).
  """
  if config.kind == "transformer":
    for field in ("width", "depth", "heads", "mlp_ratio"):
      if not isinstance(config[field], int) or config[field] < 1:
        raise ConfigError(f"network.{field} must be a positive int, got {config[field]!r}")
    if config.width % config.heads:
      raise ConfigError(f"network.width ({config.width}) must be a multiple of network.heads "
                        f"({config.heads})")
    return Transformer(num_actions=num_actions, token_counts=tuple(token_counts),
                       width=config.width, depth=config.depth, heads=config.heads,
                       mlp_ratio=config.mlp_ratio)
  if config.kind == "mlp":
    hidden = tuple(config.hidden)
    if not hidden or not all(isinstance(h, int) and h > 0 for h in hidden):
      raise ConfigError(f"network.hidden must be a non-empty list of positive ints, got "
                        f"{config.hidden!r}")
    token_embed = config.get("token_embed", 0)
    if not isinstance(token_embed, int) or token_embed < 0:
      raise ConfigError(f"network.token_embed must be an int >= 0, got {token_embed!r}")
    return MLP(num_actions=num_actions, num_games=len(token_counts), hidden=hidden,
               separate_critic=bool(config.get("separate_critic", False)),
               token_embed=token_embed)
  raise ConfigError(f"network.kind must be one of {NETWORKS}, got {config.kind!r}")
