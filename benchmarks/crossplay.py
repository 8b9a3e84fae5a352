"""The cross-play matrix's speed: A agents x M partners x G games of the Overcooked config's
network (fresh parameters of A + M seeds; their skill does not change the work), one compiled
program (`jaxplay.eval.crossplay.cross_play`).

    python -m benchmarks.crossplay                      # 16 x 16 x 64 games, cramped_room
    python -m benchmarks.crossplay --agents=4 --partners=4 --scripted=independent_cook,static
"""

from __future__ import annotations

import platform
import time

import jax
import jax.numpy as jnp
from absl import app, flags

import jaxplay
from experiments.configs import overcooked
from jaxplay.agents import scripted
from jaxplay.eval.crossplay import cross_play
from jaxplay.learn.learner import Learner

_LAYOUT = flags.DEFINE_string("layout", "cramped_room", "Overcooked layout.")
_AGENTS = flags.DEFINE_integer("agents", 16, "A network agents.")
_PARTNERS = flags.DEFINE_integer("partners", 16, "M network partners.")
_SCRIPTED = flags.DEFINE_list("scripted", [], "Scripted partners too, by name.")
_GAMES = flags.DEFINE_integer("games", 64, "Games a pair (400 steps each).")
_CHUNK = flags.DEFINE_integer("max_games_per_chunk", 4096, "Games played at once.")


def main(argv):
  del argv
  learner = Learner(overcooked.get_config(_LAYOUT.value))
  env = learner.games.raw[0]
  stack = lambda seeds: jax.tree.map(lambda *x: jnp.stack(x),
                                     *[learner.init(s).params for s in seeds])
  agents = stack(range(_AGENTS.value))
  partners = stack(range(_AGENTS.value, _AGENTS.value + _PARTNERS.value))
  partner_agents = scripted.make_partners(_SCRIPTED.value, env)
  run = lambda key: cross_play(env, learner, agents, key, partners=partners,
                               scripted=partner_agents, num_games=_GAMES.value,
                               max_games_per_chunk=_CHUNK.value).returns
  columns = _PARTNERS.value + len(partner_agents)
  games = _AGENTS.value * columns * _GAMES.value
  print(f"# {platform.node()} | {jax.devices()[0].platform} | jax {jax.__version__} | "
        f"jaxplay {jaxplay.__version__} | {_LAYOUT.value}: {_AGENTS.value} agents x {columns} "
        f"partners x {_GAMES.value} games = {games} games of {env.max_episode_steps} steps")
  start = time.perf_counter()
  jax.block_until_ready(run(jax.random.key(0)))
  first = time.perf_counter() - start
  start = time.perf_counter()
  jax.block_until_ready(run(jax.random.key(1)))
  again = time.perf_counter() - start
  print(f"first call (compiling included) {first:.1f} s; again {again:.1f} s "
        f"({games * env.max_episode_steps / again:,.0f} env steps/s)")


if __name__ == "__main__":
  app.run(main)
