"""Opening a TCP connection on asyncio: resolve, then race the addresses (Happy Eyeballs).

A name often resolves to several addresses (IPv6 and IPv4 on a dual-stack host, several
IPv4 for a load-balanced one), and the first one can be unreachable: a blackholed route
answers nothing, so connecting to it waits for the whole connect timeout. As RFC 8305
(and httpcore/anyio) do, the next address is tried once the previous one has had 0.25 s,
or at once when it failed; the first connection made wins and the others are closed.

Written on ``loop.getaddrinfo`` and ``loop.sock_connect`` only, so it behaves the same on
asyncio's own loops and on uvloop (whose ``create_connection`` has no Happy Eyeballs
parameters).
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any, Dict, List, Optional, Set, Tuple

__all__ = ["STAGGER", "open_socket"]

#: Seconds an attempt gets before the next address is tried alongside it (RFC 8305's
#: "Connection Attempt Delay", the value httpcore/anyio use).
STAGGER = 0.25

_Address = Tuple[int, Any]  # (family, sockaddr)


def _interleave(infos: List[Tuple[Any, ...]]) -> List[_Address]:
    # Alternate address families, starting with the resolver's first choice (RFC 8305 §4);
    # duplicates (one per socket type or protocol) dropped.
    by_family: Dict[int, List[_Address]] = {}
    seen = set()
    for family, _type, _proto, _name, sockaddr in infos:
        key = (family, sockaddr)
        if key not in seen:
            seen.add(key)
            by_family.setdefault(family, []).append(key)
    queues = list(by_family.values())
    ordered: List[_Address] = []
    while queues:
        for queue in list(queues):
            ordered.append(queue.pop(0))
            if not queue:
                queues.remove(queue)
    return ordered


async def _connect_one(
    loop: asyncio.AbstractEventLoop, address: _Address, local_address: Optional[str]
) -> socket.socket:
    family, sockaddr = address
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setblocking(False)
        if local_address:
            sock.bind((local_address, 0))
        await loop.sock_connect(sock, sockaddr)
    except BaseException:
        sock.close()
        raise
    return sock


def _drop(tasks: Set[asyncio.Task[socket.socket]]) -> None:
    # Losers: cancel the ones still connecting, close any that connected too.
    for task in tasks:
        if task.done():
            if not task.cancelled() and task.exception() is None:
                task.result().close()
        else:
            task.cancel()


async def open_socket(
    loop: asyncio.AbstractEventLoop, host: str, port: int, *, local_address: Optional[str] = None
) -> socket.socket:
    """A connected, non-blocking TCP socket to ``host`` (an ASCII name or an IP literal).

    Raises:
        OSError: The name did not resolve, or no address could be connected to (the error
            names each address tried).
    """
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses = _interleave(list(infos))
    if not addresses:
        raise OSError(f"{host!r} resolved to no address")
    pending: Set[asyncio.Task[socket.socket]] = set()
    tried: Dict[asyncio.Task[socket.socket], _Address] = {}
    errors: List[str] = []
    try:
        for index, address in enumerate(addresses):
            task = loop.create_task(_connect_one(loop, address, local_address))
            tried[task] = address
            pending.add(task)
            last = index == len(addresses) - 1
            # Give the attempts STAGGER seconds (the last one: as long as it takes); a
            # failure starts the next address at once.
            deadline = None if last else loop.time() + STAGGER
            while pending:
                wait = None if deadline is None else max(0.0, deadline - loop.time())
                done, pending = await asyncio.wait(pending, timeout=wait, return_when=asyncio.FIRST_COMPLETED)
                if not done:
                    break
                for finished in done:
                    exc = finished.exception()
                    if exc is None:
                        _drop(done - {finished})
                        return finished.result()
                    errors.append(f"{tried[finished][1][0]}: {exc}")
                if not last:
                    break
    finally:
        _drop(pending)
    raise OSError(f"could not connect to any address of {host!r} ({'; '.join(errors)})")
