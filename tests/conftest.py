"""Suite-wide settings."""

import sys

# The generator (openapi-python-client 0.29) and schemathesis 4.32 need Python >= 3.11; on
# older versions the suite checks the SDK and the emulator, and `make test` checks
# generation and runs schemathesis on 3.11.
collect_ignore = (
    [] if sys.version_info >= (3, 11) else ["unit/test_codegen.py", "integration/test_schemathesis.py"]
)
# tests/typing is for type checkers and its user project runs on the installed wheel alone
# (tests/typing/run.py, `make typecheck-users`).
collect_ignore.append("typing")

# FABRIC_TEST_LOOP=uvloop runs every asyncio.run() and pytest-asyncio loop of the suite on
# uvloop (`make test-matrix`: the async suite as under uvicorn[standard]).
if __import__("os").environ.get("FABRIC_TEST_LOOP") == "uvloop":
    import asyncio

    import uvloop

    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
