"""A training config for the toy game: `python -m experiments.train
--config=tests/toy/config.py --workdir=...` from the repository root."""

from jaxplay import config as config_lib


def get_config():
  config = config_lib.defaults()
  config.imports = ("tests.toy.pick_a_number",)   # registers the game, here and at evaluation
  config.games = ("pick_a_number",)
  config.network.kind, config.network.hidden = "mlp", (16,)
  config.ppo.num_envs, config.ppo.num_steps = 32, 2
  config.ppo.learning_rate = 3e-3
  config.ppo.num_epochs, config.ppo.num_minibatches = 2, 1
  config.total_env_steps = 32 * 2 * 20
  config.run.updates_per_call = config.run.log_every = 10
  config.run.eval_every = config.run.checkpoint_every = 10
  return config
