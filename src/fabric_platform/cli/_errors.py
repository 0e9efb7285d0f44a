"""Exit codes and the one-line error messages of ``fabric``.

=====  =========================================================
code   meaning
=====  =========================================================
0      success
1      the API refused or failed (or a watched run failed / was cancelled)
2      usage error: a bad option or argument; nothing was sent
130    interrupted (Ctrl-C)
=====  =========================================================
"""

from __future__ import annotations

__all__ = ["EXIT_API", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_USAGE", "describe"]

EXIT_OK = 0
EXIT_API = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def describe(exc: BaseException) -> str:
    """One line for an SDK exception: what went wrong, and the request id to quote.

    Args:
        exc: The exception.

    Returns:
        The text after ``Error: ``; it never holds a credential (the SDK's messages do not).
    """
    from fabric_platform.errors import FabricAPIError

    if isinstance(exc, FabricAPIError):
        code = (exc.code or "").replace("_", " ")
        rid = f" (request_id={exc.request_id})" if exc.request_id else ""
        return f"{code}: {exc.message}{rid}" if code else f"{exc.message}{rid}"
    return str(exc) or type(exc).__name__
