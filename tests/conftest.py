"""Suite-wide settings."""

import sys

# The generator (openapi-python-client) and schemathesis need Python >= 3.10; on 3.9 the
# suite checks the SDK and the emulator, and `make test` checks generation on 3.11.
collect_ignore = (
    ["unit/test_codegen.py", "integration/test_schemathesis.py"] if sys.version_info < (3, 10) else []
)
