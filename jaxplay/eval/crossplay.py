"""Cross-play (zero-shot coordination): A agents against M partners, every pair, both seats.

    learner = Learner(get_config())                       # experiments/configs/overcooked.py
    stack = lambda *trees: jax.tree.map(lambda *x: jnp.stack(x), *trees)
    agents = stack(*[learner.init(seed).params for seed in range(4)])        # [A, ...]
    env = learner.games.raw[0]
    result = cross_play(env, learner, agents, key, partners=agents,          # [M1, ...]
                        scripted=(independent_cook(env), static_partner()),  # M2 Agents
                        num_games=64)
    result.returns                               # float32[A, M]     M = M1 + M2
    result.returns_by_seat                       # float32[A, M, 2]  by the agent's seat
    print(format_table(result.returns, agent_names, partner_names))
    standard_errors(result.game_returns)         # float32[A, M]: of each mean, over its games
    itself = partner_self_play(env, learner, key, partners=agents, scripted=(...), num_games=64)
    itself.returns                               # float32[1, M]: each partner with a copy of
                                                 # itself (a lower bound on its best response)
    plot_crossplay(normalized(result.returns, bound), "crossplay.png", agent_names,
                   partner_names)

Agents are networks of one policy (`ProbsFn`, e.g. a `Learner`'s) with stacked parameters
[A, ...]; partners are networks of the same policy and structure [M1, ...] (columns 0..M1-1)
and scripted `Agent`s (`jaxplay.agents.scripted`; columns M1..M-1). Each (agent, partner) pair
plays G = `num_games` games on the play loop (`jaxplay.eval.play`): games 0..G/2-1 with the
agent in seat 0, games G/2..G-1 with the agent in seat 1, `num_steps` steps each (default the
env's horizon, `env.max_episode_steps`). A pair's return is the mean over its games of the
agent's seat's sum of rewards (Overcooked: the sparse delivery reward, the same for both
cooks).

Everything runs as one compiled program. Agents and network partners are one population agent
(`population_agent`: the stacks concatenated, a member per seat of every game, actors grouped
by member for the forward pass: `jaxplay.learn.rollout.grouped_apply`), and the games are
played in groups: the A x M1 network pairs together, then the A pairs of each scripted
partner (that partner is the play loop's second agent there, so its act runs over its own
games only). A group's pairs are played in chunks of at most `max_games_per_chunk` games (at
least one pair's games a chunk), one after another (`lax.map`).

Keys: the network group's key is `jax.random.fold_in(key, 0)`, scripted partner j's
`jax.random.fold_in(key, 1 + j)` (so a group's games do not change with the other groups). A
group played in one chunk uses its key as `play`'s key; in C > 1 chunks chunk c uses
`jax.random.split(group_key, C)[c]`. Games of a chunk are ordered pair by pair
(network group: agent-major, (a, m) for a < A, m < M1; a scripted group: a < A), G games a
pair, seats as above. Greedy networks and a deterministic env (Overcooked) give results that
no key changes; sampled policies and scripted partners' random draws depend on the keys, so
also on the chunking.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import pathlib
from typing import Any, Callable, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from jaxplay.agents.agent import Agent, choose_actions
from jaxplay.core.errors import ConfigError, is_int
from jaxplay.eval.play import play
from jaxplay.learn.rollout import grouped_apply, seat_members

# (params, observation int8[N, L, F], legal bool[N, A]) -> probabilities float32[N, A]
ProbsFn = Callable[[Any, jax.Array, jax.Array], jax.Array]


class CrossPlay(NamedTuple):
  """What `cross_play` returns (A agents, M = M1 + M2 partners, G games a pair).

  Attributes:
    returns: float32[A, M] the agent's mean return against each partner, both seats pooled.
    returns_by_seat: float32[A, M, 2] the same by the agent's seat.
    game_returns: float32[A, M, G] the agent's return in each game (games 0..G/2-1: the
      agent in seat 0).
  """

  returns: jax.Array
  returns_by_seat: jax.Array
  game_returns: jax.Array


class PopulationParams(NamedTuple):
  """A population agent's data: stacked network params [N, ...] and members int32[B, P] (the
  member in each seat of each game)."""

  stacked: Any
  members: jax.Array


@dataclasses.dataclass(frozen=True)
class LearnerPolicy:
  """`Learner.policy_probs` of game `game` as a `ProbsFn`; equal for an equal (learner,
  game), so that cross-play calls with it share one compiled program."""

  learner: Any
  game: int = 0

  def __call__(self, params, observation: jax.Array, legal: jax.Array) -> jax.Array:
    return self.learner.policy_probs(params, observation, legal, self.game)


def population_probs(probs_fn: ProbsFn, stacked: Any, observation: jax.Array,
                     legal: jax.Array, member: jax.Array) -> jax.Array:
  """float32[X, A]: `probs_fn(stacked[member[x]], observation[x], legal[x])` for every row x of
  observation [X, L, F], legal [X, A], member int32[X], by groups of rows of one member
  (`grouped_apply`: no copy of the parameters per row)."""
  if jax.tree.leaves(stacked)[0].shape[0] == 1:
    return probs_fn(jax.tree.map(lambda x: x[0], stacked), observation, legal)
  apply = lambda params, rows: probs_fn(params, observation[rows], legal[rows])
  return grouped_apply(apply, stacked, jnp.arange(member.shape[0]), member)


@dataclasses.dataclass(frozen=True)
class _PopulationAct:
  """A population agent's act; equal for equal (probs_fn, greedy): one compiled loop."""

  probs_fn: ProbsFn
  greedy: bool

  def __call__(self, params: PopulationParams, key, actors):
    member = seat_members(params.members, actors.seat).reshape(-1)     # [B * K]
    observation = actors.observation.reshape((-1,) + actors.observation.shape[2:])
    legal = actors.legal.reshape((-1,) + actors.legal.shape[2:])
    probs = population_probs(self.probs_fn, params.stacked, observation, legal, member)
    return choose_actions(key, probs, legal, self.greedy).reshape(actors.legal.shape[:2])


def population_agent(probs_fn: ProbsFn, stacked: Any, members: jax.Array,
                     greedy: bool = False) -> Agent:
  """An Agent of N networks of one policy (stacked params [N, ...]): each actor plays the
  network of the member in its seat (members int32[B, P]), its most likely legal action if
  `greedy`, else a sample (`choose_actions`)."""
  return Agent(_PopulationAct(probs_fn, greedy), PopulationParams(stacked, members))


def cross_play(env: Any, policy: ProbsFn | Any, agents: Any, key: jax.Array, *,
               partners: Any = None, scripted: Sequence[Agent] = (), num_games: int,
               num_steps: int | None = None, greedy: bool = False,
               max_games_per_chunk: int = 4096) -> CrossPlay:
  """Plays every agent against every partner, `num_games` games a pair (module docstring).

  Args:
    env: a two-player game (unwrapped: a finished game stays finished).
    policy: a `ProbsFn`, or a `Learner` (its game 0's policy: `LearnerPolicy`).
    agents: stacked network params [A, ...].
    partners: stacked network params [M1, ...] of the agents' structure, or None (M1 = 0).
    scripted: M2 partner Agents.
    num_games: G games a pair, even (half in each seat).
    num_steps: steps a game; default `env.max_episode_steps`.
    greedy: the networks play their most likely legal action instead of sampling.
    max_games_per_chunk: the most games played at once (see the module docstring).

  Returns:
    CrossPlay: returns float32[A, M], returns_by_seat float32[A, M, 2], game_returns
    float32[A, M, G], partners in the order (networks, scripted).

  Raises:
    ConfigError: an odd or non-positive num_games, no partner, partners' params of another
      structure than the agents', a scripted partner that is not an Agent, a game that is not
      two-player, or a bad num_steps / max_games_per_chunk.
  """
  probs_fn, num_steps, scripted = _checked("cross_play", env, policy, partners, scripted,
                                           num_games, num_steps, max_games_per_chunk)
  _stack_size("agents", agents)
  if partners is not None:
    _check_same_network(agents, partners)
  return _cross_play(env, _PopulationAct(probs_fn, bool(greedy)),
                     tuple(p.act for p in scripted), int(num_games), int(num_steps),
                     int(max_games_per_chunk), agents, partners,
                     tuple(p.params for p in scripted), key)


def partner_self_play(env: Any, policy: ProbsFn | Any, key: jax.Array, *, partners: Any = None,
                      scripted: Sequence[Agent] = (), num_games: int,
                      num_steps: int | None = None, greedy: bool = False,
                      max_games_per_chunk: int = 4096) -> CrossPlay:
  """Each partner with a copy of itself in the other seat, `num_games` games: the return of a
  response every partner has (itself), so a lower bound on its best response's return.

  Arguments as `cross_play`'s (no agents). Network partner m plays members (m, m) of the
  population agent with `jax.random.fold_in(key, 0)` as the group key (chunked as there);
  scripted partner j plays itself in both seats with `jax.random.fold_in(key, 1 + j)`.

  Returns:
    CrossPlay with one row, "the partner itself": returns float32[1, M], returns_by_seat
    float32[1, M, 2], game_returns float32[1, M, G] (games 0..G/2-1 read from seat 0, the rest
    from seat 1), partners in the order (networks, scripted).
  """
  probs_fn, num_steps, scripted = _checked("partner_self_play", env, policy, partners,
                                           scripted, num_games, num_steps, max_games_per_chunk)
  return _partner_self_play(env, _PopulationAct(probs_fn, bool(greedy)),
                            tuple(p.act for p in scripted), int(num_games), int(num_steps),
                            int(max_games_per_chunk), partners,
                            tuple(p.params for p in scripted), key)


def _checked(where: str, env, policy, partners, scripted, num_games, num_steps,
             max_games_per_chunk):
  """(probs_fn, num_steps, scripted tuple) of `cross_play`'s arguments, or one ConfigError
  naming what is wrong."""
  probs_fn = LearnerPolicy(policy) if hasattr(policy, "policy_probs") else policy
  if not is_int(num_games) or num_games < 2 or num_games % 2:
    raise ConfigError(f"{where}: num_games must be even and positive (half the games in "
                      f"each seat), got {num_games!r}")
  num_steps = env.max_episode_steps if num_steps is None else num_steps
  if not is_int(num_steps) or num_steps < 1:
    raise ConfigError(f"{where}: num_steps must be a positive int, got {num_steps!r}")
  if not is_int(max_games_per_chunk) or max_games_per_chunk < 1:
    raise ConfigError(f"{where}: max_games_per_chunk must be a positive int, got "
                      f"{max_games_per_chunk!r}")
  if env.num_players != 2:
    raise ConfigError(f"{where}: pairs play two-player games, {env.name} has "
                      f"{env.num_players} players")
  scripted = tuple(scripted)
  for j, partner in enumerate(scripted):
    if not isinstance(partner, Agent):
      raise ConfigError(f"{where}: scripted partner {j} must be an Agent, got "
                        f"{type(partner).__name__}")
  if partners is not None:
    _stack_size("partners", partners)
  elif not scripted:
    raise ConfigError(f"{where}: no partners (give network partners, scripted ones or both)")
  return probs_fn, num_steps, scripted


@functools.partial(jax.jit, static_argnums=(0, 1, 2, 3, 4, 5))
def _cross_play(env, act, scripted_acts, num_games, num_steps, max_games, agents, partners,
                scripted_params, key) -> CrossPlay:
  num_agents = jax.tree.leaves(agents)[0].shape[0]
  stacked = agents if partners is None else jax.tree.map(
      lambda a, p: jnp.concatenate([a, p]), agents, partners)
  agent_index = np.arange(num_agents)
  columns = []                                                        # [A, M_group, G] each
  if partners is not None:
    num_partners = jax.tree.leaves(partners)[0].shape[0]
    pairs = np.stack(np.meshgrid(agent_index, num_agents + np.arange(num_partners),
                                 indexing="ij"), -1).reshape(-1, 2)    # (agent, partner member)
    game_returns = _play_pairs(env, (act,), (), stacked, pairs, np.zeros(2, np.int32),
                               jax.random.fold_in(key, 0), num_games, num_steps, max_games)
    columns.append(game_returns.reshape(num_agents, num_partners, num_games))
  for j, (scripted_act, params) in enumerate(zip(scripted_acts, scripted_params)):
    pairs = np.stack([agent_index, agent_index], -1)   # the partner's seat: any member
    game_returns = _play_pairs(env, (act, scripted_act), (params,), stacked, pairs,
                               np.array([0, 1], np.int32), jax.random.fold_in(key, 1 + j),
                               num_games, num_steps, max_games)
    columns.append(game_returns[:, None])
  return _pooled(jnp.concatenate(columns, axis=1))                    # [A, M, G]


@functools.partial(jax.jit, static_argnums=(0, 1, 2, 3, 4, 5))
def _partner_self_play(env, act, scripted_acts, num_games, num_steps, max_games, partners,
                       scripted_params, key) -> CrossPlay:
  agent_seat = (np.arange(num_games) >= num_games // 2).astype(np.int32)       # [G]
  columns = []                                                                 # [M_group, G]
  if partners is not None:
    num_partners = jax.tree.leaves(partners)[0].shape[0]
    pairs = np.stack([np.arange(num_partners)] * 2, -1)                        # (m, m)
    columns.append(_play_pairs(env, (act,), (), partners, pairs, np.zeros(2, np.int32),
                               jax.random.fold_in(key, 0), num_games, num_steps, max_games))
  for j, (scripted_act, params) in enumerate(zip(scripted_acts, scripted_params)):
    returns = play(env, (Agent(scripted_act, params),), np.zeros((num_games, 2), np.int32),
                   jax.random.fold_in(key, 1 + j), num_steps).returns           # [G, P]
    columns.append(returns[np.arange(num_games), agent_seat][None])
  return _pooled(jnp.concatenate(columns)[None])                              # [1, M, G]


def _pooled(game_returns: jax.Array) -> CrossPlay:
  """The CrossPlay of game returns float32[A, M, G] (games 0..G/2-1: the agent in seat 0)."""
  by_seat = game_returns.reshape(game_returns.shape[:2] + (2, -1)).mean(-1)
  return CrossPlay(by_seat.mean(-1), by_seat, game_returns)


def _play_pairs(env, acts, other_params, stacked, pairs: np.ndarray, agent_of_role: np.ndarray,
                key, num_games: int, num_steps: int, max_games: int) -> jax.Array:
  """float32[Q, G]: the agent's return in the G games of each of the Q pairs (members
  int32[Q, 2]: the agent's, the partner's), played in chunks of whole pairs. `acts` are the
  play loop's agents (the population agent first), `agent_of_role` int32[2] the play agent of
  the (agent, partner) roles."""
  num_pairs = pairs.shape[0]
  pairs_per_chunk = min(num_pairs, max(1, max_games // num_games))
  num_chunks = -(-num_pairs // pairs_per_chunk)
  padded = np.concatenate([pairs, np.repeat(pairs[-1:], num_chunks * pairs_per_chunk
                                            - num_pairs, axis=0)])
  agent_seat = (np.arange(num_games) >= num_games // 2).astype(np.int32)   # [G]
  roles = np.stack([agent_seat, 1 - agent_seat], -1)                 # [G, P]: role of seat
  members = padded[:, roles].reshape(num_chunks, pairs_per_chunk * num_games, 2)
  seats = np.tile(agent_of_role[roles], (pairs_per_chunk, 1))        # [chunk games, P]
  keys = key[None] if num_chunks == 1 else jax.random.split(key, num_chunks)

  def chunk(xs):
    chunk_members, chunk_key = xs
    agents = (Agent(acts[0], PopulationParams(stacked, jnp.asarray(chunk_members))),) + tuple(
        Agent(a, p) for a, p in zip(acts[1:], other_params))
    return play(env, agents, seats, chunk_key, num_steps).returns    # [chunk games, P]

  returns = jax.lax.map(chunk, (jnp.asarray(members), keys))
  returns = returns.reshape(num_chunks * pairs_per_chunk, num_games, 2)[:num_pairs]
  return jnp.take_along_axis(returns, jnp.asarray(agent_seat)[None, :, None], -1)[..., 0]


def _stack_size(name: str, params: Any) -> int:
  """The leading size of stacked params [N, ...] (ConfigError if the leaves disagree)."""
  sizes = {np.shape(x)[0] if np.ndim(x) else None for x in jax.tree.leaves(params)}
  if len(sizes) != 1 or None in sizes or 0 in sizes:
    raise ConfigError(f"cross_play: {name} must be stacked network params [N, ...] (N >= 1, "
                      f"the same N on every leaf), got leading sizes {sorted(sizes, key=str)}")
  return sizes.pop()


def _check_same_network(agents: Any, partners: Any) -> None:
  """ConfigError unless partners' params have the agents' structure, shapes and dtypes (past
  the stacked axis)."""
  spec = lambda tree: [(np.shape(x)[1:], jnp.result_type(x)) for x in jax.tree.leaves(tree)]
  if (jax.tree.structure(agents) != jax.tree.structure(partners)
      or spec(agents) != spec(partners)):
    raise ConfigError("cross_play: network partners must have the agents' network (the same "
                      "params structure, shapes and dtypes past the stacked axis); scripted "
                      "partners go in `scripted`")


# --- reading the results -----------------------------------------------------------------------


def standard_errors(game_returns) -> np.ndarray:
  """float32[A, M]: the standard error of each pair's mean return (`CrossPlay.returns`) over
  its games, from `CrossPlay.game_returns` float[A, M, G] (games 0..G/2-1: the agent in seat
  0). The seats are strata of n = G/2 games each, as the mean weighs them equally:
  sqrt(s0^2 / n + s1^2 / n) / 2, s_k the sample standard deviation (ddof 1) of seat k's games.
  NaN with one game a seat (no spread to measure)."""
  game_returns = np.asarray(game_returns, np.float64)
  if game_returns.ndim != 3 or game_returns.shape[-1] % 2:
    raise ConfigError(f"standard_errors: game_returns must be float[A, M, G] with G even (half "
                      f"the games in each seat), got shape {game_returns.shape}")
  per_seat = game_returns.shape[-1] // 2
  if per_seat < 2:
    return np.full(game_returns.shape[:2], np.nan, np.float32)
  by_seat = game_returns.reshape(game_returns.shape[:2] + (2, per_seat))
  variance_of_mean = by_seat.var(-1, ddof=1) / per_seat                # [A, M, 2]
  return (np.sqrt(variance_of_mean.sum(-1)) / 2).astype(np.float32)


def normalized(returns: jax.Array, bound: jax.Array, least: float = 0.0) -> jax.Array:
  """float32[..., M]: `returns` [..., M] divided by each partner's bound float32[M] (e.g. the
  return of the best known pairing with it); NaN for partners whose bound is <= 0 or below
  `least` (nothing to normalize by: a best response that found next to nothing). For
  returns_by_seat [A, M, 2], pass one seat: `returns_by_seat[..., s]`."""
  returns, bound = jnp.asarray(returns, jnp.float32), jnp.asarray(bound, jnp.float32)
  if bound.ndim != 1 or returns.shape[-1:] != bound.shape:
    raise ConfigError(f"normalized: bound must be float32[M], one per partner (the last axis "
                      f"of returns {returns.shape}), got shape {bound.shape}")
  usable = (bound > 0) & (bound >= least)
  return jnp.where(usable, returns / jnp.where(usable, bound, 1.0), jnp.nan)


def _check_names(where: str, matrix: np.ndarray, agent_names, partner_names):
  if matrix.ndim != 2:
    raise ConfigError(f"{where}: the matrix must be float[A, M], got shape {matrix.shape}")
  if len(agent_names) != matrix.shape[0] or len(partner_names) != matrix.shape[1]:
    raise ConfigError(f"{where}: {len(agent_names)} agent names and {len(partner_names)} "
                      f"partner names for a matrix of shape {matrix.shape}")


def format_table(returns, agent_names: Sequence[str], partner_names: Sequence[str],
                 digits: int = 1) -> str:
  """A text table of returns float[A, M]: a row per agent, a column per partner, and a last
  column "mean": the agent's mean over the partners with a finite value (NaN: none)."""
  returns = np.asarray(returns, np.float64)
  _check_names("format_table", returns, agent_names, partner_names)
  finite = np.isfinite(returns)
  count = finite.sum(1)
  mean = np.where(count > 0, np.where(finite, returns, 0.0).sum(1) / np.maximum(count, 1),
                  np.nan)
  header = ["agent"] + [str(name) for name in partner_names] + ["mean"]
  rows = [[str(name)] + [f"{v:.{digits}f}" for v in values] + [f"{m:.{digits}f}"]
          for name, values, m in zip(agent_names, returns, mean)]
  widths = [max(len(row[i]) for row in [header] + rows) for i in range(len(header))]
  line = lambda row: "  ".join([row[0].ljust(widths[0])]
                               + [cell.rjust(w) for cell, w in zip(row[1:], widths[1:])])
  return "\n".join([line(header)] + [line(row) for row in rows])


def _crossplay_figure(matrix, agent_names, partner_names, title):
  """The matplotlib Figure (Agg canvas) of `plot_crossplay`."""
  from matplotlib.backends.backend_agg import FigureCanvasAgg
  from matplotlib.figure import Figure

  from jaxplay.io.plots import MAX_ANNOTATED

  values = np.asarray(matrix, np.float64)
  _check_names("plot_crossplay", values, agent_names, partner_names)
  finite = values[np.isfinite(values)]
  low = min(0.0, float(finite.min())) if finite.size else 0.0
  high = float(finite.max()) if finite.size else 1.0
  high = high if high > low else low + 1.0
  rows, cols = values.shape
  fig = Figure(figsize=(min(16.0, 3.0 + 0.5 * cols) + 1.2, min(14.0, 2.6 + 0.4 * rows)),
               layout="constrained")
  FigureCanvasAgg(fig)
  ax = fig.add_subplot()
  image = ax.imshow(np.ma.masked_invalid(values), cmap="viridis", vmin=low, vmax=high,
                    interpolation="nearest", aspect="auto")
  ax.set_facecolor("0.85")                                     # NaN: blank
  ax.set_xticks(range(cols), [str(n) for n in partner_names], rotation=90 if cols > 8 else 0)
  ax.set_yticks(range(rows), [str(n) for n in agent_names])
  ax.set(xlabel="partner (column)", ylabel="agent (row)")
  if max(rows, cols) <= MAX_ANNOTATED:
    for (row, col), value in np.ndenumerate(values):
      if np.isfinite(value):
        ax.text(col, row, f"{value:.3g}", ha="center", va="center", fontsize="small",
                color="black" if value > low + 0.6 * (high - low) else "white")
  fig.colorbar(image, ax=ax, label="mean", shrink=0.9)
  if title:
    ax.set_title(title)
  return fig


def plot_crossplay(matrix, path: str | os.PathLike, agent_names: Sequence[str],
                   partner_names: Sequence[str], title: str | None = None) -> str:
  """Writes a PNG heatmap of a cross-play matrix float[A, M] (rows agents, columns partners;
  viridis from min(0, lowest) to the highest value; NaN blank; values printed when A, M <= 16;
  folder made if missing) and returns its path. ConfigError: names not matching the shape."""
  fig = _crossplay_figure(matrix, agent_names, partner_names, title)
  out = pathlib.Path(path)
  out.parent.mkdir(parents=True, exist_ok=True)
  fig.savefig(out, format="png", dpi=100)
  return str(out)


def crossplay_image(matrix, agent_names: Sequence[str], partner_names: Sequence[str],
                    title: str | None = None, dpi: int = 100) -> np.ndarray:
  """uint8[H, W, 3] (RGB) the figure of `plot_crossplay` rendered to an array, e.g. for a
  TensorBoard image summary."""
  fig = _crossplay_figure(matrix, agent_names, partner_names, title)
  fig.set_dpi(dpi)
  fig.canvas.draw()
  return np.ascontiguousarray(np.asarray(fig.canvas.buffer_rgba())[..., :3])
