"""The hand-written async half of the SDK: the source of every sync/async pair.

``_sync/`` is generated from these modules by ``codegen/unasync.py`` (``make generate``;
``make check-drift`` fails when it is stale): edit here, never there.
"""
