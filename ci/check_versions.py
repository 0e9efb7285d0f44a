"""Fail unless the installed versions are exactly those a constraints file pins.

    python ci/check_versions.py ci/oldest-constraints.txt

`make test-matrix` runs it before the suite on the oldest dependencies, so that a resolver
quietly picking something newer cannot make that leg test the wrong thing.
"""

from __future__ import annotations

import sys
from importlib import metadata


def main(path: str) -> int:
    wrong = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            name, _, wanted = line.partition("==")
            installed = metadata.version(name.strip())
            status = "ok" if installed == wanted.strip() else "WRONG"
            print(f"{name.strip()}: installed {installed}, pinned {wanted.strip()} {status}")
            if status != "ok":
                wrong.append(name)
    if wrong:
        print(f"{path}: {', '.join(wrong)} not at the pinned version", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
