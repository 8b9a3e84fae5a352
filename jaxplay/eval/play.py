"""The play loop: B games with agents in their seats, one jitted `lax.scan` over steps.

    played = play(env, (learner, random_agent()), seats, key, num_steps)
    played.returns                                # float32[B, P]

`seats` int32[B, P] says which agent plays seat p of game b: a population matchmaker's
`members` map, `seat_map(B, range(P))` for one agent per seat, zeros for self-play. Every
agent acts once per step over all the actors of all the games (`jaxplay.agents.agent.Actors`:
the player to move, or every seat of a simultaneous game), and each actor takes the action of
the agent in its seat: the training rollout's rule (`jaxplay.learn.rollout.member_forward`).
Agents' act functions are static and their params are data, so one compiled program serves
every checkpoint and every seat map of a shape. Matches, self-play evaluation, episodes for
rendering and the random-play benchmark all run this loop.

Games start from `env.init`, or on a minimax `Solution`'s tree (`solution=`: roots drawn by
their probabilities, each game's node followed for `perfect_agent`). A finished game stays as
it is (zero rewards), unless the env restarts games itself (`AutoReset`).

What comes back is asked for by name (`record`, static); nothing else is computed:

  returns         float32[B, P]     each seat's sum of rewards
  shaped_returns  float32[B, P]     each seat's sum of `shaped_rewards`
  states          states [T + 1, B] the initial states, then the states after each step
  actions         int32[T, B, P]    the joint actions played (turn-based games: the mover's
                                    action in every seat)
  rewards         float32[T, B, P]  each step's rewards
  ends            bool[T, B]        whether the step ended the game
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from jaxplay.agents.agent import Agent, actors
from jaxplay.agents.policy import split_keys

# What `record` may name: sums over the steps (of a state field), and per-step stacks.
SUMS = {"returns": "rewards", "shaped_returns": "shaped_rewards"}
STACKS = ("states", "actions", "rewards", "ends")


class Played(NamedTuple):
  """What `play` returns: the final states [B] and the records asked for (None otherwise;
  shapes in the module docstring)."""

  final: Any
  returns: jax.Array | None = None
  shaped_returns: jax.Array | None = None
  states: Any = None
  actions: jax.Array | None = None
  rewards: jax.Array | None = None
  ends: jax.Array | None = None


class Tree(NamedTuple):
  """A minimax `Solution`'s tables that games played on its tree need: child int32[N, A],
  root_probs float32[C], chance_outcomes int32[C, ...]."""

  child: jax.Array
  root_probs: jax.Array
  chance_outcomes: jax.Array


def seat_map(num_games: int, agent_of_seat: Sequence[int]) -> jax.Array:
  """int32[num_games, P]: the same agent index in seat p of every game."""
  return jnp.broadcast_to(jnp.asarray(agent_of_seat, jnp.int32),
                          (num_games, len(agent_of_seat)))


def play(env: Any, agents: Sequence[Agent], seats: jax.Array, key: jax.Array,
         num_steps: int, *, solution: Any = None,
         record: Sequence[str] = ("returns",)) -> Played:
  """Plays B games for `num_steps` steps, `agents[seats[b, p]]` in seat p of game b.

  Args:
    env: a game, wrapped or not (an `AutoReset` env restarts finished games).
    agents: the agents (static act functions, params as data).
    seats: int32[B, P] agent indices.
    solution: a minimax `Solution`: play on its tree (see the module docstring).
    record: names from the module docstring.

  Raises:
    ValueError: seats not [B, P], an agent index out of range (checked when seats are
      concrete), or an unknown record name.
  """
  agents = tuple(agents)
  if jnp.ndim(seats) != 2 or jnp.shape(seats)[1] != env.num_players:
    raise ValueError(f"{env.name}: seats must be int32[B, {env.num_players}] (an agent index "
                     f"per game and seat), got shape {jnp.shape(seats)}")
  if not isinstance(seats, jax.core.Tracer):  # concrete: the indices can be checked
    indices = np.unique(np.asarray(seats))
    if indices.size and (indices[0] < 0 or indices[-1] >= len(agents)):
      raise ValueError(f"seats name agents 0..{len(agents) - 1} only, got {indices}")
  seats = jnp.asarray(seats, jnp.int32)
  unknown = set(record) - set(SUMS) - set(STACKS)
  if unknown:
    raise ValueError(f"play records {sorted(SUMS) + list(STACKS)}, not {sorted(unknown)}")
  tree = None if solution is None else Tree(
      jnp.asarray(solution.child), jnp.asarray(solution.root_probs, jnp.float32),
      jnp.asarray(solution.chance_outcomes))
  return _play(env, tuple(agent.act for agent in agents), num_steps, tuple(sorted(record)),
               tuple(agent.params for agent in agents), seats, tree, key)


def episode(env: Any, agent: Agent, key: jax.Array, num_steps: int) -> Any:
  """One game with `agent` in every seat, as states [num_steps + 1] along time (the initial
  state first; a finished game repeats its last state), e.g. for rendering."""
  seats = jnp.zeros((1, env.num_players), jnp.int32)
  played = play(env, (agent,), seats, key, num_steps, record=("states",))
  return jax.tree.map(lambda x: x[:, 0], played.states)


@functools.partial(jax.jit, static_argnums=(0, 1, 2, 3))
def _play(env, acts, num_steps, record, params, seats, tree, key) -> Played:
  num_games = seats.shape[0]
  init_key, key = jax.random.split(key)
  states, nodes = _start(env, tree, init_key, num_games)
  sums = {name: jnp.zeros(seats.shape, jnp.float32) for name in SUMS if name in record}
  off_tree = jnp.full((num_games,), -1, jnp.int32)

  def move(carry, step_key):
    states, nodes, sums = carry
    env_key, *agent_keys = split_keys(step_key, len(acts) + 1)
    now = actors(states, env.simultaneous, off_tree if nodes is None else nodes)
    action = seated_actions(acts, params, agent_keys, now, seats)       # [B, K]
    joint = jnp.broadcast_to(action, seats.shape)  # turn-based: K = 1, read by the mover
    keyed = env.stochastic_step or env.auto_resets  # static: other steps draw nothing
    after = jax.vmap(env.step)(states, joint, split_keys(env_key, num_games) if keyed else None)
    if nodes is not None:
      live = ~(states.terminated | states.truncated)
      nodes = jnp.where(live, tree.child[nodes, action[:, 0]], nodes)
    sums = {name: total + getattr(after, SUMS[name]) for name, total in sums.items()}
    stacks = {"states": after, "actions": joint, "rewards": after.rewards,
              "ends": after.terminated | after.truncated}
    return (after, nodes, sums), {name: stacks[name] for name in STACKS if name in record}

  (final, _, sums), stacks = jax.lax.scan(move, (states, nodes, sums),
                                          split_keys(key, num_steps))
  if "states" in stacks:
    stacks["states"] = jax.tree.map(lambda first, rest: jnp.concatenate([first[None], rest]),
                                    states, stacks["states"])
  return Played(final, **sums, **stacks)


def _start(env, tree: Tree | None, key: jax.Array, num_games: int):
  """The B games' first states and their nodes on the tree (None off a tree)."""
  if tree is None:
    return jax.vmap(env.init)(jax.random.split(key, num_games)), None
  nodes = jax.random.categorical(key, jnp.log(tree.root_probs), shape=(num_games,))
  return jax.vmap(env.init_from)(tree.chance_outcomes[nodes]), nodes


def seated_actions(acts, params, keys, now, seats: jax.Array) -> jax.Array:
  """int32[B, K]: every agent's actions over all actors `now` (`Actors` [B, K]), each actor's
  taken from the agent in its seat (`seats` int32[B, P] indices into acts, params and keys:
  the agents' act functions, their params and a PRNG key each). Also the training rollout's
  rule for scripted partners (`jaxplay.learn.rollout`)."""
  actions = [act(p, k, now) for act, p, k in zip(acts, params, keys)]
  if len(actions) == 1:
    return actions[0]
  agent = jnp.take_along_axis(seats, now.seat, axis=1)                  # [B, K]
  return jnp.take_along_axis(jnp.stack(actions), agent[None], axis=0)[0]
