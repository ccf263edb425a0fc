"""Exceptions raised by seglab, each carrying a message that names the fix."""


class SeglabError(Exception):
    """Base class of every error seglab raises on purpose."""


class InputDataError(SeglabError, ValueError):
    """Input data cannot be analysed as given (missing column, bad values, empty input)."""


class ConfigError(SeglabError, ValueError):
    """A configuration file, an override or a notebook parameter is invalid."""


class RunError(SeglabError, RuntimeError):
    """A notebook of a run failed; the partial report has been written."""
