"""``python -m fabric_platform``: the ``fabric`` command line (see ``fabric_platform.cli``)."""

from __future__ import annotations

from fabric_platform.cli import main

if __name__ == "__main__":
    main()
