"""COLE's generations on a population (Li et al. 2023, COLE_SV), for two-player common-payoff
games (Overcooked): the learner trains against partners drawn by the "cole" scheme, and at the
end of every generation its cross-play with the population is measured and a copy of it may
join.

    population = Population(learner, capacity=8, scheme="cole", self_play=0.5)
    generations = ColeGenerations(population, generation_updates=100)
    state = population.init(seed)
    ...  # 100 updates (`population.train_chunk`)
    state, joined = jax.jit(generations.end_generation)(state)

A generation is `generation_updates` updates of the one learner against the "cole" scheme's
partners (`jaxplay.learn.matchmaking.cole`: Shapley values of COLE's cooperative game on the
payoff graph, the members the population cooperates with least first, a self-play share).
`end_generation` is one compiled function of static shapes:

1. measure: the learner plays every slot (`jaxplay.eval.crossplay.cross_play`, `num_games`
   games a pair, both seats, sampled actions); its payoff row and column among the live
   members are set to those returns (the game pays both seats alike, so the graph is
   symmetric) and their counts grow by the games. Between frozen members the graph keeps
   what was measured when each of them was the learner (a copy joins with the learner's row).
2. admit: `cole.cole_admits` on that graph (the population prefers its newest members), or
   regardless in the first `always_admit` generations and on the `max_tries`-th try since the
   last member joined (COLE-Platform: 3 and 3).
3. join: an admitted learner's frozen copy takes `cole.cole_join_slot`: the first free slot,
   and in a full population one of the `oldest` oldest frozen members at random (COLE: 10).

The learner keeps training after it joins (COLE-Platform trains the same agent on). The
generation and the try count are read from the state (`update`, the members' `born`), so a
resumed run continues exactly.

A population can start from other runs' networks (`population.partners`: FCP's stage-1 pool
seated as its first frozen members, `born` 0, the oldest): `measure_frozen` measures their
cross-play with each other into the graph before the first generation, and from then on
they are members as any other (partners by their Shapley values; replaced, as the oldest,
once the population is full, unless kept: `keep`). An extension of ours (COLE starts from
its learner alone): the population then holds the pool's conventions beside the learner's
lineage.

Several learners (`num_learners=L`, an extension of ours: COLE trains one) share the
population: each draws its partners by the "cole" scheme from every member, the other
learners included, so the population holds L lineages (L seeds' conventions, as fictitious
co-play's pool does) instead of one. At a generation's end every learner is measured, each
is judged by the admission rule on that graph among the frozen members and itself (as one
learner is), and the admitted copies join one after the other (none replaces another of the
same generation); the try count is the population's (generations since any member joined).
"""

from __future__ import annotations

from typing import Sequence

import jax
import jax.numpy as jnp

from jaxplay.core.errors import ConfigError, check_int
from jaxplay.eval.crossplay import cross_play
from jaxplay.learn import cole
from jaxplay.learn.population import Population, PopulationState


class ColeGenerations:
  """The end of COLE's generations on `population` (see the module docstring).

  Args:
    population: a shared population, scheme "cole", one learner or several.
    generation_updates: updates a generation.
    num_games: games a pair when measuring the learner's cross-play (even).
    always_admit, max_tries, oldest, recent_fraction: COLE's admission and replacement.
    keep: static slots whose members are never replaced (e.g. a pool the population starts
      from); they take part in everything else as any member does.
    visits: what the "cole" scheme's UCB bonus counts as a member's visits, the learner's
      games with it in `state.counts`: "run", all of them since it joined (the measurement
      games included), or "generation", those of the current generation only, as
      COLE-Platform counts its partner draws afresh each iteration (`forget_visits` at every
      generation's end). With "run" a newly joined member keeps the bonus of few visits for
      generations, and its draws lean to the newest members.
  """

  def __init__(self, population: Population, generation_updates: int, *, num_games: int = 16,
               always_admit: int = 3, max_tries: int = 3, oldest: int = cole.OLDEST,
               recent_fraction: float = cole.RECENT_FRACTION, keep: Sequence[int] = (),
               visits: str = "run"):
    if population.per_seat or population.scheme != "cole":
      raise ConfigError(f"COLE generations need a shared population and the scheme 'cole', "
                        f"got scheme {population.scheme!r}"
                        f"{' per seat' if population.per_seat else ''}")
    env = population.learner.games.raw[0]
    if len(population.learner.games.raw) != 1 or not env.common_payoff:
      raise ConfigError(f"COLE trains one common-payoff game (overcooked), got "
                        f"{list(population.learner.games.names)}")
    self.population, self.env = population, env
    self.generation_updates = check_int("cole", "generation_updates", generation_updates, 1)
    self.num_games, self.oldest, self.recent_fraction = num_games, oldest, recent_fraction
    self.always_admit = check_int("cole", "always_admit", always_admit, 0)
    self.max_tries = check_int("cole", "max_tries", max_tries, 1)
    self.keep = tuple(int(slot) for slot in keep)
    if visits not in cole.VISITS:
      raise ConfigError(f"cole: visits must be one of {', '.join(cole.VISITS)}, got "
                        f"{visits!r}")
    self.visits = visits

  def measure(self, state: PopulationState, key: jax.Array) -> PopulationState:
    """The state with each learner's payoff row and column among the live members set to its
    measured cross-play returns (counts + num_games). With several learners, their entries
    with each other are the later learner's measurement (the game pays both seats alike)."""
    agents = jax.tree.map(lambda x: x[state.learners], state.params)              # [L, ...]
    returns = cross_play(self.env, self.population.learner, agents, key,
                         partners=state.params, num_games=self.num_games).returns  # [L, N]
    payoff, counts, live = state.payoff, state.counts, state.live
    games = jnp.where(live, float(self.num_games), 0.0)
    for index in range(self.population.num_learners):   # static: L rows and columns
      learner = state.learners[index]
      row = jnp.where(live, returns[index], payoff[learner])
      payoff = payoff.at[learner].set(row).at[:, learner].set(row)
      counts = counts.at[learner].add(games)
      counts = counts.at[:, learner].set(counts[learner])
    return state.replace(payoff=payoff, counts=counts)

  def measure_frozen(self, state: PopulationState, slots) -> PopulationState:
    """The state with the payoffs among the frozen members in `slots` (static ints, e.g. a
    pool of other runs' networks seated as the first members: `partner_pool.seat`) set to
    their measured cross-play: for each pair (i, j), the mean of i's returns with j and j's
    with i (`num_games` games each, both seats; the game pays both seats alike, so the graph
    stays symmetric, as `measure` keeps it), itself included (its self-play); counts
    2 x num_games. Entries with other members are left as they are."""
    slots = jnp.asarray(slots, jnp.int32)
    key = jax.random.fold_in(jax.random.wrap_key_data(state.key), 0x706f6f6c)
    members = jax.tree.map(lambda x: x[slots], state.params)                     # [M, ...]
    returns = cross_play(self.env, self.population.learner, members, key, partners=members,
                         num_games=self.num_games).returns                       # [M, M]
    pair = jnp.ix_(slots, slots)
    return state.replace(payoff=state.payoff.at[pair].set((returns + returns.T) / 2),
                         counts=state.counts.at[pair].set(2.0 * self.num_games))

  def end_generation(self, state: PopulationState) -> tuple[PopulationState, jax.Array]:
    """(the state after measuring, admitting and joining; bool[L] whether each learner's copy
    joined)."""
    key = jax.random.fold_in(jax.random.wrap_key_data(state.key), 0x636f6c65)
    measure_key, join_key = jax.random.split(key)
    state, joined = self.admit_and_join(self.measure(state, measure_key), join_key)
    if self.visits == "generation":
      state = self.forget_visits(state)
    return state, joined

  def forget_visits(self, state: PopulationState) -> PopulationState:
    """The state with the learners' game counts (their rows and columns of `counts`) at 0,
    so that the next generation's draws count its own games only; the payoffs and the counts
    among frozen members stay."""
    learner = jnp.isin(jnp.arange(state.counts.shape[0]), state.learners)
    return state.replace(counts=jnp.where(learner[:, None] | learner[None, :], 0.0,
                                          state.counts))

  def admit_and_join(self, state: PopulationState,
                     key: jax.Array) -> tuple[PopulationState, jax.Array]:
    """(the state after admitting and joining on its payoff graph as it is; bool[L] whether
    each learner's copy joined); `key` draws the slots of a full population."""
    slots = jnp.arange(state.live.shape[0])
    protected = jnp.isin(slots, state.learners)
    frozen = state.live & ~protected
    protected = protected | jnp.isin(slots, jnp.asarray(self.keep, jnp.int32))   # never replaced
    generation = state.update // self.generation_updates
    last_join = jnp.max(jnp.where(frozen, state.born, 0))
    tries = (state.update - last_join) // self.generation_updates
    regardless = (generation <= self.always_admit) | (tries >= self.max_tries)
    # Every learner is judged on the measured graph among the frozen members and itself, as
    # one learner is (the other learners, born 0 and still training, would count as the
    # oldest members), before any copy joins; the copies then join one after the other, each
    # in a free slot or that of one of the oldest frozen members, never another's of this
    # generation.
    num_learners = self.population.num_learners
    admitted = [cole.cole_admits(state.payoff, frozen | (slots == state.learners[index]),
                                 state.born, state.learners[index],
                                 recent_fraction=self.recent_fraction) | regardless
                for index in range(num_learners)]
    # One learner draws with the generation's key itself (its runs stay as they were).
    slot_keys = [key] if num_learners == 1 else jax.random.split(key, num_learners)
    joined = []
    for index, (admit, slot_key) in enumerate(zip(admitted, slot_keys)):
      slot = cole.cole_join_slot(slot_key, state.live, state.born, protected=protected,
                                 oldest=self.oldest)
      slot = jnp.where(admit, slot, state.live.shape[0])   # out of range: nobody joins
      joined.append(state.live.shape[0] > slot)
      state = self.population.add_member(state, index, slot)
      protected = protected | (slots == slot)   # a copy that just joined stays
    return state, jnp.stack(joined)
