"""User-facing errors: the CLI prints their message as one line and exits with status 2."""


class BardError(Exception):
    """An error caused by the user's input or environment, not by a bug in bard."""


class ConfigError(BardError):
    pass


class CorpusError(BardError):
    pass


class CheckpointError(BardError):
    pass
