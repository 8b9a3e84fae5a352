"""Learning: rollouts, advantages (GAE, RAE), the PPO loss, the self-play learner and the
evaluation of a learner's policies with each game's own evaluator."""
