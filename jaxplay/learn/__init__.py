"""Learning: rollouts, advantages (GAE, RAE), the PPO loss and the self-play trainer."""
