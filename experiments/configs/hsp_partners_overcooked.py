"""Hidden-utility self-play's biased partners (Yu et al. 2023, "Learning zero-shot cooperation
with humans, assuming humans are biased"): a pair of PPO learners, one a seat, trained
together, the one in seat 0 on the game's reward plus a hidden reward over the cook's events
(`game_options.overcooked.event_rewards`), the one in seat 1 on the game's reward plus
overcooked-ai's shaping. The biased learner takes one part of the work and leaves the rest;
its partner learns to do the rest. Both, at the end and half way, join an FCP stage-2 pool
beside stage 1's self-play partners:

    python -m experiments.train --config=experiments/configs/hsp_partners_overcooked.py:coordination_ring,onion \
        --workdir=/tmp/hsp_onion
    python -m experiments.train --config=experiments/configs/fcp_overcooked.py:coordination_ring \
        --config.population.partners=/tmp/fcp_partners,/tmp/hsp_onion,/tmp/hsp_dish,/tmp/hsp_idle \
        --workdir=/tmp/hsp

The argument is "layout,bias", a bias of `BIASES`. The biases here are hand-picked events
(HSP samples event weights at random and keeps a diverse subset): with the team's 20 a soup
shared by both cooks, a weight of -10 on a step makes the biased cook leave it to its
partner. The shaping is not annealed (the hidden reward stays to the end). Recorded runs:
results/zsc.md ("Biased partners").
"""

from experiments.configs import overcooked

BIASES = {
    # fills pots, never takes a dish or a soup: its partner plates and serves
    "onion": "onion_in_pot=5,dish_pickup=-10,soup_pickup=-10",
    # takes dishes and soups, never an onion: its partner fills the pots
    "dish": "onion_pickup=-10,soup_pickup=5",
    # touches nothing: its partner cooks alone
    "idle": "onion_pickup=-10,dish_pickup=-10,take_from_counter=-10",
}


def get_config(argument: str = "cramped_room,onion"):
  layout, _, bias = argument.partition(",")
  if bias not in BIASES:
    raise ValueError(f"hsp_partners_overcooked: the argument is 'layout,bias' with a bias of "
                     f"{sorted(BIASES)}, got {argument!r}")
  config = overcooked.zsc_recipe(layout)
  config.game_options.overcooked.event_rewards = (BIASES[bias], "")
  config.shaping.anneal_env_steps = 10 ** 15  # never annealed: the bias stays
  config.population.scheme = "self_play"
  config.population.num_learners = 2
  config.population.per_seat = True
  config.population.capacity = 2              # a seat: the learner and its half-way copy
  updates = config.total_env_steps // (config.ppo.num_envs * config.ppo.num_steps)
  config.population.snapshot_every = updates // 2 // 10 * 10
  config.population.snapshot_start = config.population.snapshot_every
  config.eval.num_games = 32
  return config
