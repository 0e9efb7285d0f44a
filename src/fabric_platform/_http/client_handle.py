"""The httpx client shared by a transport and all its ``with_options`` copies.

Only the transport that created it (not a copy, and never for a caller-supplied client)
closes it. It also keeps the async client's bound on requests in flight (see ``gate``),
shared by the copies. In a process forked from the one that made it, a handle of the SDK's
own gets a new client with an empty pool (see ``fork``).
"""

from __future__ import annotations

import weakref
from typing import Any, Callable, Generic, Optional, Protocol, TypeVar, Union

import httpx

from fabric_platform._http import fork

__all__ = ["DEFAULT_LIMITS", "ClientHandle", "Turn"]

# Connection pool of a client we create. Keep-alive connections are what make a client
# cheap to reuse; the cap protects the server from a runaway thread pool.
DEFAULT_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=30.0)


class Turn(Protocol):
    """A slot among the requests in flight through a pool, held until ``leave()``."""

    def leave(self) -> None: ...


class _AlwaysATurn:
    def leave(self) -> None:
        pass


_ALWAYS = _AlwaysATurn()


_HttpClient = TypeVar("_HttpClient", bound=Union[httpx.Client, httpx.AsyncClient])


class ClientHandle(Generic[_HttpClient]):
    """The httpx client shared by a transport and all its copies, and who closes it."""

    def __init__(
        self,
        client: _HttpClient,
        owned: bool,
        max_in_flight: int = 0,
        *,
        factory: Optional[Callable[[], _HttpClient]] = None,
    ) -> None:
        """Args:
        client: The httpx client.
        owned: True when the SDK created it (and so closes it).
        max_in_flight: The async client's bound on requests in flight.
        factory: Makes an equivalent client with an empty pool, for a forked child
            (only for a client the SDK owns).
        """
        self.client: _HttpClient = client
        self.owned = owned
        self.closed = False
        self.max_in_flight = max_in_flight  # the async client's only: see acquire_async
        # The async bound's state, one per event loop (asyncio primitives belong to a loop;
        # a client may be used from several asyncio.run() calls in turn).
        self.gates: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()
        self._finalizer: Any = None
        self._factory: Optional[Callable[[], _HttpClient]] = factory if owned else None
        self._watch(client)
        if self._factory is not None:
            fork.track_handle(self)

    def _watch(self, client: _HttpClient) -> None:
        if self.owned and isinstance(client, httpx.Client):
            # If the application drops a sync client without closing it, close its pool when
            # it is collected instead of leaving sockets to raise ResourceWarnings.
            self._finalizer = weakref.finalize(self, client.close)
            self._finalizer.atexit = False

    def reset_after_fork(self) -> None:
        """In a forked child: switch to a new client; the inherited one is never used again.

        Not closed either: its pool's locks may be held by a parent thread that does not
        exist here (its sockets were already released, see ``fork``).
        """
        if self.closed or self._factory is None:
            return
        if self._finalizer is not None:
            self._finalizer.detach()
            self._finalizer = None
        fork.abandon(self.client)
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

    async def acquire_async(self, timeout: float) -> Optional[Turn]:
        """Wait (at most ``timeout`` seconds) for a turn to send a request through the pool.

        Returns:
            The turn, to be given back with ``leave()`` once the response head (or, when it
            is read at once, the whole body) arrived; None when no turn came in time.
        """
        import asyncio  # only async clients get here: the sync import path stays without it

        loop = asyncio.get_running_loop()
        gate: Any = self.gates.get(loop)
        if gate is None:
            from fabric_platform._http.gate import Gate

            # One per event loop: asyncio primitives belong to the loop they were made on.
            gate = self.gates[loop] = Gate(self.max_in_flight, loop)
        return gate if await gate.enter(timeout) else None

    def acquire_sync(self, timeout: float) -> Optional[Turn]:
        """A turn at once: threads wait in httpx's own pool (its ``max_connections``)."""
        return _ALWAYS

    async def aclose(self) -> None:
        """Close an async client we own (once); only mark the handle closed otherwise."""
        if self.closed:
            return
        self.closed = True
        if self.owned and isinstance(self.client, httpx.AsyncClient):
            await self.client.aclose()
