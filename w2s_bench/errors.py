"""Errors a user can cause, reported by the CLI as one line with exit code 2."""


class UserError(Exception):
    """An error caused by input, configuration or environment, not by a bug.

    The CLI prints its message on one line and exits with code 2; a traceback
    is shown only with ``--debug``.
    """


class RegistryError(UserError):
    """An unknown plugin name, or two plugins registering the same name."""


class DataError(UserError):
    """Task data that is missing, corrupt or malformed."""


class ModelLoadError(UserError):
    """A model that cannot be found, fetched or loaded."""


class TrainingError(UserError):
    """A training phase that cannot go on, such as a loss that became NaN."""
