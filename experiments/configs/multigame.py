"""One transformer trained by self-play on Kuhn poker, tic-tac-toe and cooperative negotiation
at once (SPIRAL's setting): observations padded to one token shape (the padding masked out of
attention), actions padded to one head and a game embedding. The zero-sum games learn with
the magnetic recipe: tic-tac-toe with SPIRAL's RAE baselines per game and role, Kuhn with the
critic (as its single-game agent), because a baseline per role cannot see the private card;
negotiation keeps the recipe of its single-game config. Per-game settings are `ppo_by_game`.

    python -m experiments.train --config=experiments/configs/multigame.py --workdir=/tmp/multi

Each game keeps its own evaluator (exploitability, play against perfect and random play,
negotiation metrics), so the run compares directly with the single-game configs.

Expected: each game's metric within 10% of its single-game agent after the 12M steps (4M a
game), about an hour on a 2-core CPU shared with other runs (one seed recorded); recorded
runs: results/multigame.md.
"""

from experiments.configs import common


def get_config():
  config = common.magnetic_mirror_descent(common.base())
  config.games = ("kuhn_poker", "tic_tac_toe", "negotiation")
  config.game_options.negotiation.objective = "cooperative"
  config.reward_scale.negotiation = 0.1
  config.total_env_steps = 12_000_000   # 4M per game
  config.network.width = 32
  config.network.depth = 2
  config.network.heads = 2
  config.ppo.advantage = "rae"          # SPIRAL: an EMA return baseline per game and role
  config.ppo.num_envs = 256             # of each game: 3 x 256 x 16 env steps per update
  config.ppo.num_steps = 16
  config.ppo.learning_rate = 1e-3
  config.ppo.entropy_coef = 0.05
  config.ppo.final_entropy_coef = 0.01
  # Negotiation is cooperative: it learns as the single-game agent does (plain PPO with a
  # critic, normalized and clipped), not with the zero-sum games' magnetic recipe.
  config.ppo_by_game.negotiation = dict(
      advantage="gae", gae_lambda=0.95, normalize_advantages=True, clip_eps=0.2, kl_coef=0.0,
      magnet_coef=0.0, entropy_coef=0.01, final_entropy_coef=0.0)
  # Kuhn learns as its single-game agent: advantages from the critic (Monte-Carlo returns less
  # its value), since RAE's baseline per role does not see the private card, whose spread then
  # stays in every advantage; and its constant entropy bonus.
  config.ppo_by_game.kuhn_poker = dict(advantage="gae", entropy_coef=0.01,
                                       final_entropy_coef=0.01)
  config.run.log_every = 20
  config.run.eval_every = 100
  config.run.checkpoint_every = 100
  config.eval.greedy = True
  return config
