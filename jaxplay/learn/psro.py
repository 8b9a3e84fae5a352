"""PSRO (Lanctot et al. 2017) with a PPO oracle, for two-player games with one population per
seat, and with exact meta-games where the game tree is small enough to build.

    psro = PSRO(learner, iterations=20)    # the config's updates, spread over 20 iterations
    state = psro.init(seed=0)
    for _ in range(psro.iterations):
      state, report = psro.iteration(state)    # train, measure, freeze, continue
      report.exploitability                    # of the meta-strategy, played behaviourally

Each iteration (one compiled chunk of PPO updates, then host-side exact passes):

1. the two learners (one a seat, `Population(per_seat=True)`) train `updates_per_iteration`
   PPO updates as best responses to the other seat's meta-strategy (opponents drawn per
   game from the meta-solver's mixture over the frozen members, solved at the end of the
   last iteration; the frozen members play from their policy tables, `tabular`, so that only
   the learners' networks run whatever the capacity);
2. the meta-game of every live member, the learners included, is computed exactly on the
   game tree (each member's policy on every information set; `meta_game.payoff_tensor`) and
   written into the population's payoff matrix;
3. its meta-strategies are solved: the one the next best responses train against
   (`meta_solver`) and the one PSRO outputs (`output_meta_solver`, by default the same), each
   e.g. a Nash equilibrium of the meta-game or anytime double oracle's least exploitable
   mixture; each is played as a behavioural policy (members mixed per information set by
   weight and own reach, `meta_game.aggregate_policy`) and its exploitability / NashConv
   measured exactly: the output's is the number PSRO reports;
4. the learners are frozen and the next best responses start in the next slots, from newly
   initialized networks or warm from the last ones (`Population.next_generation`).

Shapes are fixed by the capacity (`iterations + 1` members a seat), so the training chunk,
the member tables and the exact passes compile once for the whole run.

Data parallelism (`config.parallel.data`, `parallel.shards`): the best responses' updates run
over the learner's device mesh as any population's (`Population`: the result depends on the
shard count, not on the devices); the exact passes run on the host from every member's
parameters (on many hosts each process its own copy, with the same result), and what they
write back into the state (the payoff matrix, the meta-strategies) is replicated over the
mesh.
"""

from __future__ import annotations

import copy
import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from jaxplay.core.errors import ConfigError
from jaxplay.eval import meta_game, meta_strategy
from jaxplay.eval.exploitability import Exploitability, exploitability
from jaxplay.eval.tree import build_tree
from jaxplay.learn import compiling, tabular
from jaxplay.learn.learner import Learner
from jaxplay.learn.population import GIVEN, Population, PopulationState
from jaxplay.parallel import hosts


@dataclasses.dataclass(frozen=True)
class Report:
  """What one PSRO iteration measured.

  Attributes:
    iteration: iterations done (1 after the first).
    exploitability, nash_conv: of the meta-strategy over every live member, played as a
      behavioural policy.
    weights: per seat, float64[members] the meta-strategy over that seat's live members.
    payoff: float64[N_0, N_1, 2] the exact meta-game of the live members.
    training: the training metrics of the iteration's updates (averaged).
    policy: float64[I, A] the meta-strategy as a behavioural policy on the tree's
      information sets (what is measured, and what goes to OpenSpiel).
    best_response_gap: per seat, what an exact best response to the opponents the seat's
      learner trained against gains over that learner (0: the oracle was exact); the first
      iteration's learners trained against each other, measured against the other's end.
      NaN where not measured (`measure` of a finished run).
    opponent_weights: per seat, float64[members] the training meta-strategy (`meta_solver`'s),
      which the next best responses play against: `weights` unless `output_meta_solver`
      differs.
    opponent_exploitability: that meta-strategy's exploitability.
  """

  iteration: int
  exploitability: float
  nash_conv: float
  weights: tuple[np.ndarray, np.ndarray]
  payoff: np.ndarray
  training: dict[str, float]
  policy: np.ndarray
  best_response_gap: tuple[float, float] = (float("nan"), float("nan"))
  opponent_weights: tuple[np.ndarray, np.ndarray] | None = None
  opponent_exploitability: float = float("nan")


class PSRO:
  """PSRO with PPO best responses (see the module docstring).

  Args:
    learner: the PPO learner (games, network, optimizer); its config's updates
      (`total_env_steps`) are spread evenly over the iterations, and each best response
      follows the config's schedules (entropy coefficient, ...) from start to end.
    iterations: best responses added per seat; the population holds iterations + 1 a seat.
    meta_solver: the meta-strategy the best responses train against: "nash", "prd",
      "uniform" (fictitious play) or "least_exploitable" (anytime double oracle's: each
      seat's mixture least exploitable in the whole game, found with exact best responses on
      the tree, `jaxplay.eval.least_exploitable`; at most `meta_rounds` of them a seat).
    output_meta_solver: the meta-strategy PSRO outputs, measures (the reported
      exploitability) and exports; one of the same (default: `meta_solver`).
    fresh: each best response starts from a newly initialized network (OpenSpiel's PSRO's
      choice), or warm from the previous one. Warm starts stall on Kuhn: a self-play
      learner's policy turns nearly deterministic and PPO no longer moves it (BUILD_NOTES).

  Raises:
    ConfigError: a game that is not one two-player game whose tree can be built, fewer
      updates than iterations, or an unknown meta-solver.
  """

  def __init__(self, learner: Learner, iterations: int, meta_solver: str = "nash",
               fresh: bool = True, meta_rounds: int = 100, output_meta_solver: str = ""):
    output_meta_solver = output_meta_solver or meta_solver
    _check_solver("meta_solver", meta_solver)
    _check_solver("output_meta_solver", output_meta_solver)
    self.output_meta_solver = output_meta_solver
    if not 1 <= iterations <= learner.num_updates:
      raise ConfigError(f"psro: iterations must be in 1..{learner.num_updates} (the config's "
                        f"updates, total_env_steps / steps per update), got {iterations!r}")
    self.learner, self.iterations, self.meta_solver = learner, iterations, meta_solver
    self.fresh, self.meta_rounds = fresh, meta_rounds
    self.updates_per_iteration = learner.num_updates // iterations
    # The meta-strategy changes once an iteration: it is solved on the host from the exact
    # meta-game and given to the learners, rather than re-solved (1000 solver iterations)
    # inside every compiled update from the same numbers.
    self.population = Population(learner, capacity=iterations + 1, scheme=GIVEN,
                                 per_seat=True, schedule_period=self.updates_per_iteration)
    self.tree = build_tree(learner.games.raw[0])
    tree = self.tree
    self._train = jax.jit(self.population.train_chunk, static_argnums=1,
                          compiler_options=compiling.compiler_options(learner.config))
    self._next = jax.jit(self.population.next_generation, static_argnums=1)
    observation = learner.games.pad_observation(jnp.asarray(tree.infoset_observation))
    legal = jnp.asarray(tree.infoset_legal)
    self._tables = jax.jit(jax.vmap(
        lambda params: learner.policy_probs(params, observation, legal)))
    # The frozen members play from their tables in training (`tabular`: the same policies,
    # without a forward pass per member slot); the learners by their networks.
    try:
      self.index = tabular.make_index(np.asarray(observation))
    except tabular.TableError:
      self.index = None  # (observations that do not tell information sets apart: networks)
    self._opponent_tables = jax.jit(self._member_tables)

  @classmethod
  def from_config(cls, learner: Learner) -> PSRO:
    """PSRO as the learner's config's `population` section says (`jaxplay.config`)."""
    population = learner.config.population
    return cls(learner, population.iterations, population.meta_solver, population.fresh,
               population.meta_rounds, population.output_meta_solver)

  def with_output_meta_solver(self, name: str) -> PSRO:
    """This PSRO outputting (measuring, reporting, exporting) the meta-strategy of solver
    `name` instead; training and the compiled programs are shared."""
    _check_solver("output_meta_solver", name)
    other = copy.copy(self)
    other.output_meta_solver = name
    return other

  def _member_tables(self, state: PopulationState) -> tabular.MemberTables:
    """Every slot's policy table, the frozen slots (all but the learners) playing from
    theirs (padded to the network's actions)."""
    probs = self._tables(state.params)                                    # [2N, I, a]
    pad = self.learner.games.num_actions - probs.shape[-1]
    probs = jnp.pad(probs, ((0, 0), (0, 0), (0, pad)))
    frozen = ~jnp.isin(jnp.arange(probs.shape[0]), state.learners)
    return tabular.member_tables(probs, frozen, state.learners, self.index)

  def train(self, state: PopulationState, num_updates: int
            ) -> tuple[PopulationState, dict[str, jax.Array]]:
    """`num_updates` updates of the best responses against their opponents (step 1 of an
    iteration), the frozen members played from their tables where the game allows."""
    tables = None if self.index is None else self.learner.parallel.replicate(
        self._opponent_tables(state))
    return self._train(state, num_updates, tables)

  def init(self, seed: int) -> PopulationState:
    """The population before the first iteration: one learner a seat."""
    return self.population.init(seed)

  def member_tables(self, state: PopulationState) -> np.ndarray:
    """float64[2, N, I, A]: every slot's policy on every information set, seat s's members
    (slots s * N ..) in row s."""
    tables = np.asarray(hosts.to_host(self._tables(state.params)), np.float64)
    return tables.reshape((2, -1) + tables.shape[1:])

  def iteration(self, state: PopulationState) -> tuple[PopulationState, Report]:
    """One PSRO iteration (the module docstring's steps 1-4)."""
    trained_against = np.asarray(hosts.to_host(state.opponents), np.float64)
    state, training = self.train(state, self.updates_per_iteration)
    state, report = self.measure(state, include_learners=True, trained_against=trained_against)
    report = dataclasses.replace(report, training={
        k: float(v) for k, v in jax.device_get(training).items()})
    if report.iteration <= self.iterations:
      live = hosts.to_host(state.live).reshape(2, -1)
      weights = np.zeros(live.shape, np.float32)
      for seat in range(2):
        weights[seat, live[seat]] = report.opponent_weights[seat]
      # The next learners, seat s, play the other seat's meta-strategy over the members now
      # frozen (those just measured).
      state = self.population.with_opponents(self._next(state, self.fresh), weights[::-1])
    return state, report

  def measure(self, state: PopulationState, include_learners: bool = False,
              trained_against: np.ndarray | None = None) -> tuple[PopulationState, Report]:
    """The exact meta-game of the live members (the learners only with `include_learners`),
    written into the state's payoff matrix, its meta-strategy and that strategy's
    exploitability (steps 2-3). After a finished run, the members PSRO made.
    `trained_against`: float[2, N] each learner's opponent distribution over the other
    seat's slots; given, the report's `best_response_gap` is measured."""
    tables = self.member_tables(state)
    live = hosts.to_host(state.live).reshape(2, -1).copy()
    if not include_learners:
      for seat, slot in enumerate(hosts.to_host(state.learners)):
        live[seat, slot - seat * live.shape[1]] = False
    payoff = meta_game.payoff_tensor(self.tree, list(tables))           # [N, N, 2], all slots
    state = state.replace(**self.learner.parallel.replicate(dict(
        payoff=_slot_payoff(payoff, state.payoff.dtype),
        counts=_slot_counts(live, state.counts.dtype))))
    sub = payoff[np.ix_(live[0], live[1])]
    members = [tables[seat][live[seat]] for seat in range(2)]
    weights = self._solve(self.output_meta_solver, sub, members)
    table, result = self._evaluate(tables, live, weights)
    opponent_weights, opponent_result = weights, result
    if self.meta_solver != self.output_meta_solver:
      opponent_weights = self._solve(self.meta_solver, sub, members)
      opponent_result = self._evaluate(tables, live, opponent_weights)[1]
    report = Report(iteration=int(np.sum(live[0])), exploitability=float(result.exploitability),
                    nash_conv=float(result.nash_conv), weights=weights, payoff=sub,
                    training={}, policy=table, opponent_weights=opponent_weights,
                    opponent_exploitability=float(opponent_result.exploitability))
    if trained_against is not None:
      report = dataclasses.replace(report, best_response_gap=self._best_response_gaps(
          tables, hosts.to_host(state.learners) % live.shape[1], trained_against))
    return state, report

  def _solve(self, solver: str, payoff: np.ndarray, members: list[np.ndarray]
             ) -> tuple[np.ndarray, np.ndarray]:
    """Per seat, float64[N_s] the meta-strategy of solver `solver` over the live members
    (`members` float64[N_s, I, A], `payoff` their meta-game float64[N_0, N_1, 2])."""
    return meta_strategy.solve(solver, self.tree, members, payoff, rounds=self.meta_rounds)

  def _evaluate(self, tables: np.ndarray, live: np.ndarray,
                weights: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, Exploitability]:
    """(the meta-strategy `weights` over each seat's live members as a behavioural policy
    float64[I, A], its exact `exploitability`); `tables` float64[2, N, I, A] every slot's."""
    padded = [np.zeros(len(row)) for row in live]
    for seat in range(2):
      padded[seat][live[seat]] = weights[seat]
    table = meta_game.aggregate_policy(self.tree, list(tables), padded)
    return table, exploitability(self.tree, table)

  def _best_response_gaps(self, tables: np.ndarray, learners: np.ndarray,
                          trained_against: np.ndarray) -> tuple[float, float]:
    """Per seat s: the exact best response's value against the other seat's mixture
    `trained_against[s]` minus learner s's value against it (`learners`: each seat's
    learner's index in its seat)."""
    gaps = []
    for seat in range(2):
      result = self.learner_against(tables, learners, trained_against, seat)
      gaps.append(float(result.best_response_values[seat] - result.on_policy_values[seat]))
    return gaps[0], gaps[1]

  def learner_against(self, tables: np.ndarray, learners: np.ndarray,
                      trained_against: np.ndarray, seat: int) -> Exploitability:
    """The exact evaluation (`exploitability`) of seat `seat`'s learner (index
    `learners[seat]` in its seat's slots of `tables` float[2, N, I, A]) against the other
    seat's mixture `trained_against[seat]` float[N], played as one behavioural policy: its
    entries for `seat` say what an exact best response gains over the learner, in total and
    information set by information set (`Exploitability.infoset_gain`)."""
    against = trained_against[seat] / trained_against[seat].sum()
    own = np.eye(len(against))[learners[seat]]
    mixture = meta_game.aggregate_policy(self.tree, list(tables),
                                         [own, against] if seat == 0 else [against, own])
    return exploitability(self.tree, mixture)


def _slot_payoff(payoff: np.ndarray, dtype) -> jax.Array:
  """float[2N, 2N]: the exact bimatrix [N, N, 2] as the population's payoff over slots:
  [i, N + j] seat-0 member i's return against seat-1 member j, [N + j, i] j's."""
  n = payoff.shape[0]
  slots = np.zeros((2 * n, 2 * n))
  slots[:n, n:] = payoff[..., 0]
  slots[n:, :n] = payoff[..., 1].T
  return jnp.asarray(slots, dtype)


def _slot_counts(live: np.ndarray, dtype) -> jax.Array:
  """float[2N, 2N]: exact entries count as known (1) between live members of the two seats."""
  n = live.shape[1]
  known = np.zeros((2 * n, 2 * n))
  known[:n, n:] = np.outer(live[0], live[1])
  known[n:, :n] = known[:n, n:].T
  return jnp.asarray(known, dtype)


def _check_solver(field: str, name: str):
  """ConfigError unless `name` is a meta-strategy solver's (`meta_strategy.NAMES`)."""
  if name not in meta_strategy.NAMES:
    raise ConfigError(f"psro: {field} must be one of {list(meta_strategy.NAMES)}, got {name!r}")
