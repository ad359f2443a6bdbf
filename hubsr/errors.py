"""The one exception type users of hubsr need to catch."""


class HubSRError(ValueError):
    """Bad input or a model folder that cannot be used; the message says what and why."""
