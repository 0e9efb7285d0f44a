"""Calls that may block for long (file creation, fsync + rename): where each client runs them."""

from __future__ import annotations

from typing import Callable, TypeVar

__all__ = ["run_blocking_async", "run_blocking_sync"]

_T = TypeVar("_T")


async def run_blocking_async(func: Callable[[], _T]) -> _T:
    """Run ``func`` in a worker thread, so the event loop keeps serving other tasks."""
    import asyncio  # only the async client gets here

    return await asyncio.get_running_loop().run_in_executor(None, func)


def run_blocking_sync(func: Callable[[], _T]) -> _T:
    """Run ``func`` here: the sync client's caller is the one waiting for it."""
    return func()
