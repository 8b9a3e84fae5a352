"""The run config's one check (`jaxplay.config.check`): every mistake one clear error, what it
returns normalized and frozen, saved configs read back with the fields added since."""

import importlib
import json
import pathlib

import ml_collections
import pytest

from experiments.configs import hsp_partners_overcooked, overcooked
from jaxplay import config as config_lib
from jaxplay.agents import scripted
from jaxplay.core.errors import ConfigError, UnknownGameError


def tiny():
  config = config_lib.defaults()
  config.ppo.num_envs, config.ppo.num_steps = 8, 4
  config.total_env_steps = 8 * 4 * 2
  return config


@pytest.mark.parametrize("change, error, message", [
    (lambda c: setattr(c.ppo, "advantage", "vtrace"), ConfigError, "ppo.advantage must be one of"),
    (lambda c: setattr(c.ppo, "num_envs", 0), ConfigError, "ppo.num_envs must be a positive"),
    (lambda c: setattr(c.ppo, "gamma", 1.5), ConfigError, r"ppo.gamma must be a number in"),
    (lambda c: c.ppo_by_game.update({"kuhn_poker": {"normalize_advantages": 1}}), ConfigError,
     "ppo_by_game.kuhn_poker.normalize_advantages must be True or False"),
    (lambda c: setattr(c.ppo, "magnet_update", "polyak"), ConfigError,
     "ppo.magnet_update must be one of"),
    (lambda c: setattr(c.ppo, "final_magnet_ema_fraction", 2.0), ConfigError,
     r"ppo.final_magnet_ema_fraction must be a number in \[0, 1\]"),
    (lambda c: setattr(c.ppo, "magnet_ema_decay_start", -0.5), ConfigError,
     r"ppo.magnet_ema_decay_start must be a number in \[0, 1\]"),
    (lambda c: setattr(c.ppo, "num_env", 8), ConfigError, "unknown config field 'ppo.num_env'"),
    (lambda c: setattr(c, "mesh", 3), ConfigError, "unknown config field 'mesh'"),
    (lambda c: setattr(c.population, "scheme", "league"), ConfigError,
     "population.scheme must be one of"),
    (lambda c: c.population.update(dict(scheme="pfsp", snapshot_start=5)), ConfigError,
     r"population.snapshot_start must be a multiple of run.updates_per_call \(10\)"),
    (lambda c: c.population.update(dict(scheme="pfsp", return_range=(1.0, -1.0))),
     ConfigError, "return_range must be two finite numbers"),
    (lambda c: setattr(c.population, "meta_solver", "alpharank"), ConfigError,
     "population.meta_solver must be one of"),
    (lambda c: c.update(games=("tic_tac_toe",), population=dict(scheme="psro")), ConfigError,
     "'psro' trains one two-player game measured on its game tree"),
    (lambda c: c.population.update(dict(scheme="psro", iterations=3)), ConfigError,
     r"population.iterations \(3\) exceeds the run's updates \(2\)"),
    (lambda c: setattr(c, "games", ("kuhn_poker", "kuhn_poker")), ConfigError, "must not repeat"),
    (lambda c: setattr(c, "games", ("chess",)), UnknownGameError, "registered games are"),
    (lambda c: setattr(c, "games", ()), ConfigError, "games must be a non-empty sequence"),
    (lambda c: c.reward_scale.update({"tic_tac_toe": 2.0}), ConfigError, "not among games"),
    (lambda c: c.reward_scale.update({"kuhn_poker": -1.0}), ConfigError, "positive number"),
    (lambda c: c.game_options.kuhn_poker.update({"players": 3}), ConfigError,
     "does not take option"),
    (lambda c: setattr(c.game_options.kuhn_poker, "num_players", 11), ConfigError,
     "num_players must be an int in 2..10"),
    (lambda c: setattr(c.game_options.overcooked, "horizon", 50), ConfigError,
     r"game_options.overcooked sets \['horizon'\], but overcooked is not among games"),
    (lambda c: c.game_options.update({"chess": {}}), ConfigError, "not a registered game"),
    (lambda c: setattr(c, "total_env_steps", 10), ConfigError, "at least one update"),
    (lambda c: setattr(c.ppo, "num_minibatches", 10_000), ConfigError, "exceeds the samples"),
    (lambda c: c.ppo_by_game.update({"kuhn_poker": {"advantage": "td"}}), ConfigError,
     "ppo_by_game.kuhn_poker.advantage must be one of"),
    (lambda c: c.ppo_by_game.update({"kuhn_poker": {"learning_rate": 0.1}}), ConfigError,
     "the fields a game can set are"),
    (lambda c: c.ppo_by_game.update({"kuhn_poker": {"kl_coef": -1.0}}), ConfigError,
     r"ppo_by_game.kuhn_poker.kl_coef must be a number"),
    (lambda c: c.ppo_by_game.update({"leduc_poker": {"kl_coef": 1.0}}), ConfigError,
     "not among games"),
    (lambda c: setattr(c.network, "kind", "lstm"), ConfigError, "network.kind must be one of"),
    (lambda c: c.network.update(dict(width=10, heads=4)), ConfigError,
     "multiple of network.heads"),
    (lambda c: setattr(c.network, "depth", 0), ConfigError, "network.depth must be a positive int"),
    (lambda c: c.network.update(dict(kind="mlp", hidden=())), ConfigError,
     "network.hidden must be a non-empty sequence"),
    (lambda c: setattr(c.network, "token_embed", -1), ConfigError, "network.token_embed must be"),
    (lambda c: setattr(c.run, "eval_every", 3), ConfigError,
     "run.eval_every must be a positive multiple"),
    (lambda c: setattr(c.run, "log_every", 0), ConfigError,
     "run.log_every must be a positive multiple"),
    (lambda c: setattr(c.run, "updates_per_call", 0), ConfigError,
     "run.updates_per_call must be a positive int"),
    (lambda c: setattr(c.eval, "num_games", 0), ConfigError, "eval.num_games must be a positive"),
])
def test_bad_configs_raise_one_clear_error(change, error, message):
  config = tiny()
  change(config)
  with pytest.raises(error, match=message):
    config_lib.check(config)


def test_a_checked_config_is_normalized_and_frozen():
  config = tiny()
  config.games = ["kuhn_poker", "overcooked"]
  config.game_options.overcooked.layout = "counter_circuit"
  config.network.hidden = [16, 16]
  checked = config_lib.check(config)
  assert isinstance(checked, ml_collections.FrozenConfigDict)
  assert checked.games == ("kuhn_poker", "overcooked") and checked.network.hidden == (16, 16)
  assert set(checked.game_options) == {"kuhn_poker", "overcooked"}  # only the trained games
  assert checked.game_options.overcooked.layout == "counter_circuit"
  assert checked.game_options.overcooked.horizon == 400  # the game's default, filled in
  assert dict(checked.reward_scale) == {"kuhn_poker": 1.0, "overcooked": 1.0}
  with pytest.raises((AttributeError, ValueError)):
    checked.ppo.num_envs = 3
  assert config_lib.check(checked) == checked  # checking is idempotent
  assert config_lib.num_updates(checked) == 1 and config_lib.steps_per_update(checked) == 64


def test_per_game_ppo_takes_each_games_overrides():
  config = tiny()
  config.games = ("kuhn_poker", "tic_tac_toe")
  config.ppo_by_game.tic_tac_toe = dict(entropy_coef=0.1)
  kuhn, ttt = config_lib.game_ppo(config_lib.check(config))
  assert kuhn.entropy_coef == 0.01 and ttt.entropy_coef == 0.1
  assert kuhn.learning_rate == ttt.learning_rate == 3e-4


def test_a_saved_config_reads_back_with_fields_added_since():
  checked = config_lib.check(tiny())
  saved = json.loads(config_lib.to_json(checked))
  del saved["ppo"]["final_magnet_fraction"]     # a field added after the run
  del saved["game_options"]["kuhn_poker"]       # an older run kept only the options it set
  again = config_lib.check(config_lib.from_saved(saved))
  assert again.ppo.final_magnet_fraction == 1.0
  assert config_lib.differences(config_lib.learned_part(again),
                                config_lib.learned_part(checked)) == []
  changed = tiny()
  changed.ppo.learning_rate = 1e-3
  changed.run.log_every = 20  # may change on resume: not part of what is learned
  assert config_lib.differences(config_lib.learned_part(checked),
                                config_lib.learned_part(config_lib.check(changed))) == [
      "ppo.learning_rate: 0.0003 -> 0.001"]


def test_every_game_option_can_be_set_from_the_defaults():
  """`--config.game_options.<game>.<option>=...` needs the field in the config file's config:
  the defaults list every option of every game, and each takes any type."""
  config = config_lib.defaults()
  config.game_options.negotiation.objective = 0.5   # declared with a str default
  config.game_options.overcooked.pad_to = (7, 9)    # declared with a None default
  config.games = ("negotiation", "overcooked")
  checked = config_lib.check(config)
  assert checked.game_options.negotiation.objective == 0.5
  assert checked.game_options.overcooked.pad_to == (7, 9)


def test_a_plain_dict_with_some_fields_takes_the_defaults_for_the_rest():
  checked = config_lib.check({"games": ["tic_tac_toe"], "ppo": {"num_envs": 8}})
  assert checked.games == ("tic_tac_toe",) and checked.ppo.num_envs == 8
  assert checked.ppo.num_steps == config_lib.defaults().ppo.num_steps


LAYOUTS = ("cramped_room", "asymmetric_advantages", "coordination_ring",
           "forced_coordination", "counter_circuit")
SHIPPED_ARGUMENTS = {
    "overcooked": LAYOUTS, "heldout_overcooked": LAYOUTS, "fcp_partners_overcooked": LAYOUTS,
    "fcp_overcooked": LAYOUTS, "cole_overcooked": LAYOUTS, "e3t_overcooked": LAYOUTS,
    "br_overcooked": LAYOUTS + tuple(f"{layout},{partner}" for layout in LAYOUTS
                                     for partner in scripted.PARTNERS),
    "negotiation": ("cooperative", "semi_competitive", "competitive"),
    "hsp_partners_overcooked": tuple(f"{layout},{bias}" for layout in LAYOUTS
                                     for bias in hsp_partners_overcooked.BIASES)}


def test_every_shipped_config_passes_the_check_with_each_documented_argument():
  folder = pathlib.Path(__file__).parents[1] / "experiments" / "configs"
  names = sorted(p.stem for p in folder.glob("*.py") if p.stem not in ("__init__", "common"))
  assert len(names) >= 14 and set(SHIPPED_ARGUMENTS) <= set(names)
  for name in names:
    module = importlib.import_module(f"experiments.configs.{name}")
    for argument in SHIPPED_ARGUMENTS.get(name, (None,)):
      config = module.get_config() if argument is None else module.get_config(argument)
      if name == "fcp_overcooked":   # stage 2 names stage 1's workdir on the command line
        config.population.partners = "/tmp/stage_1"
      checked = config_lib.check(config)
      if argument in LAYOUTS or name == "hsp_partners_overcooked":
        assert checked.game_options.overcooked.layout == argument.split(",")[0], (name, argument)


def test_zero_shot_configs_keep_the_recipe_their_results_were_recorded_with():
  """Self-play on counter_circuit anneals its entropy from 0.05; the zero-shot-coordination
  configs build on the recipe before that change (results/zsc.md), every layout."""
  for layout in LAYOUTS:
    self_play = overcooked.get_config(layout).ppo
    anneals = layout == "counter_circuit"
    assert self_play.entropy_coef == (0.05 if anneals else 0.01), layout
    assert self_play.final_entropy_coef == 0.01, layout
    for name in ("heldout_overcooked", "fcp_partners_overcooked", "fcp_overcooked",
                 "cole_overcooked", "br_overcooked", "e3t_overcooked"):
      config = importlib.import_module(f"experiments.configs.{name}").get_config(layout)
      assert config.ppo.entropy_coef == config.ppo.final_entropy_coef == 0.01, (name, layout)
      assert config.shaping.anneal_env_steps == (6_000_000 if anneals else 2_500_000)
