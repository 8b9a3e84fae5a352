"""The errors a user can cause. Each says what was wrong and what is allowed."""

import math
import numbers


class JaxplayError(ValueError):
  """Base class of every error jaxplay raises on purpose."""


class UnknownGameError(JaxplayError, KeyError):
  """`make` was given a name that is not registered."""

  def __str__(self) -> str:  # KeyError would quote the message.
    return str(self.args[0])


class ConfigError(JaxplayError):
  """A game or experiment was given a keyword or value it does not accept."""


class IllegalActionError(JaxplayError):
  """Checked mode saw a player choose an action that is not legal."""


class IllegalChanceError(JaxplayError):
  """Checked mode saw a chance vector (`init_from`) that is not one of the game's outcomes."""


# --- option checks, for game constructors ------------------------------------------------------


def is_int(value) -> bool:
  """Whether `value` is an integer (Python or numpy), not a bool."""
  return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def is_real(value) -> bool:
  """Whether `value` is a real number (Python or numpy), not a bool."""
  return isinstance(value, numbers.Real) and not isinstance(value, bool)


def check_int(where: str, option: str, value, low: int, high: int | None = None) -> int:
  """`value` as an int if it is an integer (not a bool) in low..high (no upper bound if None);
  otherwise ConfigError naming `where` (the game), the option and what is allowed."""
  if is_int(value) and low <= value and (high is None or value <= high):
    return int(value)
  if high is not None:
    allowed = f"an int in {low}..{high}"
  else:
    allowed = "a positive int" if low == 1 else f"an int >= {low}"
  raise ConfigError(f"{where}: {option} must be {allowed}, got {value!r}")


def check_number(where: str, option: str, value, low: float, high: float, *,
                 low_open: bool = False, high_open: bool = False) -> float:
  """`value` as a float if it is a real number (not a bool) in the interval from `low` to
  `high` (each end excluded if open); otherwise ConfigError naming the option and the range."""
  if is_real(value):
    above = low < value if low_open else low <= value
    below = value < high if high_open else value <= high
    if above and below:
      return float(value)
  interval = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
  raise ConfigError(f"{where}: {option} must be a number in {interval}, got {value!r}")


def check_return_range(where: str, return_range) -> tuple[float, float]:
  """(lo, hi) as floats if `return_range` is two finite numbers with lo < hi (the range of a
  game's returns, to map a return to a win probability); otherwise ConfigError."""
  ok = (isinstance(return_range, (tuple, list)) and len(return_range) == 2
        and all(is_real(x) and math.isfinite(x) for x in return_range)
        and return_range[0] < return_range[1])
  if not ok:
    raise ConfigError(f"{where}: return_range must be two finite numbers (lo, hi) with lo < hi, "
                      f"got {return_range!r}")
  return float(return_range[0]), float(return_range[1])
