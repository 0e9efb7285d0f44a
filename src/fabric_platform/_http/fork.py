"""Clients inherited across ``os.fork()``: the child never uses its parent's connections.

A module-level client used once and then inherited by forked workers (gunicorn
``--preload``, Celery's prefork pool, ``multiprocessing``) would otherwise share its pooled
keep-alive sockets with the parent and the other children: two processes writing requests
on one connection and reading each other's responses.

In the child, right after the fork (``os.register_at_fork``: nothing on the per-call path):

* every socket the SDK's pools opened is released by the child without being shut down:
  its descriptor is replaced by one on ``/dev/null`` (``dup2``), so the connection stays
  open for the parent, and the pool objects, never touched again, cannot close or write
  to it. ``shutdown()`` would cut the connection for the parent too; ``close()`` through the
  pool could block on a lock held by a parent thread that does not exist in the child, or
  (async) change the parent's event-loop registrations, which the child shares.
* every SDK-owned client handle gets a new, empty httpx client built from the same
  configuration; credentials (the token store) and settings carry over unchanged.

A caller-supplied httpx client is the caller's to replace after a fork.
"""

from __future__ import annotations

import os
import weakref
from typing import Any, List, Optional, Protocol

__all__ = ["track_handle", "track_socket"]


class _Resettable(Protocol):
    def reset_after_fork(self) -> None: ...


class _Tracked(Protocol):
    def fork_fileno(self) -> Optional[int]: ...


_handles: weakref.WeakSet[Any] = weakref.WeakSet()
_sockets: weakref.WeakSet[Any] = weakref.WeakSet()
# What the child dropped: kept referenced so that it is never finalized there (a finalizer
# would close pools and sockets that are not the child's).
_abandoned: List[Any] = []


def track_handle(handle: _Resettable) -> None:
    """Give ``handle`` a fresh client in a forked child."""
    _handles.add(handle)


def track_socket(sock: _Tracked) -> None:
    """Release ``sock``'s descriptor (without shutting it down) in a forked child."""
    _sockets.add(sock)


def abandon(obj: Any) -> None:
    """Keep ``obj`` alive, unused, for the rest of this (child) process."""
    _abandoned.append(obj)


def _release_inherited_sockets() -> None:
    sockets = list(_sockets)
    _sockets.clear()
    abandon(sockets)
    null: Optional[int] = None
    try:
        for sock in sockets:
            fd = sock.fork_fileno()
            if fd is None or fd < 0:
                continue
            if null is None:
                null = os.open(os.devnull, os.O_RDWR)
            try:
                os.dup2(null, fd)
            except OSError:  # already closed: nothing of the parent's left to release
                pass
    finally:
        if null is not None:
            os.close(null)


def _after_fork_in_child() -> None:
    _release_inherited_sockets()
    for handle in list(_handles):
        handle.reset_after_fork()


if hasattr(os, "register_at_fork"):  # not on Windows, which has no fork
    os.register_at_fork(after_in_child=_after_fork_in_child)
