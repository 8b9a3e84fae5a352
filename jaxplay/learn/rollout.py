"""Rollouts: `lax.scan` over steps of a batch of games, `vmap` over games, every acting seat's
action from one forward pass of the network.

Only seats that act are run through the network: in a turn-based game that is the player to
move (K = 1 actor slot per game, half or a third of the work of running every seat), in a
simultaneous game every seat (K = P). Rewards are recorded for every seat, so that each seat's
advantages can follow its own decisions (`advantages.seat_gae`).

Self-play runs one parameter set for every seat. A population runs stacked parameters
[N, ...] with a seat -> member map `members int32[B, P]` (fixed for the rollout; a game slot
that restarts keeps its seats' members): every member's forward pass runs over the step's
actors and each actor takes its own member's output (`member_forward`; no copy of the
parameters is gathered per game). The trajectory records each actor's member, so that each
learning member learns from its own decisions only.

Scripted partners (`scripted`: S agents, `jaxplay.agents.agent.Agent`, e.g. the Overcooked
partners of `jaxplay.agents.scripted`) take the member ids N .. N + S - 1 after the N network
members: an actor whose member is N + j takes agent j's action (its `act` over the step's
`Actors`, combined by seat as the play loop does, `jaxplay.eval.play.seated_actions`), or,
with `scripted_share` s < 1, only where a draw per actor and step falls under s, the others
taking the action sampled from their network (E3T's partner, Yan et al. 2023: with one
network member, the learner's own policy mixed with a scripted one). The network's forward
pass still runs for it (as member min(id, N - 1): no branch on data), so its
recorded logits, value and log_prob are that network's, of the scripted action: unused, since
no learner has a scripted member id (its samples weigh 0 in a population's update), but finite
(masked logits are finite). The recorded `member` is the scripted id.

With `member_noise` (float32[N], a probability per member), an actor of member n takes a
uniformly random legal action instead of its own at a share member_noise[n] of its steps,
drawn per actor and step (E3T's mixture for a population's frozen partners; a population's
learners get 0); like a scripted action, the recorded logits, value and log_prob stay the
member's own, unused by a learner that is not that member.

Frozen members may play from policy tables instead (`tables`, `jaxplay.learn.tabular`: PSRO
on a game whose tree is built): `params` are then only the learners' stacked parameters, each
member slot names its network among them (`MemberTables.network`), and an actor whose member
uses its table takes its action from the table's row of its information set (the network's
forward pass runs for it too, as a learner's: its recorded value is that network's, unused).

Shapes: T steps, B games, K actor slots, P seats, N members, L x F padded tokens, A padded
actions.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple, Sequence

import jax
import jax.numpy as jnp
from flax import struct

from jaxplay.agents import agent as agent_lib
from jaxplay.agents.policy import masked_logits, sample_actions, split_keys
from jaxplay.core import chance
from jaxplay.core.random_actions import random_legal_actions
from jaxplay.eval.play import seated_actions
from jaxplay.learn import tabular
from jaxplay.learn.game_set import GameSet


class Model(NamedTuple):
  """How a rollout runs a network (`jaxplay.agents.networks`).

  Attributes:
    inputs: observations int8[N, L, F] -> the network's inputs [N, ...] (parameter-free;
      what a trajectory records).
    apply: (params, inputs [N, ...], game int32[N]) -> (logits [N, A], values [N]).
  """

  inputs: Callable[[jax.Array], jax.Array]
  apply: Callable[[Any, jax.Array, jax.Array], tuple[jax.Array, jax.Array]]


@struct.dataclass
class Trajectory:
  """What a rollout records, time-major.

  Attributes:
    inputs: [T, B, K, ...] the network's inputs (`Model.inputs`) of each actor's padded
      observation before the step.
    legal: bool[T, B, K, A] its legal actions then.
    seat: int32[T, B, K] which seat each actor slot is.
    member: int32[T, B, K] which population member acted there (0 in self-play).
    acted: bool[T, B, K] the slot had a legal move (always, in a live game).
    action: int32[T, B, K] the action it sampled.
    log_prob: float32[T, B, K] its log-probability under the acting parameters.
    logits: float32[T, B, K, A] the acting policy's masked logits.
    value: float32[T, B, K] the actor's value estimate.
    reward: float32[T, B, P] every seat's training reward of the step (scaled, shaped).
    done: bool[T, B] the step ended the game (a new one starts at t + 1).
    bootstrap: float32[T, B, P] where a game was cut by a time limit (and bootstrapping is
      on): each seat's value of the observation it was cut at; 0 elsewhere.
    episode_return: float32[T, B, P] the game's raw (unscaled, unshaped) return where `done`.
    episode_length: int32[T, B] its length where `done`.
  """

  inputs: jax.Array
  legal: jax.Array
  seat: jax.Array
  member: jax.Array
  acted: jax.Array
  action: jax.Array
  log_prob: jax.Array
  logits: jax.Array
  value: jax.Array
  reward: jax.Array
  done: jax.Array
  bootstrap: jax.Array
  episode_return: jax.Array
  episode_length: jax.Array


def forward(model: Model, params: Any, observation: jax.Array, game: int):
  """Logits [..., A], values [...] and network inputs [..., *] of observations [..., L, F]
  of game `game`, in one batched forward pass."""
  lead = observation.shape[:-2]
  inputs = model.inputs(observation.reshape((-1,) + observation.shape[-2:]))
  logits, value = model.apply(params, inputs, jnp.full(inputs.shape[:1], game, jnp.int32))
  return (logits.reshape(lead + logits.shape[-1:]), value.reshape(lead),
          inputs.reshape(lead + inputs.shape[1:]))


def member_forward(model: Model, params: Any, observation: jax.Array, game: int,
                   member: jax.Array | None):
  """`forward` of actors [..., L, F], each by its own member: with `member` None, `params` is
  one network's; otherwise `params` are stacked [N, ...] and `member` int32[...] says which
  member plays each actor. The actors are grouped by member (`grouped_apply`): about two
  passes of the batch whatever N, and no copy of the parameters per actor."""
  if member is None:
    return forward(model, params, observation, game)
  num_members = jax.tree.leaves(params)[0].shape[0]
  if num_members == 1:
    return forward(model, jax.tree.map(lambda x: x[0], params), observation, game)
  lead = observation.shape[:-2]
  inputs = model.inputs(observation.reshape((-1,) + observation.shape[-2:]))
  apply = lambda p, x: model.apply(p, x, jnp.full(x.shape[:1], game, jnp.int32))
  logits, value = grouped_apply(apply, params, inputs, member.reshape(-1))
  return (logits.reshape(lead + logits.shape[-1:]), value.reshape(lead),
          inputs.reshape(lead + inputs.shape[1:]))


def grouped_apply(apply: Callable, params: Any, inputs: jax.Array, member: jax.Array,
                  chunk: int | None = None):
  """`apply(params[member[x]], inputs[x])` for every row x of inputs [X, ...], with stacked
  params [N, ...] and member int32[X], computed by groups instead of per row.

  The rows are sorted by member and each member's run is padded to whole chunks of `chunk`
  rows (default ceil(X / N)), so that every chunk belongs to one member: the chunks run as
  one vmapped apply, each with its member's parameters (gathered once per chunk). At most
  k = min(N, X) members have rows, each padding fewer than `chunk` rows, so
  (X + k * (chunk - 1)) // chunk chunks (static) always suffice: at most two passes of the
  batch by default whatever the members' shares, one when members outnumber rows (a large
  frozen pool playing a small batch), against N passes for running every member over every
  row. Returns apply's outputs, in the rows' order.
  """
  num_rows, num_members = member.shape[0], jax.tree.leaves(params)[0].shape[0]
  chunk = chunk or -(-num_rows // num_members)
  num_chunks = (num_rows + min(num_members, num_rows) * (chunk - 1)) // chunk
  order = jnp.argsort(member, stable=True)
  counts = jnp.bincount(member, length=num_members)
  padded = -(-counts // chunk) * chunk                         # each member's rows, padded
  start = jnp.cumsum(counts) - counts                          # first sorted row per member
  padded_start = jnp.cumsum(padded) - padded                   # first padded row per member
  sorted_member = member[order]
  slot = padded_start[sorted_member] + jnp.arange(num_rows) - start[sorted_member]  # [X]
  rows = jnp.zeros((num_chunks * chunk,) + inputs.shape[1:], inputs.dtype).at[slot].set(
      inputs[order])
  chunk_start = jnp.arange(num_chunks) * chunk
  chunk_member = jnp.clip(jnp.searchsorted(padded_start + padded, chunk_start, side="right"),
                          0, num_members - 1)               # padding past the end: any member
  chunk_params = jax.tree.map(lambda x: x[chunk_member], params)
  outputs = jax.vmap(apply)(chunk_params, rows.reshape((num_chunks, chunk) + inputs.shape[1:]))
  unsort = jnp.zeros_like(order).at[order].set(jnp.arange(num_rows))
  return jax.tree.map(
      lambda y: y.reshape((num_chunks * chunk,) + y.shape[2:])[slot][unsort], outputs)


def seat_members(members: jax.Array | None, seat: jax.Array) -> jax.Array | None:
  """int32[B, K]: the member in each actor's seat (`members` int32[B, P], seat int32[B, K]),
  or None in self-play."""
  if members is None:
    return None
  return jnp.take_along_axis(members, seat, axis=1)


def actors(games: GameSet, game: int, states: Any):
  """(observation [B, K, L, F], legal [B, K, A], seat int32[B, K]) of the seats that act now."""
  observation = games.pad_observation(states.observation)   # [B, P, L, F]
  legal = games.pad_legal(states.legal_action_mask)         # [B, P, A]
  num_players = legal.shape[1]
  if games.actor_slots(game) == num_players:
    seat = jnp.broadcast_to(jnp.arange(num_players, dtype=jnp.int32), legal.shape[:2])
    return observation, legal, seat
  seat = jnp.maximum(states.current_player, 0).astype(jnp.int32)[:, None]        # [B, 1]
  pick = lambda x: jnp.take_along_axis(x, seat.reshape(seat.shape + (1,) * (x.ndim - 2)), 1)
  return pick(observation), pick(legal), seat


def joint_action(action: jax.Array, seat: jax.Array, num_players: int) -> jax.Array:
  """int32[B, P]: the env's joint action from the actors' actions [B, K] (a turn-based game
  reads only the mover's entry, so its one action goes to every seat)."""
  if action.shape[1] == num_players:
    return action
  return jnp.broadcast_to(action, action.shape[:1] + (num_players,))


def rollout(games: GameSet, game: int, model: Model, params: Any, states: Any,
            key: jax.Array, num_steps: int, *, shaping: jax.Array | float = 0.0,
            bootstrap_truncated: bool = True, members: jax.Array | None = None,
            scripted: Sequence[agent_lib.Agent] = (),
            tables: tabular.MemberTables | None = None, first_game: jax.Array | None = None,
            scripted_share: float = 1.0, member_noise: jax.Array | None = None):
  """Plays `num_steps` steps of game `game` in the B games `states` (wrapped envs).

  Args:
    params: one network's parameters (self-play), or with `members` a population's stacked
      parameters [N, ...].
    members: int32[B, P] the member in each seat of each game (see the module docstring);
      with `scripted`, ids N .. N + S - 1 are the scripted partners.
    scripted: S scripted agents (static act functions, their params baked into the program),
      members N .. N + S - 1 (see the module docstring); needs `members`.
    scripted_share: the probability (static) that a scripted partner's actor takes its
      agent's action at a step, drawn per actor and step; otherwise it takes the action
      sampled from the network run for it (see the module docstring). 1: always scripted.
    member_noise: float32[N] per network member the probability that its actor takes a
      uniformly random legal action at a step (see the module docstring); needs `members`.
      None: never (nothing drawn).
    tables: frozen members' policy tables (see the module docstring); needs `members`, and
      `params` are the networks the tables name (`MemberTables.network`).
    shaping: weight of the env's `shaped_rewards` (games that declare them) added to its
      rewards.
    bootstrap_truncated: record the values of games cut by a time limit (`Trajectory.bootstrap`).
    first_game: the B games are games first_game .. first_game + B - 1 of a larger batch
      played with the same key (one device's block of a batch cut over devices): every
      random draw (actions, the games' keys) is that batch's draw for these games, so the
      block plays as it would in the whole batch. None: the batch is whole. Not with
      `scripted` (their agents draw for the batch they see).

  Returns:
    (states after the rollout, Trajectory, last value float32[B, P] of every seat's current
    observation, last_decides bool[B, P]: whether that observation is one the seat acts on).
  """
  env = games.envs[game]
  num_players = games.raw[game].num_players
  scale = games.reward_scales[game]
  shaped_game = games.raw[game].has_shaped_rewards
  step = jax.vmap(env.step)
  scripted = tuple(scripted)
  if (scripted or tables is not None) and members is None:
    raise ValueError("rollout: scripted partners and member tables need members")
  if scripted and tables is not None:
    raise ValueError("rollout: scripted partners and member tables do not mix")
  if member_noise is not None and members is None:
    raise ValueError("rollout: member_noise needs members")
  if scripted and first_game is not None:
    raise ValueError("rollout: scripted partners play whole batches (first_game None)")
  num_members = None if members is None else jax.tree.leaves(params)[0].shape[0]
  network_members = (tables.network[members] if tables is not None
                     else jnp.minimum(members, num_members - 1) if scripted else members)

  def one_step(states, step_key):
    action_key, env_key, *scripted_keys = split_keys(step_key, 2 + len(scripted))
    observation, legal, seat = actors(games, game, states)
    member = seat_members(members, seat)
    logits, value, inputs = member_forward(model, params, observation, game,
                                           seat_members(network_members, seat))
    if tables is not None:  # static
      logits = jnp.where(tables.use_table[member][..., None],
                         tabular.table_logits(tables, member, observation), logits)
    logits = masked_logits(logits, legal)
    action = sample_actions(action_key, logits, first_game)
    if member_noise is not None:  # static
      action = _with_noise(member_noise, member, legal, action, action_key, first_game)
    if scripted:  # static
      action = _with_scripted_actions(env, scripted, scripted_keys, states, members,
                                      num_members, member, action, scripted_share,
                                      action_key)
    after = step(states, joint_action(action, seat, num_players),
                 split_keys(env_key, action.shape[0], first_game))
    reward = after.rewards
    if shaped_game:  # static: games without shaping skip the add
      reward = reward + shaping * after.shaped_rewards
    cut = after.truncated & ~after.terminated
    record = Trajectory(  # log_prob and acted are filled in after the scan, all steps at once
        inputs=inputs, legal=legal, seat=seat,
        member=jnp.zeros_like(seat) if member is None else member, acted=None, action=action,
        log_prob=None, logits=logits, value=value,
        reward=reward * scale, done=after.terminated | after.truncated,
        bootstrap=_cut_values(games, game, model, params, network_members, after, cut,
                              bootstrap_truncated),
        episode_return=after.returned_episode_return,
        episode_length=after.returned_episode_length)
    return after, record

  states, trajectory = jax.lax.scan(one_step, states, split_keys(key, num_steps))
  log_probs = jax.nn.log_softmax(trajectory.logits)
  trajectory = trajectory.replace(
      acted=trajectory.legal.any(-1),
      log_prob=jnp.take_along_axis(log_probs, trajectory.action[..., None], -1)[..., 0])
  observation = games.pad_observation(states.observation)
  _, last_value, _ = member_forward(model, params, observation, game, network_members)
  return states, trajectory, last_value, states.legal_action_mask.any(-1)


def _with_scripted_actions(env, scripted, keys, states, members: jax.Array, num_members: int,
                           member: jax.Array, action: jax.Array, share: float = 1.0,
                           action_key: jax.Array | None = None) -> jax.Array:
  """int32[B, K]: the network actions `action` [B, K], with the actors whose member (`member`
  int32[B, K]) is a scripted id N + j (N = num_members) taking scripted agent j's action
  (`keys`: one PRNG key per agent; `members` int32[B, P] each seat's member), each with
  probability `share` (static), else keeping the network's; the draw's key is folded off the
  step's `action_key`, so the network's samples are those of a rollout without the draw."""
  now = agent_lib.actors(states, env.simultaneous,
                         jnp.full(members.shape[:1], -1, jnp.int32))  # off a tree
  which = jnp.clip(members - num_members, 0, len(scripted) - 1)       # [B, P]
  chosen = seated_actions(tuple(a.act for a in scripted), tuple(a.params for a in scripted),
                          keys, now, which)
  scripted_here = member >= num_members
  if share < 1.0:  # static: a share of 1 draws nothing
    draw = chance.open_unit_float(chance.key_bits(jax.random.fold_in(action_key, 1),
                                                   member.shape))
    scripted_here &= draw < share
  return jnp.where(scripted_here, chosen, action)


def _with_noise(member_noise: jax.Array, member: jax.Array, legal: jax.Array,
                action: jax.Array, action_key: jax.Array,
                first_game: jax.Array | None) -> jax.Array:
  """int32[B, K]: the actions `action` [B, K], each actor of network member n (`member`
  int32[B, K]; scripted ids >= N get none) taking a uniformly random legal action (`legal`
  bool[B, K, A]) with probability member_noise[n]; the draws' keys are folded off the step's
  `action_key` (2 and 3), so the network's samples are those of a rollout without them."""
  num_members = member_noise.shape[0]
  share = jnp.where(member < num_members,
                    member_noise[jnp.minimum(member, num_members - 1)], 0.0)
  draw = chance.open_unit_float(chance.key_bits(jax.random.fold_in(action_key, 2),
                                                member.shape, first_game))
  uniform = random_legal_actions(jax.random.fold_in(action_key, 3), legal, first_game)
  return jnp.where(draw < share, uniform, action)


def _cut_values(games, game, model, params, members, after, cut, enabled: bool) -> jax.Array:
  """float32[B, P]: every seat's value of the observation a time limit cut its game at (zero
  for games not cut); the forward pass runs only on steps where some game was cut."""
  zeros = jnp.zeros(after.rewards.shape, jnp.float32)
  if not enabled or not hasattr(after, "final_observation"):
    return zeros

  def values(_):
    _, value, _ = member_forward(model, params, games.pad_observation(after.final_observation),
                                 game, members)
    return jnp.where(cut[:, None], value, 0.0)

  return jax.lax.cond(cut.any(), values, lambda _: zeros, None)
