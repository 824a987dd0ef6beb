"""User-facing errors: anything a user can fix raises JenError with a one-line message."""

from __future__ import annotations


class JenError(Exception):
    """A problem the user can fix (bad input, missing file, unknown name).

    The CLI prints ``error: <message>`` on one line and exits with status 2;
    servers turn it into INVALID_ARGUMENT. The message says what to fix.
    """


class CheckpointError(JenError):
    """A checkpoint folder is missing, malformed, tampered with or unsafe to load."""


class CancelledError(JenError):
    """Generation was cancelled by the caller between diffusion steps."""
