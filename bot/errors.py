"""Errors a user can cause. Each message is written for the person who typed the command:
it says what was wrong and how to fix it. Adapters show these as ephemeral replies."""


class QuorumError(Exception):
    """A problem with the user's request. Nothing was changed."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(QuorumError):
    """The words of the command could not be understood (bad date, zone, link, option...)."""


class NotFound(QuorumError):
    """The command names something that does not exist (series, meeting, item, vote)."""


class PermissionDenied(QuorumError):
    """The member lacks the role the command needs."""


class Conflict(QuorumError):
    """The request clashes with the current state (duplicate link, deadline passed, vote closed...)."""


class OperatorError(Exception):
    """A problem the operator running ``quorum`` can fix (a busy port, a missing database): the message
    is one sentence saying what and how; the command prints it and exits non-zero, with no traceback."""
