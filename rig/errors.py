"""Errors a user can cause. The CLI prints them as one line and exits with status 2."""


class UserError(Exception):
    """A problem the user can fix: the message names the cause and the fix, on one line."""

    exit_code = 2

    def __init__(self, message: str):
        super().__init__(" ".join(message.split()))
