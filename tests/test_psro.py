"""PSRO with the PPO oracle on Kuhn poker (tiny): the populations grow a member a seat an
iteration, the meta-game is exact, and the reported exploitability is the aggregated
meta-strategy's."""

import numpy as np
import pytest

from jaxplay import config as config_lib
from jaxplay.core.errors import ConfigError
from jaxplay.eval import meta_game
from jaxplay.eval.exploitability import exploitability
from jaxplay.learn.learner import Learner
from jaxplay.learn.psro import PSRO


def kuhn_learner(updates):
  config = config_lib.defaults()
  config.network.kind, config.network.hidden = "mlp", (32,)
  config.ppo.num_envs, config.ppo.num_steps = 64, 4
  config.ppo.learning_rate = 3e-3
  config.ppo.num_epochs, config.ppo.num_minibatches = 2, 2
  config.total_env_steps = 64 * 4 * updates
  return Learner(config)


def test_psro_grows_the_populations_and_reports_the_meta_strategy():
  psro = PSRO(kuhn_learner(updates=9), iterations=3)
  assert psro.updates_per_iteration == 3
  state = psro.init(0)
  reports = []
  for _ in range(3):
    state, report = psro.iteration(state)
    reports.append(report)
  assert [r.iteration for r in reports] == [1, 2, 3]
  assert np.asarray(state.live).reshape(2, -1).sum(1).tolist() == [4, 4]  # 3 frozen + learner
  last = reports[-1]
  assert last.payoff.shape == (3, 3, 2)
  np.testing.assert_allclose(last.payoff[..., 0], -last.payoff[..., 1], atol=1e-12)
  for weights in last.weights:
    assert weights.shape == (3,) and np.isclose(weights.sum(), 1.0) and (weights >= 0).all()
  # The reported number is the exact exploitability of the aggregated meta-strategy.
  tables = psro.member_tables(state)[:, :4]
  tables = [t[:3] for t in tables]  # the members the last report measured
  again = exploitability(psro.tree, meta_game.aggregate_policy(psro.tree, tables,
                                                              list(last.weights)))
  assert last.exploitability == pytest.approx(again.exploitability, abs=1e-9)
  assert 0.0 <= last.exploitability < 0.5


def test_bad_psro_settings_are_one_clear_error():
  learner = kuhn_learner(updates=2)
  with pytest.raises(ConfigError, match="iterations must be in 1..2"):
    PSRO(learner, iterations=3)
  with pytest.raises(ConfigError, match="meta_solver must be one of"):
    PSRO(learner, iterations=1, meta_solver="alpharank")
