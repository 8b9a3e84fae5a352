"""Environment throughput: jaxplay against its peers (Pgx, JaxMARL), same harness, one process.

    python -m benchmarks.envs                     # every game, B in {1024, 4096, 16384}
    python -m benchmarks.envs --games=tic_tac_toe --batch_sizes=4096

The harness is the same for every library: B games vmapped, a jitted `lax.scan` of T steps;
at every step each player to move picks a uniformly random legal action
(`jaxplay.random_legal_actions`), every game gets its own PRNG key, the library's own
auto-reset starts a new game when one ends (jaxplay: `AutoReset`, which also keeps the
terminal observation; Pgx: `pgx.experimental.auto_reset`; JaxMARL: its `step`), and every
element of the observation is read (reduced into the carry), so computing it is part of a
step. The harness's own randomness (action choice, per-game keys) comes from a counter-based
hash (`jaxplay.core.chance.key_bits`) rather than B threefry calls per step, so that it costs
little next to what is measured; what the libraries draw inside is theirs. Steps/s counts game
steps (B * T per call); timed calls alternate between the libraries and each keeps its best
of R.
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


@dataclasses.dataclass
class Subject:
  """What the harness needs of one library's game."""

  init: Callable[[jax.Array], Any]
  step: Callable[[Any, jax.Array, jax.Array], Any]  # (state, actions int32[R], key)
  legal_rows: Callable[[Any], jax.Array]           # bool[R, A]: the rows of players to move
  observation: Callable[[Any], jax.Array]          # what an agent reads this step


def jaxplay_subject(name: str, **kwargs) -> Subject:
  env = jaxplay.wrap(jaxplay.make(name, **kwargs), auto_reset=True)
  num_players = env.num_players
  if env.simultaneous:  # every player moves: one row each
    return Subject(env.init, env.step, lambda s: s.legal_action_mask, lambda s: s.observation)

  def step(state, action, key):
    return env.step(state, jnp.full((num_players,), action[0], jnp.int32), key)

  # Turn-based: only the player to move has legal actions, so OR-ing the rows gives its row.
  return Subject(env.init, step, lambda s: s.legal_action_mask.any(axis=0, keepdims=True),
                 lambda s: s.observation)


def pgx_subject(name: str) -> Subject:
  import pgx  # the peer library; a test/benchmark dependency only
  from pgx.experimental import auto_reset

  env = pgx.make(name)
  step = auto_reset(env.step, env.init)
  return Subject(env.init, lambda s, a, k: step(s, a[0], k), lambda s: s.legal_action_mask[None],
                 lambda s: s.observation)


def jaxmarl_subject(name: str, layout: str) -> Subject:
  """JaxMARL's Overcooked (`overcooked` v1 or `overcooked_v2`); its `step` auto-resets."""
  import jaxmarl  # the peer library; a benchmark dependency only
  from jaxmarl.environments.overcooked import overcooked_layouts

  env = (jaxmarl.make(name, layout=overcooked_layouts[layout]) if name == "overcooked"
         else jaxmarl.make(name, layout=layout))
  agents = env.agents
  num_actions = env.action_space(agents[0]).n

  def step(carry, action, key):
    _, state = carry
    obs, state, _, _, _ = env.step(key, state, {a: action[i] for i, a in enumerate(agents)})
    return obs, state

  return Subject(env.reset, step, lambda _: jnp.ones((len(agents), num_actions), bool),
                 lambda carry: jnp.stack([carry[0][a] for a in agents]))


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


def make_runner(subject: Subject, batch_size: int, num_steps: int):
  """Jitted (state, key) -> (state, checksum): T steps of B games of random legal play."""
  init = jax.jit(jax.vmap(subject.init))

  def run(state, key):
    def body(carry, key):
      state, checksum = carry
      act_key, step_key = jax.random.split(key)
      rows = jax.vmap(subject.legal_rows)(state)
      action = jaxplay.random_legal_actions(act_key, rows)
      keys = jax.random.wrap_key_data(chance.key_bits(step_key, (batch_size, 2)))
      state = jax.vmap(subject.step)(state, action, keys)
      # Read every observation element (max: a reduction XLA runs fast for any dtype).
      checksum += jnp.max(jax.vmap(subject.observation)(state)).astype(jnp.int32)
      return (state, checksum), None

    (state, checksum), _ = jax.lax.scan(body, (state, jnp.int32(0)),
                                        jax.random.split(key, num_steps))
    return state, checksum

  return init, jax.jit(run)


def compare(subjects: dict[str, Subject], batch_size: int, num_steps: int,
            repeats: int) -> dict[str, float]:
  """Steps/s of each subject. Timed calls alternate between subjects, so that a burst of load
  on a shared machine falls on all of them alike; each keeps its best call."""
  runs = {}
  for name, subject in subjects.items():
    init, run = make_runner(subject, batch_size, num_steps)
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
  device = jax.devices()[0]
  print(f"# {platform.node()} | {device.platform} {device.device_kind} | "
        f"jax {jax.__version__} | jaxplay {jaxplay.__version__} | T = {_STEPS.value} steps, "
        f"best of {_REPEATS.value}")
  print("| game | B | jaxplay steps/s | peer | peer steps/s | jaxplay / peer |")
  print("|---|---|---|---|---|---|")
  for game in _GAMES.value:
    if game not in jaxplay.registered_games():
      print(f"| {game} | - | (not registered) | | | |")
      continue
    for batch_size in map(int, _BATCH_SIZES.value):
      subjects = {name: build() for name, build in SUBJECTS[game].items()}
      rates = compare(subjects, batch_size, _STEPS.value, _REPEATS.value)
      ours = rates.pop("jaxplay")
      for peer, theirs in rates.items() or {"(none)": None}.items():
        shown = f"{theirs / 1e6:.2f} M | {ours / theirs:.2f}x" if theirs else "- | -"
        print(f"| {game} | {batch_size} | {ours / 1e6:.2f} M | {peer} | {shown} |", flush=True)


if __name__ == "__main__":
  app.run(main)
