"""``fabric``: the command line of the Fabric control plane (``pip install 'fabric-platform[cli]'``).

Only :func:`main` lives here, and it imports nothing but the standard library until it
knows Click is installed, so a missing extra is one clear line. Rich and tomli-w (the rest
of the extra) are imported by the commands that draw or write profiles; without them such
a command says the same line (``fabric emulator`` needs neither: the ``emulator`` extra
brings Click with uvicorn).
"""

from __future__ import annotations

import sys
from importlib.util import find_spec
from typing import List, Optional

__all__ = ["main"]

#: What ``pip install 'fabric-platform[cli]'`` brings (import names).
EXTRA_MODULES = ("click", "rich", "tomli_w")
INSTALL_HINT = "pip install 'fabric-platform[cli]'"


def main(argv: Optional[List[str]] = None) -> int:
    """Run ``fabric`` with ``argv`` (default ``sys.argv[1:]``) and exit with its code.

    Args:
        argv: The arguments, without the program name.

    Returns:
        Never: exits with 0 (ok), 1 (API error), 2 (usage error) or 130 (interrupted).
    """
    if find_spec("click") is None:
        sys.stderr.write(f"fabric needs the command-line extra (click missing): {INSTALL_HINT}\n")
        sys.exit(2)
    from fabric_platform.cli._app import cli

    cli.main(args=argv, prog_name="fabric")
    return 0  # pragma: no cover - cli.main always exits
