"""One session refresh at a time: the callers that found the same expired token share it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fabric_platform._auth import refresh_idempotency_key
from fabric_platform.errors import FabricAPIError

if TYPE_CHECKING:
    from fabric_platform._auth import AsyncRefreshSender, TokenStore

__all__ = ["async_refresh_once"]


async def async_refresh_once(tokens: TokenStore, send: AsyncRefreshSender, seen_generation: int) -> None:
    """Refresh the session unless someone did since ``seen_generation``.

    Args:
        tokens: The credential store.
        send: Sends the refresh request and returns the envelope's data.
        seen_generation: The generation of the credentials found expired.

    Raises:
        FabricAuthError: The refresh was rejected (tokens cleared) or there is no refresh token.
        FabricError: A transient failure (connection, timeout, 5xx); tokens are kept.
    """
    async with tokens.refresh_lock_async():
        refresh_token = tokens.begin_refresh(seen_generation)
        if refresh_token is None:
            return
        try:
            data = await send(
                tokens.refresh_path,
                {"refresh_token": refresh_token},
                refresh_idempotency_key(refresh_token),
            )
        except FabricAPIError as exc:
            raise tokens.refresh_rejected(exc) from exc
        tokens.complete_refresh(data)
