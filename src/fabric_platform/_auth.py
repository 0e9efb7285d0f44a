"""Credentials: the API key / principal id, and the session tokens with their refresh.

One :class:`TokenStore` per client (shared by its ``with_options`` copies). The transport
asks it for headers before each attempt and hands it the refresh request to run when the
access token is (about to be) expired.

Single flight: every snapshot of the credentials carries a *generation* number that changes
whenever the tokens change. A caller that saw generation *g* and needs a refresh takes the
refresh lock; if the generation is no longer *g* when it gets the lock, somebody else has
already refreshed (or cleared) the tokens in the meantime and it simply retries with the new
ones. So however many threads or tasks find the token expired together, exactly one refresh
request is sent. This matters doubly because refresh tokens rotate: a second refresh with
the already-used token would fail and log the user out.
"""

from __future__ import annotations

import hashlib
import threading
import time
import weakref
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Dict, Mapping, NamedTuple, Optional, Tuple

from fabric_platform._config import ClientConfig, TokensCallback
from fabric_platform._core.log import logger
from fabric_platform.errors import FabricAPIError, FabricAuthError

if TYPE_CHECKING:
    import asyncio

__all__ = ["DEFAULT_REFRESH_PATH", "NO_CREDENTIALS", "AuthSnapshot", "TokenStore", "refresh_idempotency_key"]

DEFAULT_REFRESH_PATH = "/v1/auth/token/refresh"

# Refresh when less than this remains of the access token's life...
_REFRESH_MARGIN = 30.0
# ...but never more than this fraction of it, so short-lived test tokens (expires_in=2) are
# not refreshed on every request.
_REFRESH_MARGIN_FRACTION = 0.1

#: Sends ``POST <path>`` with a JSON body and an Idempotency-Key, without credentials, and
#: returns the envelope's data.
SyncRefreshSender = Callable[[str, Dict[str, Any], str], Any]
AsyncRefreshSender = Callable[[str, Dict[str, Any], str], Awaitable[Any]]


def refresh_idempotency_key(refresh_token: str) -> str:
    """The Idempotency-Key of a refresh: derived from the refresh token being spent.

    Refresh tokens are single-use. If a refresh reached the server but its answer was lost,
    a repeat with a fresh key would present a spent token and end the session; with this key
    the server replays the first answer (the new pair) to every repeat, from any retry,
    thread or process — for a short window only (a minute on the emulator): anyone holding
    the token can compute the key, so after that a spent token meets reuse detection (401,
    token family revoked). A hash, so the header does not reveal the token.

    Args:
        refresh_token: The refresh token sent in the body.

    Returns:
        A stable key for that token.
    """
    return "refresh-" + hashlib.sha256(refresh_token.encode("utf-8")).hexdigest()[:40]


class AuthSnapshot(NamedTuple):
    """The credentials one attempt is sent with."""

    generation: int
    headers: Dict[str, str]
    uses_session: bool  # the Authorization header carries the session's access token


# Public operations (login, signup, health, refresh) go without credentials: a stale access
# token must never make a login fail. Shared: read-only.
NO_CREDENTIALS = AuthSnapshot(-1, {}, False)


class TokenStore:
    """Holds the client's credentials and refreshes session tokens, one refresh at a time.

    Thread-safe and task-safe. The API key and principal id are fixed; the session tokens
    (from login, signup, social login or an explicit refresh) come and go. While a session
    is active its access token is sent instead of the API key.
    """

    def __init__(
        self,
        config: Optional[ClientConfig] = None,
        *,
        api_key: Optional[str] = None,
        principal_id: Optional[str] = None,
        on_tokens: Optional[TokensCallback] = None,
        refresh_path: str = DEFAULT_REFRESH_PATH,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Create a store.

        Args:
            config: Take ``api_key``, ``principal_id`` and ``on_tokens`` from this
                configuration (explicit keyword arguments win).
            api_key: Sent as ``Authorization: Bearer`` when no session is active.
            principal_id: Sent as ``X-Principal-Id``.
            on_tokens: Called with every new AuthTokens dict (to persist it).
            refresh_path: Path of the refresh operation (from the operation table).
            clock: Monotonic clock for expiry (injectable for tests).
        """
        if config is not None:
            api_key = config.api_key if api_key is None else api_key
            principal_id = config.principal_id if principal_id is None else principal_id
            on_tokens = config.on_tokens if on_tokens is None else on_tokens
        self._api_key = api_key
        self._principal_id = principal_id
        self._on_tokens = on_tokens
        self.refresh_path = refresh_path
        self._clock = clock
        self._state_lock = threading.Lock()
        self._access_token: Optional[str] = None
        self._refresh_token: Optional[str] = None
        self._expires_at: Optional[float] = None
        self._lifetime: Optional[float] = None
        self._generation = 0
        self._snapshot_cache: Optional[AuthSnapshot] = None
        # The error of the last failed refresh, with the generation it produced: callers
        # that waited for that refresh get the same answer instead of a confusing 401.
        self._failure: Optional[Tuple[int, FabricAuthError]] = None
        self._refresh_calls = 0
        self._sync_refresh_lock = threading.Lock()
        # asyncio.Lock binds to the loop it is first used on, so keep one per event loop;
        # weak keys let finished loops go away.
        self._async_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )
        if config is not None and config.session:
            # A profile's saved session (``fabric login``): restored, not new, so no callback.
            self.store(config.session, notify=False)

    @classmethod
    def from_config(cls, config: ClientConfig, *, refresh_path: str = DEFAULT_REFRESH_PATH) -> TokenStore:
        """A store with the credentials of a client configuration.

        Args:
            config: The client configuration.
            refresh_path: Path of the refresh operation.

        Returns:
            The new store.
        """
        return cls(config, refresh_path=refresh_path)

    # -- reading ---------------------------------------------------------------------------

    @property
    def has_session(self) -> bool:
        """True while session tokens are stored."""
        return self._access_token is not None

    @property
    def access_token(self) -> Optional[str]:
        """The current access token, if a session is active."""
        return self._access_token

    @property
    def refresh_token(self) -> Optional[str]:
        """The current refresh token, if any."""
        return self._refresh_token

    @property
    def generation(self) -> int:
        """Changes every time the session tokens change."""
        return self._generation

    @property
    def refresh_calls(self) -> int:
        """How many refresh requests this store has sent (for diagnostics and tests)."""
        return self._refresh_calls

    def snapshot(self) -> AuthSnapshot:
        """The headers to send now, tagged with the generation they belong to.

        Returns:
            The snapshot (shared between callers until the credentials change: treat its
            ``headers`` as read-only).
        """
        # Every call asks for this; the credentials only change with the generation, so the
        # last snapshot is reused while the generation is the same (a snapshot is built
        # under the lock, so its headers and generation always belong together).
        cached = self._snapshot_cache
        if cached is not None and cached.generation == self._generation:
            return cached
        with self._state_lock:
            headers: Dict[str, str] = {}
            uses_session = False
            if self._access_token is not None:
                headers["Authorization"] = f"Bearer {self._access_token}"
                uses_session = True
            elif self._api_key is not None:
                headers["Authorization"] = f"Bearer {self._api_key}"
            if self._principal_id is not None:
                headers["X-Principal-Id"] = self._principal_id
            snapshot = self._snapshot_cache = AuthSnapshot(self._generation, headers, uses_session)
            return snapshot

    def needs_refresh(self) -> bool:
        """Whether the access token expires soon enough to refresh it before sending.

        Returns:
            True if a refresh token is stored and the access token is within its margin.
        """
        if self._refresh_token is None:
            # Unlocked fast path for API-key clients. A session stored concurrently is seen by
            # the next call; proactive refresh is only an optimisation.
            return False
        with self._state_lock:
            if self._refresh_token is None or self._expires_at is None or self._lifetime is None:
                return False
            margin = min(_REFRESH_MARGIN, self._lifetime * _REFRESH_MARGIN_FRACTION)
            return self._clock() >= self._expires_at - margin

    # -- writing ---------------------------------------------------------------------------

    def store(self, tokens: Mapping[str, Any], *, notify: bool = True) -> None:
        """Keep a new token pair (from login, signup, social login or refresh).

        Args:
            tokens: An AuthTokens dict: ``access_token`` and optionally ``refresh_token``,
                ``expires_in`` (seconds).
            notify: Call ``on_tokens`` (False when restoring tokens the app already has).

        Raises:
            ValueError: ``tokens`` has no ``access_token`` string.
        """
        access = tokens.get("access_token")
        if not isinstance(access, str) or not access:
            raise ValueError("tokens must contain an access_token string")
        refresh = tokens.get("refresh_token")
        expires_in = tokens.get("expires_in")
        lifetime: Optional[float] = None
        if isinstance(expires_in, (int, float)) and not isinstance(expires_in, bool) and expires_in >= 0:
            lifetime = float(expires_in)
        with self._state_lock:
            self._access_token = access
            self._refresh_token = refresh if isinstance(refresh, str) and refresh else None
            self._lifetime = lifetime
            self._expires_at = None if lifetime is None else self._clock() + lifetime
            self._generation += 1
            self._failure = None
        if notify and self._on_tokens is not None:
            try:
                self._on_tokens(dict(tokens))
            except Exception:
                # The tokens are stored and the request succeeded; an application's
                # persistence bug must not turn that into a failure (or a lost session).
                logger.exception("on_tokens callback raised; the new tokens are still in use")

    def clear(self) -> None:
        """Forget the session tokens (logout); the API key, if any, is used again."""
        with self._state_lock:
            self._clear_locked()

    def _clear_locked(self) -> None:
        self._access_token = None
        self._refresh_token = None
        self._expires_at = None
        self._lifetime = None
        self._generation += 1

    # -- refresh (single flight) -----------------------------------------------------------

    def refresh(self, send: SyncRefreshSender, seen_generation: int) -> None:
        """Refresh the session unless someone did since ``seen_generation`` (one at a time).

        Args:
            send: Sends the refresh request and returns the envelope's data.
            seen_generation: The generation of the credentials found expired.

        Raises:
            FabricAuthError: The refresh was rejected (tokens cleared) or there is no refresh
                token.
            FabricError: A transient failure (connection, timeout, 5xx); tokens are kept.
        """
        from fabric_platform._sync.refresh import refresh_once

        refresh_once(self, send, seen_generation)

    async def arefresh(self, send: AsyncRefreshSender, seen_generation: int) -> None:
        """:meth:`refresh` for the tasks of an event loop (they share one refresh)."""
        from fabric_platform._async.refresh import async_refresh_once

        await async_refresh_once(self, send, seen_generation)

    def refresh_lock_sync(self) -> threading.Lock:
        """The lock threads take to refresh one at a time."""
        return self._sync_refresh_lock

    def refresh_lock_async(self) -> asyncio.Lock:
        """The lock the tasks of the running event loop take to refresh one at a time."""
        # Imported here: a sync-only program never needs asyncio (it costs ~50 ms to import).
        import asyncio

        loop = asyncio.get_running_loop()
        with self._state_lock:
            lock = self._async_locks.get(loop)
            if lock is None:
                lock = asyncio.Lock()
                self._async_locks[loop] = lock
            return lock

    def begin_refresh(self, seen_generation: int) -> Optional[str]:
        """The refresh token to send, with the refresh lock held; None: someone refreshed."""
        with self._state_lock:
            if self._generation != seen_generation:
                failure = self._failure
                if failure is not None and failure[0] == self._generation and not self._has_fallback():
                    raise _copy_auth_error(failure[1])
                return None
            if self._refresh_token is None:
                raise FabricAuthError(
                    "the access token expired and no refresh token is stored; log in again",
                    status_code=401,
                    code="token_expired",
                )
            self._refresh_calls += 1
            return self._refresh_token

    def _has_fallback(self) -> bool:
        return self._api_key is not None or self._principal_id is not None

    def complete_refresh(self, data: Any) -> None:
        """Store the pair a refresh answered (an answer without one is an auth error)."""
        if not isinstance(data, Mapping) or not isinstance(data.get("access_token"), str):
            error = FabricAuthError(
                "the token refresh answered without an access_token",
                status_code=200,
                code="invalid_refresh_response",
            )
            self._fail(error)
            raise error
        self.store(data)
        logger.debug("session tokens refreshed")

    def refresh_rejected(self, exc: FabricAPIError) -> BaseException:
        """What to raise for a refresh the server refused (the session ends unless transient)."""
        if exc.status_code >= 500 or exc.status_code in (408, 429):
            # Transient: the refresh token may still be good; keep the session.
            return exc
        error = FabricAuthError(
            f"token refresh failed: {exc.message}",
            status_code=exc.status_code,
            code=exc.code,
            request_id=exc.request_id,
            details=exc.details,
            response=exc.response,
            method=exc.method,
            path=exc.path,
        )
        self._fail(error)
        return error

    def _fail(self, error: FabricAuthError) -> None:
        with self._state_lock:
            self._clear_locked()
            self._failure = (self._generation, error)
        logger.info("token refresh failed (%s); session tokens cleared", error.code)

    def __repr__(self) -> str:
        with self._state_lock:
            session = "none"
            if self._access_token is not None:
                session = "active"
                if self._expires_at is not None:
                    session += f", expires in {self._expires_at - self._clock():.0f}s"
        key = "set" if self._api_key is not None else "none"
        return f"TokenStore(api_key={key}, principal_id={self._principal_id!r}, session={session})"


def _copy_auth_error(error: FabricAuthError) -> FabricAuthError:
    # A fresh instance per waiter: one exception object raised in many threads would share
    # (and corrupt) its traceback.
    return FabricAuthError(
        error.message,
        status_code=error.status_code,
        code=error.code,
        request_id=error.request_id,
        details=error.details,
        response=error.response,
        method=error.method,
        path=error.path,
    )
