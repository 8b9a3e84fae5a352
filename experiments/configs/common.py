"""What the game configs share: `base()`, every field with its default (defined and checked
in `jaxplay/config.py`), and the magnetic mirror-descent recipe.

Override any field on the command line: `--config.ppo.learning_rate=1e-3`.
"""

import ml_collections

from jaxplay import config as config_lib


def base() -> ml_collections.ConfigDict:
  """Every field with its default (`jaxplay.config.defaults`, where each is documented)."""
  return config_lib.defaults()


def magnetic_mirror_descent(config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  """Turns PPO's update into a magnetic mirror-descent step (Sokota et al. 2023), the recipe
  that makes self-play converge in zero-sum games: clipping off, a KL penalty to the previous
  policy as the proximal term, a KL pull towards the magnet (a moving average of the
  parameters), and unnormalized Monte-Carlo advantages so that the step follows the payoffs.
  Without it PPO self-play on Kuhn poker cycles around the equilibrium and ends at
  exploitability 0.16-0.54 in our runs (BUILD_NOTES.md)."""
  config.ppo.gae_lambda = 1.0
  config.ppo.normalize_advantages = False
  config.ppo.clip_eps = 10.0        # effectively no clipping: kl_coef is the proximal term
  config.ppo.clip_value = False
  config.ppo.kl_coef = 1.0
  config.ppo.magnet_coef = 0.3
  config.ppo.magnet_ema = 0.02
  config.ppo.final_lr_fraction = 0.0
  return config
