"""`make demo`: start a local Fabric (file database in a temp folder), run every example.

Everything talks real HTTP to the emulator on 127.0.0.1; nothing leaves the machine.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import approval_workflow
import quickstart
import schemas_and_validation
import streaming
import variants_and_bundle

from fabric_platform.testing import LocalFabric


def main() -> int:
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="fabric-demo-") as tmp:
        db = Path(tmp) / "fabric.db"
        with LocalFabric(db_path=str(db), speed=20.0) as local:
            print(f"local Fabric emulator on {local.base_url} (database {db.name}, 20x speed)")
            with local.client() as owner:
                fabric = quickstart.main(owner)
                approval_workflow.main(fabric)
                variants_and_bundle.main(fabric)
                streaming.main(fabric)
                schemas_and_validation.main(fabric)
                try:
                    import downloads
                except ImportError:
                    downloads = None
                if downloads is not None:
                    downloads.main(fabric, Path(tmp) / "downloads")
                fabric.close()
    print(f"\ndemo finished in {time.monotonic() - started:.1f} s; the emulator is stopped.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
