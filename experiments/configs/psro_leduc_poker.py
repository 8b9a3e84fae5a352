"""PSRO on Leduc poker: one population a seat, PPO best responses (each a new MLP) against the
other seat's Nash meta-strategy, the meta-game and the meta-strategy's exploitability exact on
the game tree (936 information sets).

    python -m experiments.train --config=experiments/configs/psro_leduc_poker.py \\
        --workdir=/tmp/psro_leduc

Expected: 0.41-0.67 from iteration 30 on, 0.43 after 150 (21 min on a 2-core CPU): the PPO
best responses fall 0.47 chips short of exact ones on average (each iteration prints the
gap), about what a best response gains once the meta-strategy is that close. Exact best
responses reach 0.053 in 100 iterations (`python -m benchmarks.psro_exact`). Recorded runs
and what was tried: results/psro.md.
"""

from experiments.configs import psro_kuhn_poker


def get_config():
  config = psro_kuhn_poker.get_config()
  config.games = ("leduc_poker",)
  config.network.hidden = (64, 64)
  config.ppo.learning_rate = 1e-3
  config.reward_scale.leduc_poker = 0.2   # payoffs up to 13 chips: Kuhn-sized steps
  config.population.iterations = 150
  config.total_env_steps = 512 * 8 * 100 * 150   # 100 updates a best response
  return config
