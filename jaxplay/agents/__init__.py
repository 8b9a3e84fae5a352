"""Agents: policy-value networks (a transformer over observation tokens, an MLP baseline) with
the masked policy head, and the agents that play seats in matches (random, perfect, a policy;
scripted Overcooked partners in `scripted`)."""

from jaxplay.agents.agent import Actors, Agent, perfect_agent, policy_agent, random_agent
from jaxplay.agents.networks import MLP, Transformer, make_network
from jaxplay.agents.policy import masked_logits, masked_policy, masked_probs
from jaxplay.agents.scripted import (dish_fetcher, independent_cook, onion_fetcher,
                                     random_partner, static_partner)
