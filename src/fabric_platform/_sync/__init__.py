"""The sync half of the SDK, generated from ``_async/`` by ``codegen/unasync.py``.

Every module here but this one is generated (its first line says so): edit the async source
and run ``make generate``; ``make check-drift`` fails when a module here is stale or edited.
"""
