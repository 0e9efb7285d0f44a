"""The emulator's machinery, with no Fabric rules in it: the SQLite store, the clock, the event
bus and SSE, idempotency records, injected faults, rate limits, the outbox (emails), URL
signing, the HTTP envelope and request parsing, and the server thread.

Nothing here imports ``_domain``, ``_engine`` or ``_routes``.
"""
