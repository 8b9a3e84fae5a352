"""Game trees of small turn-based games, enumerated from the env's own `init_from` and `step`.

Every chance outcome of `env.chance_outcomes()` is a root; then, level by level, every legal
action of the player to move is applied to every live node, in fixed-size jitted, vmapped
batches. A node's depth is the number of actions since its root. Information sets group the
decision nodes of one player by that player's observation (observations are perfect-recall
information states, so this is exact); each information set lives on one level, which lets the
evaluators work level by level with segment sums over contiguous information-set ranges.

The tree is host data (numpy); `DeviceTree` is the same on device, as a pytree, for the
jitted evaluators in `jaxplay.eval.exploitability`, `cfr` and `minimax`.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from jaxplay.core.env import Env
from jaxplay.core.errors import JaxplayError


class TreeError(JaxplayError, ValueError):
  """A game tree cannot be built: the game is too large, simultaneous or stochastic in step,
  or its observations do not separate information sets."""


@dataclasses.dataclass(frozen=True)
class Level:
  """The N nodes at one depth (host arrays). A = num_actions, P = num_players.

  Attributes:
    player: int32[N] player to move; -1 at a terminal node.
    infoset: int32[N] global information-set id; -1 at a terminal node.
    legal: bool[N, A] the mover's legal actions (all False at a terminal node).
    child: int32[N, A] index of the child in the next level; -1 where illegal.
    reward: float32[N, P] rewards of the transition into this node (zero at a root).
    parent: int32[N] index of the parent in the previous level (-1 at a root).
    action: int32[N] the action that led here from the parent (-1 at a root).
    root: int32[N] index of the chance outcome this node descends from.
    states: the env states of the nodes, a pytree of numpy arrays with leading axis N.
  """

  player: np.ndarray
  infoset: np.ndarray
  legal: np.ndarray
  child: np.ndarray
  reward: np.ndarray
  parent: np.ndarray
  action: np.ndarray
  root: np.ndarray
  states: Any

  @property
  def size(self) -> int:
    return int(self.player.shape[0])


@dataclasses.dataclass(frozen=True)
class GameTree:
  """A whole game tree; see the module docstring. I = number of information sets.

  Attributes:
    env: the env it was built from.
    num_players, num_actions: the env's.
    levels: the nodes by depth; levels[0] holds one root per chance outcome.
    chance_outcomes: int32[C, *chance_shape] the roots' chance outcomes.
    chance_probs: float64[C] their probabilities.
    infoset_player: int32[I] who acts at each information set.
    infoset_legal: bool[I, A] its legal actions.
    infoset_observation: int8[I, L, F] the acting player's observation there.
    infoset_level: int32[I] its depth. Ids are ordered by depth, so each level's information
      sets are the contiguous range `infoset_range(depth)`.
    infoset_node: int32[I] index (within its level) of the first node found in it.
  """

  env: Env
  num_players: int
  num_actions: int
  levels: tuple[Level, ...]
  chance_outcomes: np.ndarray
  chance_probs: np.ndarray
  infoset_player: np.ndarray
  infoset_legal: np.ndarray
  infoset_observation: np.ndarray
  infoset_level: np.ndarray
  infoset_node: np.ndarray
  cache: dict = dataclasses.field(default_factory=dict, compare=False, repr=False)

  @property
  def num_infosets(self) -> int:
    return int(self.infoset_player.shape[0])

  @property
  def num_nodes(self) -> int:
    return sum(level.size for level in self.levels)

  def infoset_range(self, depth: int) -> tuple[int, int]:
    """[start, stop) of the information-set ids at `depth`."""
    return (int(np.searchsorted(self.infoset_level, depth, "left")),
            int(np.searchsorted(self.infoset_level, depth, "right")))

  def infoset_state(self, infoset: int) -> Any:
    """The env state (numpy pytree, no batch axis) of the first node of `infoset`."""
    level = self.levels[int(self.infoset_level[infoset])]
    index = int(self.infoset_node[infoset])
    return jax.tree.map(lambda x: x[index], level.states)

  def uniform_policy(self) -> np.ndarray:
    """float32[I, A]: every legal action equally likely."""
    legal = self.infoset_legal.astype(np.float32)
    return legal / legal.sum(axis=1, keepdims=True)

  def device(self, dtype=jnp.float32) -> "DeviceTree":
    """`to_device(dtype)`, made once per dtype and kept on the tree."""
    key = ("device", jnp.dtype(dtype).name)
    if key not in self.cache:
      self.cache[key] = self.to_device(dtype)
    return self.cache[key]

  def to_device(self, dtype=jnp.float32) -> "DeviceTree":
    """The arrays the jitted evaluators read, on the default device."""
    levels = []
    for depth, level in enumerate(self.levels):
      start, stop = self.infoset_range(depth)
      local = np.where(level.infoset >= 0, level.infoset - start, stop - start)
      levels.append(DeviceLevel(
          player=jnp.asarray(level.player),
          local_infoset=jnp.asarray(local.astype(np.int32)),
          legal=jnp.asarray(level.legal),
          child=jnp.asarray(np.maximum(level.child, 0)),
          reward=jnp.asarray(level.reward, dtype),
          parent=jnp.asarray(np.maximum(level.parent, 0)),
          action=jnp.asarray(np.maximum(level.action, 0)),
          chance=jnp.asarray(self.chance_probs[level.root], dtype),
          infoset_start=start,
          num_infosets=stop - start,
      ))
    return DeviceTree(levels=tuple(levels), infoset_legal=jnp.asarray(self.infoset_legal),
                      infoset_player=jnp.asarray(self.infoset_player),
                      num_players=self.num_players)


@struct.dataclass
class DeviceLevel:
  """One level on device (see `Level`); `local_infoset` counts from the level's first
  information set, with `num_infosets` (one past the last) at terminal nodes."""

  player: jax.Array
  local_infoset: jax.Array
  legal: jax.Array
  child: jax.Array
  reward: jax.Array
  parent: jax.Array
  action: jax.Array
  chance: jax.Array  # [N] probability of the node's chance outcome
  infoset_start: int = struct.field(pytree_node=False)
  num_infosets: int = struct.field(pytree_node=False)


@struct.dataclass
class DeviceTree:
  levels: tuple[DeviceLevel, ...]
  infoset_legal: jax.Array
  infoset_player: jax.Array
  num_players: int = struct.field(pytree_node=False)


def build_tree(env: Env, *, max_nodes: int = 2_000_000, batch_size: int = 4096,
               chance: tuple[np.ndarray, np.ndarray] | None = None) -> GameTree:
  """Enumerates the whole game tree of a small turn-based game.

  Args:
    env: a turn-based env whose chance outcomes are all drawn at `init`
      (`env.chance_outcomes()`).
    max_nodes: refuse (TreeError) to build a tree with more nodes than this.
    batch_size: states stepped per jitted call (one compilation per env and size).
    chance: (outcomes int32[C, ...], probs float[C]) to use instead of the env's own.

  Raises:
    TreeError: simultaneous moves, chance inside `step`, more than `max_nodes` nodes, or
      observations that put nodes with different legal actions or depths in one
      information set.
  """
  if env.simultaneous or env.stochastic_step:
    raise TreeError(f"{env.name}: game trees need a turn-based game whose chance is all drawn "
                    "at init (simultaneous moves or chance in step are not supported)")
  outcomes, probs = env.chance_outcomes() if chance is None else chance
  outcomes, probs = np.asarray(outcomes, np.int32), np.asarray(probs, np.float64)
  # Each call also returns its states' reads (computed on the device, once).
  with_reads = lambda state: (state, state.observation, state.legal_action_mask)
  init = _batched(jax.jit(jax.vmap(lambda c: with_reads(env.init_from(c)))), batch_size)
  step = _batched(jax.jit(jax.vmap(lambda s, a: with_reads(env.step(s, a)))), batch_size)

  states, observations, masks = init(outcomes)
  parent = np.full(len(outcomes), -1, np.int32)
  action = np.full(len(outcomes), -1, np.int32)
  root = np.arange(len(outcomes), dtype=np.int32)
  raw_levels, level_observations, total = [], [], 0
  while True:
    total += len(parent)
    done = states.terminated | states.truncated
    player = np.where(done, -1, states.current_player).astype(np.int32)
    legal = masks[np.arange(len(player)), np.maximum(player, 0)]  # all False once done
    node, act = np.nonzero(legal)
    child = np.full(legal.shape, -1, np.int32)
    child[node, act] = np.arange(len(node), dtype=np.int32)
    raw_levels.append(dict(player=player, legal=legal, child=child, parent=parent,
                           action=action, root=root, states=states))
    level_observations.append(observations)
    if not len(node):
      break
    if total + len(node) > max_nodes:
      raise TreeError(f"{env.name}: the game tree has more than max_nodes={max_nodes} nodes; "
                      "use a smaller game (e.g. fewer turns or instances) or raise max_nodes")
    parents = jax.tree.map(lambda x: x[node], states)
    joint = np.repeat(act[:, None], env.num_players, axis=1).astype(np.int32)
    states, observations, masks = step(parents, joint)
    parent, action, root = node.astype(np.int32), act.astype(np.int32), root[node]

  return _with_infosets(env, raw_levels, level_observations, outcomes, probs)


def _with_infosets(env: Env, raw_levels: list[dict], level_observations: list[np.ndarray],
                   outcomes, probs) -> GameTree:
  """Groups decision nodes into information sets by (player, that player's observation;
  `level_observations[depth]`: int8[N, P, L, F])."""
  seen: set[bytes] = set()
  player_of, legal_of, obs_of, level_of, node_of, levels = [], [], [], [], [], []
  for depth, (raw, observation) in enumerate(zip(raw_levels, level_observations)):
    player, legal = raw["player"], raw["legal"]
    infoset = np.full(len(player), -1, np.int32)
    movers = np.nonzero(player >= 0)[0]
    if len(movers):
      own = observation[movers, player[movers]]
      keys = np.concatenate([player[movers, None].view(np.uint8).reshape(len(movers), -1),
                             own.reshape(len(movers), -1).view(np.uint8)], axis=1)
      keys = np.ascontiguousarray(keys).view(np.dtype((np.void, keys.shape[1]))).ravel()
      _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
      order = np.argsort(first)  # number information sets by the node first found in them
      rank = np.empty_like(order)
      rank[order] = np.arange(len(order))
      infoset[movers] = sum(map(len, player_of)) + rank[inverse.ravel()]
      reps = movers[first[order]]
      if not np.array_equal(legal[movers], legal[reps][rank[inverse.ravel()]]) or (
          seen & set(keys[first].tolist())):
        raise TreeError(f"{env.name}: two nodes share a player's observation but differ in "
                        "depth or legal actions; its observations are not perfect-recall "
                        "information states")
      seen.update(keys[first].tolist())
      player_of.append(player[reps])
      legal_of.append(legal[reps])
      obs_of.append(observation[reps, player[reps]])
      level_of.append(np.full(len(reps), depth, np.int32))
      node_of.append(reps.astype(np.int32))
    reward = np.asarray(raw["states"].rewards, np.float32)
    levels.append(Level(infoset=infoset, reward=reward, **raw))
  cat = lambda xs, dtype: np.concatenate(xs).astype(dtype)
  return GameTree(
      env=env, num_players=env.num_players, num_actions=env.num_actions,
      levels=tuple(levels), chance_outcomes=outcomes, chance_probs=probs,
      infoset_player=cat(player_of, np.int32), infoset_legal=cat(legal_of, bool),
      infoset_observation=np.concatenate(obs_of), infoset_level=cat(level_of, np.int32),
      infoset_node=cat(node_of, np.int32))


def _batched(fn, batch_size: int):
  """Applies a vmapped `fn` to host arrays in chunks of exactly `batch_size` (padding the
  last), so it compiles once; returns host arrays."""

  def apply(*args):
    count, size = jax.tree.leaves(args)[0].shape[0], batch_size
    chunks = []
    for start in range(0, count, size):
      piece = jax.tree.map(lambda x: x[start:start + size], args)
      short = size - jax.tree.leaves(piece)[0].shape[0]
      if short:
        piece = jax.tree.map(lambda x: np.concatenate([x, np.repeat(x[:1], short, 0)]), piece)
      chunks.append(jax.device_get(fn(*piece)))
    out = jax.tree.map(lambda *xs: np.concatenate(xs)[:count], *chunks)
    return out

  return apply
