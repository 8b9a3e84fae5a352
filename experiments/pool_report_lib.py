"""What `python -m experiments.pool_report` does: a stage-1 pool judged by itself, before any
stage 2 and without a held-out partner. The final networks of one or more population runs (FCP's
stage 1: self-play runs side by side) play each other, both seats, and the report gives

- `self_play` float32[K]: each network with a copy of itself (does it deliver at all);
- `with_others` float32[K]: each network's mean return with the K - 1 others;
- `idle`: the networks that deliver less than one soup a game with themselves
  (`crossplay_lib.MIN_BOUND`), the rest `delivering`;
- `cross`: the mean over the K (K - 1) ordered pairs of different networks, and
  `compatibility`: over the delivering networks, the mean over their pairs of different networks
  divided by their mean self-play, the share of its self-play return a network keeps with
  another of the pool (1: one convention; near 0: none shared; NaN with fewer than two);
- `conventions`: the groups of delivering networks that play together, the connected
  components of the graph with an edge between i and j when their mean return (both orders) is
  at least `share` (default 0.5) of the lower of their self-play returns.

    report = pool_report([stage_one_dir], num_games=64)
    print(text(report))

Why: the same stage-1 recipe draws pools that stage 2 turns into very different agents (on
counter_circuit FCP's return / bound moved from 0.17 to 0.71 between draws), and only numbers
of the pool's own may be used to choose one. Whether these do: compatibility ordered the ring's
four draws as COLE scored them (the least compatible best), but not counter_circuit's three
(results/zsc.md, "A stage-1 pool read by itself"): a description of a pool, not a selector.
"""

from __future__ import annotations

import csv
import json
import pathlib
from typing import NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from experiments import crossplay_lib
from jaxplay.core.errors import ConfigError
from jaxplay.eval import crossplay

DEFAULT_SHARE = 0.5


class PoolReport(NamedTuple):
  """returns float32[K, K] (network i with network j, both seats pooled; rows i), stderr
  float32[K, K] (over the games), names [K], and the summary of the module docstring."""

  returns: np.ndarray
  stderr: np.ndarray
  names: list[str]
  self_play: np.ndarray
  with_others: np.ndarray
  cross: float
  compatibility: float
  conventions: list[list[int]]
  idle: list[int]
  share: float


def summarize(returns, names: Sequence[str], stderr=None,
              share: float = DEFAULT_SHARE) -> PoolReport:
  """The PoolReport of a matrix returns float[K, K] (K >= 2) of networks with each other."""
  returns = np.asarray(returns, np.float32)
  if returns.ndim != 2 or returns.shape[0] != returns.shape[1] or returns.shape[0] < 2:
    raise ConfigError(f"a pool report needs a square matrix of at least two networks, got "
                      f"shape {returns.shape}")
  if len(names) != returns.shape[0]:
    raise ConfigError(f"{len(names)} names for {returns.shape[0]} networks")
  if not 0.0 < share <= 1.0:
    raise ConfigError(f"share must be in (0, 1], got {share}")
  k = returns.shape[0]
  off_diagonal = ~np.eye(k, dtype=bool)
  self_play = np.diag(returns).copy()
  with_others = np.where(off_diagonal, returns, 0.0).sum(1) / (k - 1)
  cross = float(returns[off_diagonal].mean())
  delivers = self_play >= crossplay_lib.MIN_BOUND
  compatibility = float("nan")
  if delivers.sum() >= 2:
    among = off_diagonal & np.outer(delivers, delivers)
    compatibility = float(returns[among].mean() / self_play[delivers].mean())
  conventions = _conventions(returns, self_play, delivers, share)
  if stderr is None:
    stderr = np.full_like(returns, np.nan)
  return PoolReport(returns, np.asarray(stderr, np.float32), list(names), self_play,
                    with_others.astype(np.float32), cross, compatibility, conventions,
                    [int(i) for i in np.flatnonzero(~delivers)], float(share))


def _conventions(returns: np.ndarray, self_play: np.ndarray, delivers: np.ndarray,
                 share: float) -> list[list[int]]:
  """The module docstring's connected components of the delivering networks (bool[K]), each
  sorted, the groups in the order of their first members."""
  both_orders = (returns + returns.T) / 2
  together = (both_orders >= share * np.minimum.outer(self_play, self_play)) & np.outer(
      delivers, delivers)
  group = np.arange(len(self_play))
  for _ in range(len(self_play)):               # min-label propagation to a fixed point
    group = np.where(together, group[None, :], len(self_play)).min(1).clip(max=group)
  groups = {}
  for i in np.flatnonzero(delivers):
    groups.setdefault(int(group[i]), []).append(int(i))
  return sorted(groups.values())


def pool_report(workdirs: Sequence[str | pathlib.Path], *, num_games: int = 64, seed: int = 0,
                share: float = DEFAULT_SHARE, max_games_per_chunk: int = 4096) -> PoolReport:
  """The learners of the runs in `workdirs` (together: a merged pool) with each other,
  `num_games` games a pair (half in each seat), summarized (`summarize`). ConfigError: no run,
  runs of other games or networks, fewer than two networks in all."""
  if not workdirs:
    raise ConfigError("a pool report needs at least one stage-1 run (--pools=workdir,...)")
  labels = [pathlib.Path(w).name for w in workdirs]
  if len(set(labels)) < len(labels):
    labels = [f"pool{i}" for i in range(len(workdirs))]
  loaded = [crossplay_lib.learned_networks(w, label if len(workdirs) > 1 else "sp")
            for w, label in zip(workdirs, labels)]
  first, padded = crossplay_lib.padded_to_widest([l[0] for l in loaded], [l[1] for l in loaded],
                                                 workdirs, where="pool report")
  stacked = jax.tree.map(lambda *x: jnp.concatenate(x), *padded)
  names = [n for l in loaded for n in l[2]]
  if len(names) < 2:
    raise ConfigError(f"a pool report needs at least two networks; {list(workdirs)} hold "
                      f"{len(names)}")
  result = crossplay.cross_play(first.games.raw[0], first, stacked, jax.random.key(seed),
                                partners=stacked, num_games=num_games,
                                max_games_per_chunk=max_games_per_chunk)
  return summarize(np.asarray(result.returns), names,
                   crossplay.standard_errors(result.game_returns), share)


def text(report: PoolReport) -> str:
  """The matrix, each network's self-play and mean with the others, and the summary."""
  out = ("each network (row) with each (column), mean sparse return over both seats (mean: "
         "over every column, itself included):\n"
         + crossplay.format_table(report.returns, report.names, report.names))
  width = max(len(n) for n in report.names)
  out += f"\n\n{'network'.ljust(width)}  with itself  with the others (mean)\n" + "\n".join(
      f"{n.ljust(width)}  {s:11.1f}  {w:22.1f}" for n, s, w in zip(
          report.names, report.self_play, report.with_others))
  named = lambda members: "{" + ", ".join(report.names[i] for i in members) + "}"
  delivering = len(report.names) - len(report.idle)
  out += (f"\n\ndelivering with itself (one soup a game or more): {delivering} of "
          f"{len(report.names)}"
          f"\nwith itself (mean): {report.self_play.mean():.1f}"
          f"\nwith another network of the pool (mean of {len(report.names) - 1} x "
          f"{len(report.names)} pairs): {report.cross:.1f}"
          f"\ncompatibility (the delivering networks' mean with each other / with themselves): "
          f"{report.compatibility:.3f}"
          f"\nconventions (pairs keeping >= {report.share:g} of their self-play, linked): "
          f"{len(report.conventions)}: " + " ".join(named(g) for g in report.conventions))
  if report.idle:
    out += f"\nno soup with itself: {named(report.idle)}"
  return out


def summary(report: PoolReport) -> dict:
  """The report's scalars and groups, JSON-ready."""
  return {"networks": len(report.names), "delivering": len(report.names) - len(report.idle),
          "self_play_mean": float(report.self_play.mean()),
          "cross": report.cross,
          "compatibility": None if np.isnan(report.compatibility) else report.compatibility,
          "conventions": [[report.names[i] for i in g] for g in report.conventions],
          "idle": [report.names[i] for i in report.idle], "share": report.share}


def write(report: PoolReport, out: str | pathlib.Path) -> list[pathlib.Path]:
  """Writes report.txt, pool_crossplay.csv (the matrix), pool_crossplay_stderr.csv,
  summary.json and pool_crossplay.png to `out`; returns the paths."""
  out = pathlib.Path(out)
  out.mkdir(parents=True, exist_ok=True)
  paths = [out / "report.txt", out / "pool_crossplay.csv", out / "pool_crossplay_stderr.csv",
           out / "summary.json", out / "pool_crossplay.png"]
  paths[0].write_text(text(report) + "\n")
  for path, values in zip(paths[1:3], (report.returns, report.stderr)):
    with path.open("w", newline="") as f:
      writer = csv.writer(f)
      writer.writerow(["network", *report.names])
      for name, row in zip(report.names, values):
        writer.writerow([name, *[f"{v:.4f}" for v in row]])
  paths[3].write_text(json.dumps(summary(report), indent=1) + "\n")
  crossplay.plot_crossplay(report.returns, paths[4], report.names, report.names,
                           title="the pool with itself: mean sparse return")
  return paths
