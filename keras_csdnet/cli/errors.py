"""The error a command reports as one line and a non-zero exit."""


class CommandError(ValueError):
    """A command cannot go on; the message names the problem and the fix."""
