"""What `python -m experiments.crossplay` does: trained agents against held-out partners, the
matrix of mean sparse returns, each partner's best-response bound, a table, heatmaps, a CSV
and TensorBoard metrics.

    matrix = cross_play_runs({"sp": sp_dir, "fcp": fcp_dir}, heldout=heldout_dir,
                             scripted=("independent_cook", "static"), num_games=64,
                             bounds={"static": br_dir})
    print(table(matrix))

Agents are the learners of training runs (a self-play run's network; a population run's
learners, named `<name>/<l>` when there are several) at their latest checkpoint, or at the
one a `workdir@update` names (a run scored along its training); partners are the learners of
the held-out run (`heldout/<l>`) and scripted partners by name (`jaxplay.agents.scripted`). A
partner's bound is the return of a best response trained against it (a run named in
`bounds`) with it, measured in the same games: the best-response runs play as extra rows of
the matrix, and partner p's bound is row `br:<p>`'s entry in column p. A bound below one
soup a game (`MIN_BOUND`) is no bound: the best response found next to nothing, and a ratio
to it (a random partner's 0.9, say) measures nothing; such partners are left out of the
returns over bounds as those without one. Bounds measured once can be reused: `recorded`
takes them by partner, e.g. the bound row of an earlier `crossplay.csv` (`read_bounds`), so
that new agents are scored without training the best responses again (the partners must be
the same networks: the CSV cannot tell one layout's `heldout/0` from another's). All runs must
have trained the same games with the same network (`partner_pool.check_compatible`), or MLPs
that differ only in hidden sizes: the narrower ones then play padded to the widest
(`jaxplay.agents.widening`; the same functions).

Agents named `<name>/<k>` (a population run's learners, or runs of one recipe from several
seeds named so) form the group `<name>`: the table adds each group's mean, range and standard
error over its members.

A trained best response can be worse than a response every partner has: a copy of the partner
itself. With `partner_self=True` each partner also plays itself (`crossplay.partner_self_play`,
its own key: the agents' games do not change), the `partner_self` row of the table and CSV;
`bound_rule="best_known"` then takes each bound as the larger of the best response's return and
the partner's with itself, for the partners that have a best response ("best_response", the
default, keeps the best response's). `read_matrix` reads a written table back and `rebound`
gives it other bounds: a recorded table scored again without playing a game.
"""

from __future__ import annotations

import csv
import pathlib
from typing import Mapping, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from experiments import evaluate_lib, run_lib
from jaxplay.agents import scripted as scripted_lib
from jaxplay.agents import widening
from jaxplay.core.errors import ConfigError
from jaxplay.eval import crossplay
from jaxplay.games.overcooked.dynamics import SOUP_VALUE
from jaxplay.io.metrics import MetricWriter, last_step
from jaxplay.learn import partner_pool

MIN_BOUND = SOUP_VALUE   # the least bound a partner's returns are divided by: one soup a game
BOUND_RULES = ("best_response", "best_known")
SELF_PLAY_STREAM = 1 << 30  # the partners' own games: fold_in(key(seed), this)
PARTNER_SELF_ROW = "partner_self"   # the CSV's and table's row of each partner with itself


class Matrix(NamedTuple):
  """returns float32[A, M] (mean sparse return of agent a with partner m, both seats);
  bound float32[M] (nan: no best response given); the names of the rows and columns; the
  agents' workdirs and their updates (for logging; empty for a matrix read back); stderr
  float32[A, M], the standard error of each return over its games (`crossplay.standard_errors`;
  None: not measured); partner_self float32[M], each partner's return with a copy of itself
  (None: not measured)."""

  returns: np.ndarray
  bound: np.ndarray
  agents: list[str]
  partners: list[str]
  workdirs: list[pathlib.Path]
  updates: list[int]
  stderr: np.ndarray | None = None
  partner_self: np.ndarray | None = None


def checkpoint_of(agent: str | pathlib.Path) -> tuple[pathlib.Path, int | None]:
  """(workdir, update) of an agent given as `workdir` (update None: its latest checkpoint) or
  `workdir@update` (its checkpoint at that update, e.g. to score a run along its training);
  ConfigError for an update that is not a whole number."""
  text = str(agent)
  workdir, sep, update = text.rpartition("@")
  if not sep or "/" in update:   # no "@", or one inside the path
    return pathlib.Path(text), None
  if not update.isdigit():
    raise ConfigError(f"{text!r}: an agent is a workdir, or workdir@update with the update of "
                      f"one of its checkpoints (a whole number)")
  return pathlib.Path(workdir), int(update)


def learned_networks(agent: str | pathlib.Path, name: str):
  """(learner, params stacked [K, ...], names [K], update) of a run's learners at its latest
  checkpoint, or at the one `agent = "workdir@update"` names (`checkpoint_of`)."""
  workdir, step = checkpoint_of(agent)
  learner, run, state = evaluate_lib.load_run(workdir, step)
  if isinstance(run, run_lib.SelfPlayRun):
    return learner, jax.tree.map(lambda x: x[None], state.params), [name], int(state.update)
  if not isinstance(run, run_lib.LeagueRun):
    raise ConfigError(f"cross-play plays the learners of self-play and population runs; "
                      f"{workdir} is a {learner.config.population.scheme!r} run")
  learners = np.asarray(state.learners)
  params = jax.tree.map(lambda x: x[learners], state.params)
  names = [name] if len(learners) == 1 else [f"{name}/{l}" for l in range(len(learners))]
  return learner, params, names, int(state.update)


def padded_to_widest(learners: Sequence, params: Sequence, workdirs: Sequence,
                     where: str = "cross-play"):
  """(the learner every run's networks play as, each run's stacked params padded to it): the
  widest MLP (`jaxplay.agents.widening`), where none is the first; ConfigError
  (`partner_pool.check_compatible`, naming what differs) for a run of other games or networks."""
  first = learners[widening.widest([l.config.network.to_dict() for l in learners]) or 0]
  for learner, workdir in zip(learners, workdirs):
    partner_pool.check_compatible(first.config, learner.config, pathlib.Path(workdir), where)
  return first, widening.pad_stacked(list(params))


def cross_play_runs(agents: Mapping[str, str | pathlib.Path], *,
                    heldout: str | pathlib.Path | None = None, scripted: Sequence[str] = (),
                    num_games: int = 64, seed: int = 0,
                    bounds: Mapping[str, str | pathlib.Path] | None = None,
                    recorded: Mapping[str, float] | None = None,
                    max_games_per_chunk: int = 4096, partner_self: bool = False,
                    bound_rule: str = "best_response") -> Matrix:
  """The cross-play matrix of the agents' runs against the held-out run's learners and the
  scripted partners, with the bounds of the partners that `bounds` names (best-response
  runs, played here) and those `recorded` gives (earlier measurements; partners not played
  here are ignored, but at least one must be); with `partner_self` (implied by
  `bound_rule="best_known"`) each partner's return with itself. See the module docstring."""
  if not agents:
    raise ConfigError("cross-play needs at least one agent run (--agents=name=workdir,...)")
  _check_bound_rule(bound_rule)
  partner_self = partner_self or bound_rule == "best_known"
  bounds, recorded = dict(bounds or {}), dict(recorded or {})
  twice = sorted(set(bounds) & set(recorded))
  if twice:
    raise ConfigError(f"partners {twice} have both a best-response run and a recorded bound: "
                      f"give one")
  rows = []
  for name, workdir in [*agents.items(), *[(f"br:{p}", w) for p, w in bounds.items()]]:
    learner, params, names, update = learned_networks(workdir, name)
    rows.append((params, names, checkpoint_of(workdir)[0], update, learner))
  partners, partner_names = None, []
  if heldout is not None:
    learner, partners, partner_names, _ = learned_networks(heldout, "heldout")
    rows.append((partners, None, checkpoint_of(heldout)[0], None, learner))
  first, padded = padded_to_widest([r[4] for r in rows], [r[0] for r in rows],
                                   [r[2] for r in rows])
  if heldout is not None:
    partners, rows, padded = padded[-1], rows[:-1], padded[:-1]
  env = first.games.raw[0]
  scripted_agents = scripted_lib.make_partners(scripted, env)
  partner_names += list(scripted)
  unknown = sorted(set(bounds) - set(partner_names))
  if unknown:
    raise ConfigError(f"bounds name partners {unknown} that are not among the partners "
                      f"{partner_names}")
  if recorded:
    _check_recorded(recorded, partner_names)
  stacked = jax.tree.map(lambda *x: jnp.concatenate(x), *padded)
  result = crossplay.cross_play(env, first, stacked, jax.random.key(seed), partners=partners,
                                scripted=scripted_agents, num_games=num_games,
                                max_games_per_chunk=max_games_per_chunk)
  returns = np.asarray(result.returns)
  names = [n for r in rows for n in r[1]]
  bound = np.full(len(partner_names), np.nan, np.float32)
  for p, partner in enumerate(partner_names):
    if partner in bounds:
      bound[p] = returns[names.index(f"br:{partner}"), p]
    elif partner in recorded:
      bound[p] = recorded[partner]
  itself = None
  if partner_self:
    itself = np.asarray(crossplay.partner_self_play(
        env, first, jax.random.fold_in(jax.random.key(seed), SELF_PLAY_STREAM),
        partners=partners, scripted=scripted_agents, num_games=num_games,
        max_games_per_chunk=max_games_per_chunk).returns[0])
  workdirs = [r[2] for r in rows for _ in r[1]]
  updates = [r[3] for r in rows for _ in r[1]]
  return with_bound_rule(Matrix(returns, bound, names, partner_names, workdirs, updates,
                                crossplay.standard_errors(result.game_returns), itself),
                         bound_rule)


def with_bound_rule(matrix: Matrix, bound_rule: str) -> Matrix:
  """The matrix with its bounds by `bound_rule`: "best_response" leaves them; "best_known"
  raises each finite bound to the partner's return with itself (`partner_self`, which it
  needs). ConfigError for another rule or a best_known without partner_self."""
  _check_bound_rule(bound_rule)
  if bound_rule == "best_response":
    return matrix
  if matrix.partner_self is None:
    raise ConfigError("the best_known bound rule needs each partner's return with itself, "
                      "which this matrix does not have (a table written without it)")
  bound = np.where(np.isfinite(matrix.bound), np.fmax(matrix.bound, matrix.partner_self),
                   matrix.bound)
  return matrix._replace(bound=bound.astype(np.float32))


def _read_csv(path: pathlib.Path) -> tuple[list[str], dict[str, np.ndarray]]:
  """(partners, {row name: float64[M]}) of a CSV that `write` wrote, in the file's order;
  ConfigError for a missing file, one without its header or with a row name twice, or a row
  that does not match the header."""
  if not path.is_file():
    raise ConfigError(f"no recorded cross-play CSV at {path}")
  with path.open(newline="") as f:
    rows = [row for row in csv.reader(f) if row]
  names = [r[0] for r in rows[1:]]
  if not rows or rows[0][:1] != ["agent"] or len(set(names)) != len(names):
    raise ConfigError(f"{path} is not a cross-play CSV (a header row 'agent,<partners>', a "
                      f"row a name, as experiments.crossplay writes)")
  partners, values = rows[0][1:], {}
  for row in rows[1:]:
    try:
      values[row[0]] = np.array([float(v) for v in row[1:]])
    except ValueError as error:
      raise ConfigError(f"{path}: row {row[0]!r}: {error}") from None
    if len(row) != len(rows[0]):
      raise ConfigError(f"{path}: row {row[0]!r} has {len(row) - 1} values for "
                        f"{len(partners)} partners")
  return partners, values


def read_bounds(path: str | pathlib.Path) -> dict[str, float]:
  """{partner: bound} from the `bound` row of a CSV that `write` wrote (partners without a
  bound left out). Raises ConfigError for a missing file or one without that row."""
  partners, values = _read_csv(pathlib.Path(path))
  if "bound" not in values:
    raise ConfigError(f"{path} is not a cross-play CSV with one bound row (as "
                      f"experiments.crossplay writes)")
  return {p: float(v) for p, v in zip(partners, values["bound"]) if np.isfinite(v)}


def read_matrix(path: str | pathlib.Path) -> Matrix:
  """The Matrix of a CSV that `write` wrote: its agents' returns, its bound (NaN without a
  bound row) and partner_self rows, and the standard errors of `<stem>_stderr.csv` beside it
  (if there, with the same agents and partners); no workdirs (nothing to log to). ConfigError
  for a missing or malformed file."""
  path = pathlib.Path(path)
  partners, values = _read_csv(path)
  agents = [name for name in values if name not in ("bound", PARTNER_SELF_ROW)]
  stderr, stderr_path = None, path.with_name(f"{path.stem}_stderr.csv")
  if stderr_path.is_file():
    stderr_partners, errors = _read_csv(stderr_path)
    if stderr_partners != partners or list(errors) != agents:
      raise ConfigError(f"{stderr_path} does not have the agents and partners of {path}")
    stderr = np.array([errors[a] for a in agents], np.float32)
  itself = values.get(PARTNER_SELF_ROW)
  bound = values.get("bound", np.full(len(partners), np.nan))
  return Matrix(np.array([values[a] for a in agents], np.float32),
                bound.astype(np.float32), agents, partners, [], [], stderr,
                None if itself is None else itself.astype(np.float32))


def rebound(matrix: Matrix, recorded: Mapping[str, float]) -> Matrix:
  """The matrix with the bounds `recorded` gives (partners it does not name keep theirs);
  ConfigError if it names none of the matrix's partners."""
  _check_recorded(recorded, matrix.partners)
  bound = np.array([recorded.get(p, b) for p, b in zip(matrix.partners, matrix.bound)],
                   np.float32)
  return matrix._replace(bound=bound)


def _check_bound_rule(bound_rule: str) -> None:
  if bound_rule not in BOUND_RULES:
    raise ConfigError(f"unknown bound rule {bound_rule!r}: one of {BOUND_RULES}")


def _check_recorded(recorded: Mapping[str, float], partners: Sequence[str]) -> None:
  if not set(recorded) & set(partners):
    raise ConfigError(f"the recorded bounds are of partners {sorted(recorded)}, none of them "
                      f"among the partners {list(partners)}")


def over_bounds(matrix: Matrix) -> np.ndarray:
  """float32[A, M]: the returns as fractions of each partner's bound; NaN where a partner has
  no bound or one under `MIN_BOUND`."""
  return np.asarray(crossplay.normalized(matrix.returns, matrix.bound, MIN_BOUND))


def row_means(matrix: Matrix) -> dict[str, np.ndarray]:
  """Each agent's means over the partners, with their standard errors over games (the pairs'
  games independent, the bounds taken as exact; NaN without `stderr`), all float64[A]:
  `return` (over all M partners) and `return_stderr`; `over_bound` (over the P partners with
  a bound of at least `MIN_BOUND`, NaN for none) and `over_bound_stderr`,
  sqrt(sum_p (stderr[a, p] / bound[p])^2) / P."""
  stderr = (np.full(matrix.returns.shape, np.nan) if matrix.stderr is None
            else np.asarray(matrix.stderr, np.float64))
  ratios = np.asarray(over_bounds(matrix), np.float64)
  usable = np.isfinite(ratios).any(0)                    # the partners with a bound
  count = max(int(usable.sum()), 1)
  ratio_stderr = stderr[:, usable] / np.asarray(matrix.bound, np.float64)[usable]
  nan = np.full(len(matrix.agents), np.nan)
  return {
      "return": np.asarray(matrix.returns, np.float64).mean(1),
      "return_stderr": np.sqrt((stderr ** 2).sum(1)) / matrix.returns.shape[1],
      "over_bound": ratios[:, usable].mean(1) if usable.any() else nan,
      "over_bound_stderr": (np.sqrt((ratio_stderr ** 2).sum(1)) / count if usable.any()
                            else nan),
  }


PARTNER_KINDS = {"held-out networks": "heldout_networks",   # kind: its metric's suffix
                 "scripted partners": "scripted_partners"}


def _kind(partner: str) -> str | None:
  """The kind of a partner column: a held-out run's network (`heldout/<l>`), a scripted partner
  (`jaxplay.agents.scripted.PARTNERS`), or None (another column, e.g. a test's)."""
  if partner.startswith("heldout/"):
    return "held-out networks"
  return "scripted partners" if partner in scripted_lib.PARTNERS else None


def kind_means(matrix: Matrix) -> dict[str, np.ndarray]:
  """{kind: float64[A]} each agent's mean return over bound over the partners of one kind
  (`PARTNER_KINDS`) that have a bound of at least `MIN_BOUND`; only where at least two kinds
  have such partners (with one kind it is the mean over all, `row_means`). The mean over all
  partners weighs a partner with a small bound (a random partner's) as much as any: the means
  apart show which kind a recipe's mean comes from."""
  ratios = np.asarray(over_bounds(matrix), np.float64)
  kinds = np.array([_kind(p) for p in matrix.partners], object)
  columns = {kind: np.isfinite(ratios).any(0) & (kinds == kind) for kind in PARTNER_KINDS}
  out = {kind: ratios[:, mask].mean(1) for kind, mask in columns.items() if mask.any()}
  return out if len(out) > 1 else {}


def kind_table(matrix: Matrix) -> str:
  """A line an agent: its `kind_means`; "" where they are not defined."""
  means = kind_means(matrix)
  if not means:
    return ""
  width = max(len(name) for name in matrix.agents)
  return "\n".join(
      f"{name.ljust(width)}  " + "  ".join(f"{kind} {v[a]:.3f}" for kind, v in means.items())
      for a, name in enumerate(matrix.agents))


def precision_table(matrix: Matrix) -> str:
  """A line an agent: its mean return (and, with bounds, its mean return over bound) +- the
  standard error over games (`row_means`); "" without standard errors."""
  if not _has_stderr(matrix):
    return ""
  means = row_means(matrix)
  ratios = np.isfinite(means["over_bound"]).any()
  width = max(len(name) for name in matrix.agents)
  lines = []
  for a, name in enumerate(matrix.agents):
    line = f"{name.ljust(width)}  {means['return'][a]:.1f} +- {means['return_stderr'][a]:.1f}"
    if ratios:
      line += f"  {means['over_bound'][a]:.3f} +- {means['over_bound_stderr'][a]:.3f}"
    lines.append(line)
  return "\n".join(lines)


def _has_stderr(matrix: Matrix) -> bool:
  """Whether some return has a standard error (none with one game a seat)."""
  return matrix.stderr is not None and bool(np.isfinite(matrix.stderr).any())


def _has_ratios(matrix: Matrix) -> bool:
  """Whether some partner has a bound of at least `MIN_BOUND` (else every ratio is NaN)."""
  return bool(np.isfinite(over_bounds(matrix)).any())


def groups(matrix: Matrix) -> dict[str, list[int]]:
  """{group: its rows} for the agents named `<group>/<k>`, groups of at least two (the
  best-response rows `br:<partner>` are no group)."""
  out: dict[str, list[int]] = {}
  for row, name in enumerate(matrix.agents):
    group, sep, _ = name.rpartition("/")
    if sep and not name.startswith("br:"):
      out.setdefault(group, []).append(row)
  return {group: rows for group, rows in out.items() if len(rows) > 1}


def group_table(matrix: Matrix) -> str:
  """A line a group: the mean, range and standard error (sample standard deviation over
  sqrt(K), K members) over its members of their mean return with the partners and (with
  bounds) of their mean return over bound, and the members' mean of each `kind_means`; ""
  without groups."""
  spread = lambda v: (f"{np.mean(v):.2f} ({np.min(v):.2f} to {np.max(v):.2f}, standard error "
                      f"{np.std(v, ddof=1) / np.sqrt(len(v)):.3f})")
  ratios = over_bounds(matrix) if _has_ratios(matrix) else None
  by_kind = kind_means(matrix)
  lines = []
  for group, rows in groups(matrix).items():
    line = f"{group} ({len(rows)} agents): mean return {spread(matrix.returns[rows].mean(1))}"
    if ratios is not None:
      line += f", return / bound {spread(np.nanmean(ratios[rows], 1))}"
    line += "".join(f"; with the {kind}: {np.mean(v[rows]):.3f}" for kind, v in by_kind.items())
    lines.append(line)
  return "\n".join(lines)


def table(matrix: Matrix) -> str:
  """The returns (and, with bounds, the returns as fractions of them) as text tables, then
  the groups' means and ranges."""
  out = crossplay.format_table(matrix.returns, matrix.agents, matrix.partners)
  if matrix.partner_self is not None:
    out += "\n\npartner with itself: " + " ".join(
        f"{p}={v:.1f}" for p, v in zip(matrix.partners, matrix.partner_self))
  if np.isfinite(matrix.bound).any():
    out += "\n\nbound: " + " ".join(f"{p}={b:.1f}" for p, b in
                                    zip(matrix.partners, matrix.bound))
    if _has_ratios(matrix):
      out += ("\nreturn / bound:\n"
              + crossplay.format_table(over_bounds(matrix), matrix.agents, matrix.partners,
                                       digits=2))
    else:
      out += f"\nno bound reaches {MIN_BOUND:g} (one soup a game): no return / bound table"
  by_kind = kind_table(matrix)
  if by_kind:
    out += "\n\nmean return / bound over each kind of partner (those with a bound):\n" + by_kind
  precision = precision_table(matrix)
  if precision:
    out += ("\n\nmean return" + (", mean return / bound" if _has_ratios(matrix) else "")
            + ", +- the standard error over games (bounds as exact):\n" + precision)
  lines = group_table(matrix)
  if lines:
    out += "\n\ngroups, mean (range, standard error) over their agents:\n" + lines
  return out


def write(matrix: Matrix, out: str | pathlib.Path) -> list[pathlib.Path]:
  """Writes table.txt, crossplay.csv (rows agents, then the bound row and, if measured, the
  partner_self row), crossplay_stderr.csv (with standard errors: its rows agents, each
  return's standard error) and heatmaps (crossplay.png; crossplay_normalized.png with bounds)
  to `out`; returns the paths."""
  out = pathlib.Path(out)
  out.mkdir(parents=True, exist_ok=True)
  paths = [out / "table.txt", out / "crossplay.csv", out / "crossplay.png"]
  paths[0].write_text(table(matrix) + "\n")
  with paths[1].open("w", newline="") as f:
    writer = csv.writer(f)
    writer.writerow(["agent", *matrix.partners])
    for name, row in zip(matrix.agents, matrix.returns):
      writer.writerow([name, *[f"{v:.4f}" for v in row]])
    writer.writerow(["bound", *[f"{v:.4f}" for v in matrix.bound]])
    if matrix.partner_self is not None:
      writer.writerow([PARTNER_SELF_ROW, *[f"{v:.4f}" for v in matrix.partner_self]])
  if _has_stderr(matrix):
    paths.append(out / "crossplay_stderr.csv")
    with paths[-1].open("w", newline="") as f:
      writer = csv.writer(f)
      writer.writerow(["agent", *matrix.partners])
      for name, row in zip(matrix.agents, matrix.stderr):
        writer.writerow([name, *[f"{v:.4f}" for v in row]])
  crossplay.plot_crossplay(matrix.returns, paths[2], matrix.agents, matrix.partners,
                           title="cross-play: mean sparse return")
  if _has_ratios(matrix):
    paths.append(out / "crossplay_normalized.png")
    crossplay.plot_crossplay(over_bounds(matrix), paths[-1], matrix.agents, matrix.partners,
                             title="cross-play: return / bound")
  return paths


def metrics_of(matrix: Matrix, row: int) -> dict[str, float]:
  """`crossplay/<partner>` returns of one agent, their mean, and with bounds
  `crossplay/normalized_mean` (over the partners with a bound of at least `MIN_BOUND`); with
  `stderr`, the means' standard errors `crossplay/mean_stderr` and
  `crossplay/normalized_mean_stderr` (`row_means`) where finite; with partners of both kinds,
  `crossplay/normalized_heldout_networks` and `crossplay/normalized_scripted_partners`
  (`kind_means`)."""
  returns = matrix.returns[row]
  metrics = {f"crossplay/{p}": float(v) for p, v in zip(matrix.partners, returns)}
  means = row_means(matrix)
  metrics["crossplay/mean"] = float(means["return"][row])
  if np.isfinite(means["over_bound"][row]):
    metrics["crossplay/normalized_mean"] = float(means["over_bound"][row])
  for key, name in (("return_stderr", "mean_stderr"),
                    ("over_bound_stderr", "normalized_mean_stderr")):
    if np.isfinite(means[key][row]):
      metrics[f"crossplay/{name}"] = float(means[key][row])
  for kind, values in kind_means(matrix).items():
    metrics[f"crossplay/normalized_{PARTNER_KINDS[kind]}"] = float(values[row])
  return metrics


def log_to_workdirs(matrix: Matrix) -> None:
  """Each agent's `metrics_of` in its own run's metrics and TensorBoard, at its update; an
  earlier checkpoint's row is appended after the run's later rows, which stay."""
  for row, (workdir, update) in enumerate(zip(matrix.workdirs, matrix.updates)):
    if matrix.agents[row].startswith("br:"):
      continue
    with MetricWriter(workdir, resume_step=max(update, last_step(workdir))) as writer:
      writer.write(update, {f"{matrix.agents[row]}/{k}" if "/" in matrix.agents[row] else k:
                            v for k, v in metrics_of(matrix, row).items()})
