"""A pytest plugin (not loaded by default) that says where the suite's in-process compiling goes:
for each test, how many programs JAX traced, lowered and compiled, and the seconds of each.

    python -m pytest -q -n 2 -p tests.compile_profile --compile_profile=/tmp/compiles

writes /tmp/compiles.<pid>.json per pytest process ({test id: {event: [count, seconds]}},
events: jaxpr_trace_duration, jaxpr_to_mlir_module_duration, backend_compile_duration) and,
without -n, prints the ten tests that compiled longest. A fixture's compiling counts for the
test that first asked for it; the tests' subprocesses are not seen. BUILD_NOTES.md (the suite's
time) has what it found.
"""

from __future__ import annotations

import json
import os

import jax

_EVENTS = "/jax/core/compile/"
_stats: dict[str, dict[str, list]] = {}
_current = {"test": "<collection>"}


def _listener(event: str, duration: float, **_) -> None:
  if event.startswith(_EVENTS):
    counts = _stats.setdefault(_current["test"], {}).setdefault(event[len(_EVENTS):], [0, 0.0])
    counts[0] += 1
    counts[1] += duration


def pytest_addoption(parser):
  parser.addoption("--compile_profile", default="compile_profile",
                   help="Path prefix of the per-process JSON files of tests/compile_profile.py.")


def pytest_configure(config):
  jax.monitoring.register_event_duration_secs_listener(_listener)


def pytest_runtest_setup(item):
  _current["test"] = item.nodeid


def pytest_sessionfinish(session):
  if not _stats:
    return
  path = f"{session.config.getoption('compile_profile')}.{os.getpid()}.json"
  with open(path, "w", encoding="utf-8") as file:
    json.dump(_stats, file)
  seconds = {test: sum(s for _, s in events.values()) for test, events in _stats.items()}
  print()
  for test in sorted(seconds, key=seconds.get, reverse=True)[:10]:
    programs = _stats[test].get("backend_compile_duration", [0])[0]
    print(f"{seconds[test]:7.1f} s tracing, lowering, compiling {programs} programs: {test}")
