"""The stub's one user-facing error type (it cannot import jen_core: it must stay portable)."""

from __future__ import annotations


class StubError(Exception):
    """A problem the user can fix: bad project file, unreachable server, refused request.

    The message is one line and names the problem; ``jen-stub`` prints it and exits with status 2.
    """
