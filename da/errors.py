"""User-facing errors.

Every problem a user can fix (a wrong name, a missing file, an encoder that does not fit the data)
raises a subclass of :class:`DAError` whose message names the problem and the fix. The CLI prints
these messages without a stack trace and exits with status 2.
"""


class DAError(Exception):
    """Base class of errors caused by the user's input, not by a bug in `da`."""


class DataError(DAError):
    """A dataset is missing, unreadable, corrupt or inconsistent."""


class ConfigError(DAError):
    """A configuration value is invalid or two choices do not fit together."""


class TrainingError(DAError):
    """Training diverged (NaN/Inf loss) or otherwise cannot continue."""
