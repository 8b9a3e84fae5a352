"""The errors a user can cause. Each says what was wrong and what is allowed."""


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
