"""Training throughput on Overcooked: jaxplay's PPO against JaxMARL's IPPO, same batch, one
process.

    python -m benchmarks.train_overcooked                       # 5M env steps each, best of 1
    python -m benchmarks.train_overcooked --total_env_steps=8192 --repeats=3   # a smoke test
    python -m benchmarks.train_overcooked --num_envs=4096 --total_env_steps=3145728  # a GPU's batch

JaxMARL IPPO: JaxMARL's Overcooked (`jaxmarl.make("overcooked", ...)` under its `LogWrapper`)
trained by an IPPO written here in the PureJaxRL style with the setting JaxMARL publishes for
`ippo_ff_overcooked`: separate actor and critic MLPs (64-64, tanh) on the flattened
observation, 16 envs x 128 steps, 4 epochs x 4 minibatches, Adam 2.5e-4 annealed to 0, shaped
reward (`info["shaped_reward"]`) added with a weight annealed from 1 to 0 over 2.5M env steps.
jaxplay: `Learner` from experiments/configs/overcooked.py with the same batch and network.

Each library's whole training loop (one `lax.scan` over updates) is compiled ahead of time and
timed apart from its run. An env step is one joint step of both cooks (B x T per update).
Timed runs alternate between the libraries, each from its initial state; each keeps its best.
The final return is the mean SPARSE (delivery-only) return of the episodes that ended in the
last ~10% of updates: the LogWrapper sees only the env's reward, which is sparse (the shaping
is added by the trainer after it), and jaxplay's `overcooked/return_0` is the raw return.
"""

from __future__ import annotations

import dataclasses
import platform
import time
from typing import Any, Callable, NamedTuple

import distrax
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
from absl import app, flags
from flax.training.train_state import TrainState

import jaxplay
from experiments.configs import overcooked as overcooked_config
from jaxplay.learn.learner import Learner

_TOTAL_ENV_STEPS = flags.DEFINE_integer("total_env_steps", 5_000_000,
                                        "Env steps (joint steps of both cooks) per run.")
_REPEATS = flags.DEFINE_integer("repeats", 1,
                                "Timed runs per library (alternating); the best counts.")
_SEED = flags.DEFINE_integer("seed", 0, "Seed of both runs.")
_LAYOUT = flags.DEFINE_string("layout", "cramped_room", "Overcooked layout (same names in both).")
_NUM_ENVS = flags.DEFINE_integer("num_envs", 16, "Games an update, both libraries (IPPO's "
                                 "published setting: 16); the rest of the batch stays.")

# JaxMARL's published ippo_ff_overcooked setting.
IPPO = dict(NUM_ENVS=16, NUM_STEPS=128, UPDATE_EPOCHS=4, NUM_MINIBATCHES=4, LR=2.5e-4,
            GAMMA=0.99, GAE_LAMBDA=0.95, CLIP_EPS=0.2, ENT_COEF=0.01, VF_COEF=0.5,
            MAX_GRAD_NORM=0.5, REW_SHAPING_HORIZON=2_500_000)


@dataclasses.dataclass
class Subject:
  """One library's training run: a jittable `train(state, num_updates) -> (state, metrics)`."""

  name: str
  state: Any
  train: Callable[[Any, int], tuple[Any, Any]]
  num_updates: int
  steps_per_update: int
  final_return: Callable[[Any], float]  # stacked per-update metrics -> mean sparse return


# --- JaxMARL IPPO ------------------------------------------------------------------------------

class ActorCritic(nn.Module):
  """Separate actor and critic MLPs, 64-64 tanh, on the flattened observation."""

  num_actions: int

  @nn.compact
  def __call__(self, obs: jax.Array) -> tuple[distrax.Categorical, jax.Array]:
    dense = lambda n, scale: nn.Dense(n, kernel_init=nn.initializers.orthogonal(scale),
                                      bias_init=nn.initializers.zeros)
    actor = nn.tanh(dense(64, np.sqrt(2))(obs))
    actor = nn.tanh(dense(64, np.sqrt(2))(actor))
    logits = dense(self.num_actions, 0.01)(actor)
    critic = nn.tanh(dense(64, np.sqrt(2))(obs))
    critic = nn.tanh(dense(64, np.sqrt(2))(critic))
    return distrax.Categorical(logits=logits), dense(1, 1.0)(critic)[:, 0]


class Transition(NamedTuple):
  done: jax.Array       # [A] actors = agents x envs
  action: jax.Array
  value: jax.Array
  reward: jax.Array     # sparse + weight x shaped
  log_prob: jax.Array
  obs: jax.Array        # [A, obs_dim]


def jaxmarl_subject(layout: str, total_env_steps: int, seed: int, num_envs: int) -> Subject:
  import jaxmarl  # the peer library; a benchmark dependency only
  from jaxmarl.environments.overcooked import overcooked_layouts
  from jaxmarl.wrappers.baselines import LogWrapper

  env = LogWrapper(jaxmarl.make("overcooked", layout=overcooked_layouts[layout]))
  agents, c = env.agents, dict(IPPO, NUM_ENVS=num_envs)
  steps_per_update = num_envs * c["NUM_STEPS"]
  num_updates = total_env_steps // steps_per_update
  network = ActorCritic(env.action_space(agents[0]).n)
  batchify = lambda d: jnp.concatenate([d[a].reshape(num_envs, -1) for a in agents])  # [A, ...]
  unbatchify = lambda x: {a: x[i * num_envs:(i + 1) * num_envs] for i, a in enumerate(agents)}

  def init(seed: int):
    key, net_key, env_key = jax.random.split(jax.random.PRNGKey(seed), 3)
    obs_dim = int(np.prod(env.observation_space(agents[0]).shape))
    lr = lambda count: c["LR"] * (1.0 - (count // (c["NUM_MINIBATCHES"] * c["UPDATE_EPOCHS"]))
                                  / num_updates)
    tx = optax.chain(optax.clip_by_global_norm(c["MAX_GRAD_NORM"]), optax.adam(lr, eps=1e-5))
    train_state = TrainState.create(apply_fn=network.apply, tx=tx,
                                    params=network.init(net_key, jnp.zeros((1, obs_dim))))
    obs, env_state = jax.vmap(env.reset)(jax.random.split(env_key, num_envs))
    return train_state, env_state, obs, key, jnp.int32(0)

  def env_step(params, shaping, carry, _):
    env_state, obs, key = carry
    key, act_key, step_key = jax.random.split(key, 3)
    obs_batch = batchify(obs).astype(jnp.float32)
    pi, value = network.apply(params, obs_batch)
    action = pi.sample(seed=act_key)
    obs, env_state, reward, done, info = jax.vmap(env.step)(
        jax.random.split(step_key, num_envs), env_state, unbatchify(action))
    reward = batchify(reward)[:, 0] + shaping * batchify(info["shaped_reward"])[:, 0]
    transition = Transition(batchify(done)[:, 0], action, value, reward, pi.log_prob(action),
                            obs_batch)
    # Per env: whether an episode ended, and its sparse return (the LogWrapper's sum of rewards).
    episode = (info["returned_episode"][:, 0], info["returned_episode_returns"][:, 0])
    return (env_state, obs, key), (transition, episode)

  def gae(traj: Transition, last_value: jax.Array) -> tuple[jax.Array, jax.Array]:
    def backward(carry, t):
      advantage, next_value = carry
      delta = t.reward + c["GAMMA"] * next_value * (1 - t.done) - t.value
      advantage = delta + c["GAMMA"] * c["GAE_LAMBDA"] * (1 - t.done) * advantage
      return (advantage, t.value), advantage

    _, advantages = jax.lax.scan(backward, (jnp.zeros_like(last_value), last_value), traj,
                                 reverse=True)
    return advantages, advantages + traj.value

  def loss_fn(params, traj: Transition, advantage: jax.Array, target: jax.Array):
    pi, value = network.apply(params, traj.obs)
    clipped = traj.value + jnp.clip(value - traj.value, -c["CLIP_EPS"], c["CLIP_EPS"])
    value_loss = 0.5 * jnp.maximum((value - target) ** 2, (clipped - target) ** 2).mean()
    ratio = jnp.exp(pi.log_prob(traj.action) - traj.log_prob)
    advantage = (advantage - advantage.mean()) / (advantage.std() + 1e-8)
    actor_loss = -jnp.minimum(ratio * advantage, jnp.clip(
        ratio, 1 - c["CLIP_EPS"], 1 + c["CLIP_EPS"]) * advantage).mean()
    return actor_loss + c["VF_COEF"] * value_loss - c["ENT_COEF"] * pi.entropy().mean()

  def epoch(carry, _):
    train_state, batch, key = carry
    key, perm_key = jax.random.split(key)
    size = c["NUM_STEPS"] * 2 * num_envs
    order = jax.random.permutation(perm_key, size)
    minibatches = jax.tree.map(
        lambda x: x.reshape((size,) + x.shape[2:])[order].reshape(
            (c["NUM_MINIBATCHES"], -1) + x.shape[2:]), batch)

    def minibatch(train_state, mb):
      grads = jax.grad(loss_fn)(train_state.params, *mb)
      return train_state.apply_gradients(grads=grads), None

    train_state, _ = jax.lax.scan(minibatch, train_state, minibatches)
    return (train_state, batch, key), None

  def update(runner, _):
    train_state, env_state, obs, key, i = runner
    env_steps = i.astype(jnp.float32) * steps_per_update
    shaping = jnp.maximum(0.0, 1.0 - env_steps / c["REW_SHAPING_HORIZON"])
    (env_state, obs, key), (traj, (ended, sparse_return)) = jax.lax.scan(
        lambda carry, x: env_step(train_state.params, shaping, carry, x),
        (env_state, obs, key), None, length=c["NUM_STEPS"])
    _, last_value = network.apply(train_state.params, batchify(obs).astype(jnp.float32))
    advantage, target = gae(traj, last_value)
    (train_state, _, key), _ = jax.lax.scan(
        epoch, (train_state, (traj, advantage, target), key), None, length=c["UPDATE_EPOCHS"])
    metrics = dict(episodes=ended.sum(), return_sum=(sparse_return * ended).sum())
    return (train_state, env_state, obs, key, i + 1), metrics

  def train(runner, num_updates: int):
    return jax.lax.scan(update, runner, None, length=num_updates)

  def final_return(metrics) -> float:
    tail = jax.device_get(jax.tree.map(lambda x: x[-max(1, num_updates // 10):], metrics))
    return float(tail["return_sum"].sum() / max(tail["episodes"].sum(), 1))

  return Subject("JaxMARL IPPO", init(seed), train, num_updates, steps_per_update, final_return)


# --- jaxplay -----------------------------------------------------------------------------------

def jaxplay_subject(layout: str, total_env_steps: int, seed: int, num_envs: int) -> Subject:
  config = overcooked_config.get_config(layout)
  config.total_env_steps = total_env_steps
  config.ppo.num_envs, config.ppo.num_steps = num_envs, IPPO["NUM_STEPS"]
  config.ppo.num_epochs = IPPO["UPDATE_EPOCHS"]
  config.ppo.num_minibatches = IPPO["NUM_MINIBATCHES"]
  config.network.kind, config.network.hidden, config.network.separate_critic = (
      "mlp", (64, 64), True)
  learner = Learner(config)
  num_updates = learner.num_updates
  tail = max(1, num_updates // 10)

  def train(state, num_updates: int):  # every update's metrics, as the IPPO loop keeps them
    return jax.lax.scan(lambda s, _: learner.update(s), state, None, length=num_updates)

  def final_return(metrics) -> float:
    last = jax.tree.map(lambda x: x[-tail:], metrics)
    return float(learner.chunk_metrics(last, jnp.ones(tail, bool))["overcooked/return_0"])

  return Subject("jaxplay", learner.init(seed), train, num_updates, learner.steps_per_update,
                 final_return)


# --- the harness -------------------------------------------------------------------------------

def compile_subject(subject: Subject) -> tuple[Callable, float]:
  """The whole training run compiled ahead of time, and the seconds that took."""
  start = time.perf_counter()
  compiled = jax.jit(subject.train, static_argnums=1).lower(
      subject.state, subject.num_updates).compile()
  return compiled, time.perf_counter() - start


def main(argv):
  del argv
  device = jax.devices()[0]
  print(f"# {platform.node()} | {device.platform} {device.device_kind} | jax {jax.__version__} "
        f"| jaxplay {jaxplay.__version__} | overcooked {_LAYOUT.value} | {_NUM_ENVS.value} games "
        f"| best of "
        f"{_REPEATS.value}", flush=True)
  args = (_LAYOUT.value, _TOTAL_ENV_STEPS.value, _SEED.value, _NUM_ENVS.value)
  subjects = [jaxmarl_subject(*args), jaxplay_subject(*args)]
  compiled, results = {}, {}
  for subject in subjects:
    compiled[subject.name], compile_s = compile_subject(subject)
    results[subject.name] = dict(compile_s=compile_s, run_s=float("inf"), final=float("nan"))
  for _ in range(_REPEATS.value):
    for subject in subjects:  # alternate, so a burst of load falls on both alike
      start = time.perf_counter()
      _, metrics = jax.block_until_ready(compiled[subject.name](subject.state))
      result = results[subject.name]
      result["run_s"] = min(result["run_s"], time.perf_counter() - start)
      result["final"] = subject.final_return(metrics)

  print("| library | env steps | compile s | run s | steps/s | final sparse return |")
  print("|---|---|---|---|---|---|")
  rates = {}
  for subject in subjects:
    result, steps = results[subject.name], subject.num_updates * subject.steps_per_update
    rates[subject.name] = steps / result["run_s"]
    print(f"| {subject.name} | {steps:,} | {result['compile_s']:.1f} | {result['run_s']:.1f} | "
          f"{rates[subject.name]:,.0f} | {result['final']:.2f} |")
  print(f"\njaxplay / JaxMARL IPPO steps/s: {rates['jaxplay'] / rates['JaxMARL IPPO']:.2f}x")


if __name__ == "__main__":
  app.run(main)
