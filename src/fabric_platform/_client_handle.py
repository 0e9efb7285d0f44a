"""The httpx client shared by a transport and all its ``with_options`` copies.

Only the transport that created it (not a copy, and never for a caller-supplied client)
closes it. It also keeps the async client's bound on requests in flight (see ``_gate``),
shared by the copies. In a process forked from the one that made it, a handle of the SDK's
own gets a new client with an empty pool (see ``_fork``).
"""

from __future__ import annotations

import weakref
from typing import Any, Callable, Optional, Union

import httpx

from fabric_platform import _fork

__all__ = ["DEFAULT_LIMITS", "ClientHandle"]

# Connection pool of a client we create. Keep-alive connections are what make a client
# cheap to reuse; the cap protects the server from a runaway thread pool.
DEFAULT_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=30.0)


class ClientHandle:
    """The httpx client shared by a transport and all its copies, and who closes it."""

    def __init__(
        self,
        client: Union[httpx.Client, httpx.AsyncClient],
        owned: bool,
        max_in_flight: int = 0,
        *,
        factory: Optional[Callable[[], Union[httpx.Client, httpx.AsyncClient]]] = None,
    ) -> None:
        """Args:
        client: The httpx client.
        owned: True when the SDK created it (and so closes it).
        max_in_flight: The async client's bound on requests in flight.
        factory: Makes an equivalent client with an empty pool, for a forked child
            (only for a client the SDK owns).
        """
        self.client = client
        self.owned = owned
        self.closed = False
        self.max_in_flight = max_in_flight  # async only: see _gate
        # The async bound's state, one per event loop (asyncio primitives belong to a loop;
        # a client may be used from several asyncio.run() calls in turn).
        self.gates: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()
        self._finalizer: Any = None
        self._factory = factory if owned else None
        self._watch(client)
        if self._factory is not None:
            _fork.track_handle(self)

    def _watch(self, client: Union[httpx.Client, httpx.AsyncClient]) -> None:
        if self.owned and isinstance(client, httpx.Client):
            # If the application drops a sync client without closing it, close its pool when
            # it is collected instead of leaving sockets to raise ResourceWarnings.
            self._finalizer = weakref.finalize(self, client.close)
            self._finalizer.atexit = False

    def reset_after_fork(self) -> None:
        """In a forked child: switch to a new client; the inherited one is never used again.

        Not closed either: its pool's locks may be held by a parent thread that does not
        exist here (its sockets were already released, see ``_fork``).
        """
        if self.closed or self._factory is None:
            return
        if self._finalizer is not None:
            self._finalizer.detach()
            self._finalizer = None
        _fork.abandon(self.client)
        self.client = self._factory()
        self.gates = weakref.WeakKeyDictionary()
        self._watch(self.client)

    def close(self) -> None:
        """Close a sync client we own (once); only mark the handle closed otherwise."""
        if self.closed:
            return
        self.closed = True
        if self._finalizer is not None:
            self._finalizer()  # runs client.close() once and unregisters itself

    async def aclose(self) -> None:
        """Close an async client we own (once); only mark the handle closed otherwise."""
        if self.closed:
            return
        self.closed = True
        if self.owned and isinstance(self.client, httpx.AsyncClient):
            await self.client.aclose()
