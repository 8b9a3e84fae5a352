"""Every field a training config has, with its default; game configs start from `base()`.

Override any field on the command line: `--config.ppo.learning_rate=1e-3`.
"""

import ml_collections


def base() -> ml_collections.ConfigDict:
  config = ml_collections.ConfigDict()
  config.seed = 0
  config.games = ("kuhn_poker",)         # trained together by one network
  config.game_options = ml_collections.ConfigDict()   # {game: {make keyword: value}}
  config.reward_scale = ml_collections.ConfigDict()   # {game: factor on its training rewards}
  config.ppo_by_game = ml_collections.ConfigDict()  # {game: {ppo field: value}} overrides
  config.total_env_steps = 1_000_000     # over all games: num_envs x num_steps x games per update

  config.network = ml_collections.ConfigDict()
  config.network.kind = "transformer"    # or "mlp"
  config.network.width = 64              # transformer: token width
  config.network.depth = 2               # transformer: blocks
  config.network.heads = 4
  config.network.mlp_ratio = 2
  config.network.hidden = (128, 128)     # mlp: hidden layer sizes
  config.network.separate_critic = False  # mlp: a second trunk for the value (JaxMARL IPPO's)
  config.network.token_embed = 0         # mlp: map each token to this many features first

  config.ppo = ml_collections.ConfigDict()
  config.ppo.num_envs = 256              # B games of each game, side by side
  config.ppo.num_steps = 16              # T steps per rollout
  config.ppo.num_epochs = 4
  config.ppo.num_minibatches = 4
  config.ppo.learning_rate = 3e-4        # Adam
  config.ppo.final_lr_fraction = 1.0     # linear schedule to learning_rate x this at the end
  config.ppo.max_grad_norm = 0.5
  config.ppo.gamma = 1.0
  config.ppo.gae_lambda = 0.95
  config.ppo.advantage = "gae"           # or "rae": SPIRAL's role-conditioned advantages
  config.ppo.rae_alpha = 0.95            # RAE's baseline: b <- alpha b + (1 - alpha) R
  config.ppo.bootstrap_truncated = True  # bootstrap from the value where a time limit cuts a game
  config.ppo.clip_eps = 0.2
  config.ppo.clip_value = True
  config.ppo.value_coef = 0.5
  config.ppo.entropy_coef = 0.01
  config.ppo.final_entropy_coef = 0.01   # linear schedule to this at the end
  config.ppo.normalize_advantages = True
  config.ppo.kl_coef = 0.0               # KL(old policy || policy): a proximal term
  config.ppo.magnet_coef = 0.0           # KL(policy || magnet): magnetic mirror descent
  config.ppo.final_magnet_fraction = 1.0  # linear schedule to magnet_coef x this at the end
  config.ppo.magnet_ema = 0.01           # the magnet: parameters averaged with this step
  config.ppo.final_magnet_ema_fraction = 1.0  # linear schedule to magnet_ema x this at the end,
  config.ppo.magnet_ema_decay_start = 0.0     # starting at this fraction of the run
  config.ppo.magnet_update = "ema"       # or "distill": the magnet learns the played policies
  config.ppo.magnet_lr = 1e-4            # "distill": Adam step size, one step an update

  config.shaping = ml_collections.ConfigDict()
  config.shaping.coef = 0.0              # weight of the env's shaped rewards (Overcooked)
  config.shaping.anneal_env_steps = 1    # linearly down to 0 over this many env steps

  config.run = ml_collections.ConfigDict()
  config.run.updates_per_call = 10       # K updates per compiled call
  config.run.log_every = 10              # updates between progress lines (a multiple of K)
  config.run.eval_every = 50             # updates between evaluations (0: only at the end)
  config.run.checkpoint_every = 100      # updates between checkpoints (and at the end)
  config.run.keep_checkpoints = 3

  config.eval = ml_collections.ConfigDict()
  config.eval.num_games = 1000           # games per match or metric evaluation
  config.eval.greedy = False             # play the most likely action instead of sampling
  config.eval.magnet = True              # also evaluate the averaged parameters (the magnet)
  return config


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
