"""PPO self-play on 2-player Kuhn poker, evaluated by exact exploitability (OpenSpiel's).

    python -m experiments.train --config=experiments/configs/kuhn_poker.py --workdir=/tmp/kuhn

Expected: exploitability below 0.02 after the 3M steps, 1.5-3 min on a 2-core CPU;
recorded runs and the curve against CFR+: results/kuhn_poker.md.

Plain PPO self-play cycles around Kuhn's mixed equilibrium (bluffs and calls chase each other)
and stalls far from it in our runs (BUILD_NOTES.md, "Learning"); the magnetic mirror-descent
recipe (common.py) converges.
"""

from experiments.configs import common


def get_config():
  config = common.magnetic_mirror_descent(common.base())
  config.games = ("kuhn_poker",)
  config.total_env_steps = 3_000_000
  config.network.width = 32
  config.network.depth = 1
  config.network.heads = 2
  config.ppo.num_envs = 512
  config.ppo.num_steps = 8
  config.ppo.entropy_coef = 0.01
  config.ppo.final_entropy_coef = 0.01
  config.run.log_every = 20
  config.run.eval_every = 40
  config.run.checkpoint_every = 100
  # XLA's own CPU kernels: an update 125 ms against 178 ms with YNNPACK's on a 2-core CPU
  # (minibatches of 1,024 samples; BUILD_NOTES.md, "Sweeps"). No effect off the CPU.
  config.run.xla_ynnpack_fusions = False
  return config
