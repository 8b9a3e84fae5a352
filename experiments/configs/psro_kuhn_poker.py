"""PSRO on 2-player Kuhn poker: one population a seat, PPO best responses against the other
seat's Nash meta-strategy, the meta-game and the meta-strategy's exploitability exact on the
game tree.

    python -m experiments.train --config=experiments/configs/psro_kuhn_poker.py --workdir=/tmp/psro
    python -m experiments.evaluate --workdir=/tmp/psro --export_openspiel_policy=/tmp/psro/meta.json

Expected: the meta-strategy's exploitability below 0.005 within 10 iterations, under a
minute on a 2-core CPU; recorded runs: results/psro.md.

Each best response starts from a new network (warm starts stall: a best response trained
in self-play turns nearly deterministic and PPO no longer moves it) and learns with plain
PPO against a fixed opponent mixture: no magnet, Monte-Carlo returns.
"""

from experiments.configs import common


def get_config():
  config = common.base()
  config.games = ("kuhn_poker",)
  config.network.kind = "mlp"
  config.network.hidden = (64, 64)
  config.ppo.num_envs = 512
  config.ppo.num_steps = 8
  config.ppo.learning_rate = 3e-3
  config.ppo.gae_lambda = 1.0
  config.population.scheme = "psro"
  config.population.iterations = 10
  config.total_env_steps = 512 * 8 * 60 * 10   # 60 updates a best response
  return config
