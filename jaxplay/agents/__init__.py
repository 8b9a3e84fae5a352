"""Policy-value networks (a transformer over observation tokens, an MLP baseline) and the
masked policy head."""

from jaxplay.agents.networks import MLP, Transformer, make_network
from jaxplay.agents.policy import masked_logits, masked_policy, masked_probs
