"""Environment throughput: jaxplay against its peers (Pgx, JaxMARL), same harness, one process.

    python -m benchmarks.envs                     # every game, B in {1024, 4096, 16384}
    python -m benchmarks.envs --games=tic_tac_toe --batch_sizes=4096
    python -m benchmarks.envs --harness=hash_sum  # the second harness (below)
    python -m benchmarks.envs --harness=random_legal --harness=hash_sum   # a table of each

A harness is the same for every library: B games vmapped, a jitted `lax.scan` of T steps;
at every step each player to move picks a legal action, every game gets its own PRNG key, the
library's own auto-reset starts a new game when one ends (jaxplay: `AutoReset`, which also
keeps the terminal observation; Pgx: `pgx.experimental.auto_reset`; JaxMARL: its `step`), and
every element of the observation and the rewards are read (reduced into the carry), so
computing them is part of a step. Two harnesses (`--harness`), which differ in how they pick
actions and read the observation:

  random_legal  a uniformly random legal action (`jaxplay.random_legal_actions`); the
                observation reduced by `max`.
  hash_sum      each (game, row, action) gets an integer hash of the step's key
                (`chance.key_bits`); the legal action with the largest hash is played. The
                observation is summed into int32 (every element converted and added).

The harness's own randomness (action choice, per-game keys) comes from a counter-based hash
(`jaxplay.core.chance.key_bits`) rather than B threefry calls per step, so that it costs
little next to what is measured; what the libraries draw inside is theirs. Steps/s counts game
steps (B * T per call); timed calls alternate between the libraries and each keeps its best
of R. With `--floor`, each library's row also shows the harness alone: the same scan over a
stand-in whose step only flips arrays shaped like the library's legal rows, observation and
rewards, i.e. what reading that library's outputs costs the harness. No game steps faster
than its floor, so jaxplay / peer cannot exceed jaxplay's floor / the peer's steps/s.
"""

from __future__ import annotations

import dataclasses
import platform
import time
from typing import Any, Callable

import jax
import jax.numpy as jnp
from absl import app, flags

import jaxplay
from jaxplay.core import chance

_GAMES = flags.DEFINE_list(
    "games", ["kuhn_poker", "leduc_poker", "tic_tac_toe", "negotiation", "overcooked"],
    "jaxplay games to measure (with their peers, where there are any).")
_BATCH_SIZES = flags.DEFINE_list("batch_sizes", ["1024", "4096", "16384"], "Values of B.")
_STEPS = flags.DEFINE_integer("steps", 128, "Steps per scan (T).")
_REPEATS = flags.DEFINE_integer("repeats", 10,
                                "Timed calls per library (alternating); the best counts.")
_HARNESS = flags.DEFINE_multi_enum("harness", ["random_legal"], ["random_legal", "hash_sum"],
                                   "How actions are picked and the observation read (module "
                                   "docstring); repeat the flag for a table of each.")
_FLOOR = flags.DEFINE_bool("floor", False, "Also time the harness alone on each library's "
                           "output shapes (module docstring).")


@dataclasses.dataclass
class Subject:
  """What the harness needs of one library's game."""

  init: Callable[[jax.Array], Any]
  step: Callable[[Any, jax.Array, jax.Array], Any]  # (state, actions int32[R], key)
  legal_rows: Callable[[Any], jax.Array]           # bool[R, A]: the rows of players to move
  observation: Callable[[Any], jax.Array]          # what an agent reads this step
  rewards: Callable[[Any], jax.Array]              # float[P]: rewards of the last transition


def jaxplay_subject(name: str, **kwargs) -> Subject:
  env = jaxplay.wrap(jaxplay.make(name, **kwargs), auto_reset=True)
  num_players = env.num_players
  if env.simultaneous:  # every player moves: one row each
    return Subject(env.init, env.step, lambda s: s.legal_action_mask, lambda s: s.observation,
                   lambda s: s.rewards)

  def step(state, action, key):
    return env.step(state, jnp.full((num_players,), action[0], jnp.int32), key)

  # Turn-based: only the player to move has legal actions, so OR-ing the rows gives its row.
  return Subject(env.init, step, lambda s: s.legal_action_mask.any(axis=0, keepdims=True),
                 lambda s: s.observation, lambda s: s.rewards)


def pgx_subject(name: str) -> Subject:
  import pgx  # the peer library; a test/benchmark dependency only
  from pgx.experimental import auto_reset

  env = pgx.make(name)
  step = auto_reset(env.step, env.init)
  return Subject(env.init, lambda s, a, k: step(s, a[0], k), lambda s: s.legal_action_mask[None],
                 lambda s: s.observation, lambda s: s.rewards)


def jaxmarl_subject(name: str, layout: str) -> Subject:
  """JaxMARL's Overcooked (`overcooked` v1 or `overcooked_v2`); its `step` auto-resets."""
  import jaxmarl  # the peer library; a benchmark dependency only
  from jaxmarl.environments.overcooked import overcooked_layouts

  env = (jaxmarl.make(name, layout=overcooked_layouts[layout]) if name == "overcooked"
         else jaxmarl.make(name, layout=layout))
  agents = env.agents
  num_actions = env.action_space(agents[0]).n

  def init(key):
    obs, state = env.reset(key)
    return obs, state, jnp.zeros((len(agents),), jnp.float32)

  def step(carry, action, key):
    _, state, _ = carry
    obs, state, rewards, _, _ = env.step(key, state, {a: action[i] for i, a in enumerate(agents)})
    return obs, state, jnp.stack([rewards[a] for a in agents]).astype(jnp.float32)

  return Subject(init, step, lambda _: jnp.ones((len(agents), num_actions), bool),
                 lambda carry: jnp.stack([carry[0][a] for a in agents]), lambda carry: carry[2])


# Each game's subjects: jaxplay first, then its peers (built lazily: a peer may be missing).
SUBJECTS = {
    "kuhn_poker": {"jaxplay": lambda: jaxplay_subject("kuhn_poker"),
                   "Pgx": lambda: pgx_subject("kuhn_poker")},
    "leduc_poker": {"jaxplay": lambda: jaxplay_subject("leduc_poker"),
                    "Pgx": lambda: pgx_subject("leduc_holdem")},
    "tic_tac_toe": {"jaxplay": lambda: jaxplay_subject("tic_tac_toe"),
                    "Pgx": lambda: pgx_subject("tic_tac_toe")},
    "negotiation": {"jaxplay": lambda: jaxplay_subject("negotiation")},
    "overcooked": {"jaxplay": lambda: jaxplay_subject("overcooked", layout="cramped_room"),
                   "JaxMARL overcooked": lambda: jaxmarl_subject("overcooked", "cramped_room"),
                   "JaxMARL overcooked_v2": lambda: jaxmarl_subject("overcooked_v2",
                                                                    "cramped_room")},
}


def hash_actions(key: jax.Array, rows: jax.Array) -> jax.Array:
  """int32[B, R]: per row of bool[B, R, A], the legal action whose integer hash of (key, game,
  row, action) is largest (0 for a row without one)."""
  bits = chance.key_bits(key, rows.shape) | 1  # nonzero: a legal action beats every illegal one
  return jnp.argmax(jnp.where(rows, bits, 0), axis=-1).astype(jnp.int32)


def make_runner(subject: Subject, batch_size: int, num_steps: int,
                harness: str = "random_legal"):
  """Jitted (state, key) -> (state, checksums): T steps of B games, actions and reads as
  `harness` says (module docstring)."""
  init = jax.jit(jax.vmap(subject.init))

  def run(state, key):
    def body(carry, key):
      state, checksum, reward_sum = carry
      act_key, step_key = jax.random.split(key)
      rows = jax.vmap(subject.legal_rows)(state)
      if harness == "hash_sum":
        action = hash_actions(act_key, rows)
      else:
        action = jaxplay.random_legal_actions(act_key, rows)
      keys = jax.random.wrap_key_data(chance.key_bits(step_key, (batch_size, 2)))
      state = jax.vmap(subject.step)(state, action, keys)
      observation = jax.vmap(subject.observation)(state)
      if harness == "hash_sum":
        checksum += jnp.sum(observation, dtype=jnp.int32)
      else:  # max: a reduction XLA runs fast for any dtype
        checksum += jnp.max(observation).astype(jnp.int32)
      reward_sum += jnp.sum(jax.vmap(subject.rewards)(state), dtype=jnp.float32)
      return (state, checksum, reward_sum), None

    (state, checksum, reward_sum), _ = jax.lax.scan(
        body, (state, jnp.int32(0), jnp.float32(0)), jax.random.split(key, num_steps))
    return state, (checksum, reward_sum)

  return init, jax.jit(run)


def floor_subject(subject: Subject) -> Subject:
  """The harness alone on `subject`'s output shapes: a stand-in whose step only flips arrays
  shaped like the subject's legal rows, observation and rewards (module docstring)."""
  def init(key):
    state = subject.init(key)
    return subject.legal_rows(state), subject.observation(state), subject.rewards(state)

  def step(state, action, key):
    del key
    rows, observation, rewards = state
    flip = action[0] % 2 == 0
    rows = rows ^ flip | (jnp.arange(rows.shape[-1]) == 0)  # some action is always legal
    observation = jnp.where(flip, 1 - observation, observation).astype(observation.dtype)
    return rows, observation, -rewards

  return Subject(init, step, lambda s: s[0], lambda s: s[1], lambda s: s[2])


def compare(subjects: dict[str, Subject], batch_size: int, num_steps: int, repeats: int,
            harness: str = "random_legal") -> dict[str, float]:
  """Steps/s of each subject. Timed calls alternate between subjects, so that a burst of load
  on a shared machine falls on all of them alike; each keeps its best call."""
  runs = {}
  for name, subject in subjects.items():
    init, run = make_runner(subject, batch_size, num_steps, harness)
    state = init(jax.random.split(jax.random.key(0), batch_size))
    state, _ = jax.block_until_ready(run(state, jax.random.key(1)))  # compile
    runs[name] = [run, state]
  best = {name: float("inf") for name in subjects}
  for i in range(repeats):
    for name, entry in runs.items():
      run, state = entry
      start = time.perf_counter()
      entry[1], _ = jax.block_until_ready(run(state, jax.random.key(2 + i)))
      best[name] = min(best[name], time.perf_counter() - start)
  return {name: batch_size * num_steps / seconds for name, seconds in best.items()}


def main(argv):
  del argv
  for harness in _HARNESS.value:
    print_table(harness)


def print_table(harness: str) -> None:
  """The table of every game and batch size under `harness`, with its header line."""
  device = jax.devices()[0]
  print(f"# {platform.node()} | {device.platform} {device.device_kind} | "
        f"jax {jax.__version__} | jaxplay {jaxplay.__version__} | harness {harness} | "
        f"T = {_STEPS.value} steps, best of {_REPEATS.value}")
  floor = _FLOOR.value
  print("| game | B | jaxplay steps/s | peer | peer steps/s | jaxplay / peer |"
        + (" harness alone: jaxplay / peer |" if floor else ""))
  print("|---|---|---|---|---|---|" + ("---|" if floor else ""))
  for game in _GAMES.value:
    if game not in jaxplay.registered_games():
      print(f"| {game} | - | (not registered) | | | |")
      continue
    for batch_size in map(int, _BATCH_SIZES.value):
      subjects = {name: build() for name, build in SUBJECTS[game].items()}
      if floor:
        subjects.update({f"{name} floor": floor_subject(subject)
                         for name, subject in list(subjects.items())})
      rates = compare(subjects, batch_size, _STEPS.value, _REPEATS.value, harness)
      floors = {name[:-len(" floor")]: rates.pop(name) for name in list(rates)
                if name.endswith(" floor")}
      ours = rates.pop("jaxplay")
      for peer, theirs in rates.items() or {"(none)": None}.items():
        shown = f"{theirs / 1e6:.2f} M | {ours / theirs:.2f}x" if theirs else "- | -"
        if floor:
          shown += (f" | {floors['jaxplay'] / 1e6:.2f} M / {floors[peer] / 1e6:.2f} M"
                    if theirs else " | -")
        print(f"| {game} | {batch_size} | {ours / 1e6:.2f} M | {peer} | {shown} |", flush=True)
    print()


if __name__ == "__main__":
  app.run(main)
