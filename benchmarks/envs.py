"""Environment throughput: jaxplay against Pgx, same harness, same process.

    python -m benchmarks.envs                     # all games, B in {1024, 4096, 16384}
    python -m benchmarks.envs --games=tic_tac_toe --batch_sizes=4096

The harness is the same for both libraries: B games vmapped, a jitted `lax.scan` of T steps;
at every step each game's mover picks a uniformly random legal action
(`jaxplay.random_legal_actions`), every game gets its own PRNG key, the library's own
auto-reset starts a new game when one ends (jaxplay: `AutoReset`, which also keeps the
terminal observation; Pgx: `pgx.experimental.auto_reset`), and every element of the
observation is read (reduced into the carry), so computing it is part of a step. The
harness's own randomness (action choice, per-game keys) comes from a counter-based hash
(`jaxplay.core.chance.key_bits`) rather than B threefry calls per step, so that it costs
little next to what is measured; what the libraries draw inside is theirs. Steps/s counts
game steps (B * T per call); timed calls alternate between the libraries and each keeps
its best of R.
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

_GAMES = flags.DEFINE_list("games", ["kuhn_poker", "leduc_poker", "tic_tac_toe", "negotiation"],
                           "jaxplay game names (those without a Pgx counterpart run alone).")
_BATCH_SIZES = flags.DEFINE_list("batch_sizes", ["1024", "4096", "16384"], "Values of B.")
_STEPS = flags.DEFINE_integer("steps", 128, "Steps per scan (T).")
_REPEATS = flags.DEFINE_integer("repeats", 10, "Timed calls per library (alternating); the best counts.")

PGX_NAMES = {"kuhn_poker": "kuhn_poker", "leduc_poker": "leduc_holdem",
             "tic_tac_toe": "tic_tac_toe"}


@dataclasses.dataclass
class Subject:
  """What the harness needs of a library: init/step for one game, the mover's legal row."""

  init: Callable[[jax.Array], Any]
  step: Callable[[Any, jax.Array, jax.Array], Any]   # (state, mover's action, key)
  legal_row: Callable[[Any], jax.Array]              # bool[A] of the player to move


def jaxplay_subject(name: str) -> Subject:
  env = jaxplay.wrap(jaxplay.make(name), auto_reset=True)
  num_players = env.num_players

  def step(state, action, key):
    return env.step(state, jnp.full((num_players,), action, jnp.int32), key)

  # Turn-based: only the player to move has legal actions, so OR-ing the rows gives its row.
  return Subject(env.init, step, lambda s: s.legal_action_mask.any(axis=0))


def pgx_subject(name: str) -> Subject:
  import pgx  # the peer library; a test/benchmark dependency only
  from pgx.experimental import auto_reset

  env = pgx.make(PGX_NAMES[name])
  return Subject(env.init, auto_reset(env.step, env.init), lambda s: s.legal_action_mask)


def make_runner(subject: Subject, batch_size: int, num_steps: int):
  """Jitted (state, key) -> (state, checksum): T steps of B games of random legal play."""
  init = jax.jit(jax.vmap(subject.init))

  def run(state, key):
    def body(carry, key):
      state, checksum = carry
      act_key, step_key = jax.random.split(key)
      rows = jax.vmap(subject.legal_row)(state)
      action = jaxplay.random_legal_actions(act_key, rows)
      keys = jax.random.wrap_key_data(chance.key_bits(step_key, (batch_size, 2)))
      state = jax.vmap(subject.step)(state, action, keys)
      # Read every observation element (max: a reduction XLA runs fast for any dtype).
      checksum += jnp.max(state.observation).astype(jnp.int32)
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
  print(f"| game | B | jaxplay steps/s | Pgx steps/s | jaxplay / Pgx |")
  print(f"|---|---|---|---|---|")
  for name in _GAMES.value:
    for batch_size in map(int, _BATCH_SIZES.value):
      subjects = {"jaxplay": jaxplay_subject(name)}
      if name in PGX_NAMES:
        subjects["pgx"] = pgx_subject(name)
      rates = compare(subjects, batch_size, _STEPS.value, _REPEATS.value)
      ours, theirs = rates["jaxplay"], rates.get("pgx")
      peer = f"{theirs / 1e6:.2f} M | {ours / theirs:.2f}x" if theirs else "(none) | -"
      print(f"| {name} | {batch_size} | {ours / 1e6:.2f} M | {peer} |", flush=True)


if __name__ == "__main__":
  app.run(main)
