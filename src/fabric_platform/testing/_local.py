"""LocalFabric: the emulator as an in-process server for tests, demos and notebooks.

    with LocalFabric() as fabric:
        client = fabric.client()          # signed in as the seeded owner of the seeded org
        client.create_job("text", {"prompt": "hi"})

Every control method is thread-safe: it runs on the server's loop when it touches state the
routes use, so a test thread can steer the server while requests are in flight.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Sequence, TypeVar

from ._state import Config, Emulator

if TYPE_CHECKING:
    from fabric_platform import AsyncFabricClient, FabricClient

    from ._infra.server import ServerThread

__all__ = ["LocalFabric"]

T = TypeVar("T")


class LocalFabric:
    """A Fabric control plane on 127.0.0.1 (a real HTTP server on a free port).

    Args:
        db_path: SQLite file (WAL mode) to keep state across restarts; ``None``: in memory.
        speed: divides simulated work time (runs take ~0.5–2 s at speed 1).
        access_token_ttl: access-token lifetime in seconds (emulator clock).
        principal_header: honour ``X-Principal-Id``.
        webhook_allow_hosts: hosts webhooks may deliver to besides loopback.
        host: the address to listen on (loopback only).
        port: the port to listen on (0: a free port).
        sse_keepalive: seconds between SSE keep-alive comments.
        password_hash_iterations: PBKDF2 cost (low by default: tests create many users).
        log_level: uvicorn's log level.
        access_log: uvicorn's access log (``True`` also installs its handlers).
    """

    def __init__(
        self,
        db_path: Optional[str] = None,
        speed: float = 50.0,
        access_token_ttl: float = 900,
        principal_header: bool = True,
        webhook_allow_hosts: Sequence[str] = (),
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        sse_keepalive: float = 15.0,
        sse_retry_ms: int = 1000,
        password_hash_iterations: int = 2_000,
        max_json_body: int = 1024 * 1024,
        log_level: str = "warning",
        access_log: bool = False,
    ) -> None:
        self.config = Config(
            db_path=db_path,
            speed=speed,
            access_token_ttl=access_token_ttl,
            principal_header=principal_header,
            webhook_allow_hosts=tuple(webhook_allow_hosts),
            sse_keepalive=sse_keepalive,
            sse_retry_ms=sse_retry_ms,
            password_hash_iterations=password_hash_iterations,
            max_json_body=max_json_body,
        )
        self._host = host
        self._port = port
        self._log_level = log_level
        # The console command wants uvicorn's own log set-up and access lines; tests do not.
        self._access_log = access_log
        self._server: Optional[ServerThread] = None
        self._emulator: Optional[Emulator] = None

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> LocalFabric:
        if self._server is not None:
            return self
        from ._app import create_app
        from ._infra.server import ServerThread

        emulator = Emulator(self.config)
        try:
            server = ServerThread(
                create_app(emulator),
                host=self._host,
                port=self._port,
                log_level=self._log_level,
                access_log=self._access_log,
                configure_logging=self._access_log,
                before_stop=emulator.begin_shutdown,
            )
            host = f"[{self._host}]" if ":" in self._host else self._host
            self.config.base_url = f"http://{host}:{server.port}"
            server.start()
        except BaseException:
            emulator.store.close()
            raise
        self._emulator = emulator
        self._server = server
        return self

    def stop(self) -> None:
        server, emulator = self._server, self._emulator
        self._server = None
        if server is not None:
            server.stop()
        if emulator is not None:
            emulator.store.close()
            self._emulator = None

    @property
    def running(self) -> bool:
        return self._server is not None and self._server.running

    def __enter__(self) -> LocalFabric:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    async def __aenter__(self) -> LocalFabric:
        await asyncio.get_running_loop().run_in_executor(None, self.start)
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self.stop)

    def __repr__(self) -> str:
        state = self.base_url if self.running else "stopped"
        return f"<LocalFabric {state}>"

    # ------------------------------------------------------------------ connection facts
    @property
    def emulator(self) -> Emulator:
        if self._emulator is None:
            raise RuntimeError("LocalFabric is not started")
        return self._emulator

    @property
    def base_url(self) -> str:
        self.emulator  # noqa: B018 - raises when not started
        return self.config.base_url

    @property
    def organization_id(self) -> str:
        return self.emulator.seed.organization_id

    @property
    def api_key(self) -> str:
        """The seeded owner's API key (full scopes, organization ``organization_id``)."""
        return self.emulator.seed.api_key

    @property
    def owner(self) -> Dict[str, Any]:
        """The seeded owner: ``{id, email, password}``."""
        seed = self.emulator.seed
        return {"id": seed.owner_id, "email": seed.owner_email, "password": seed.owner_password}

    def client(self, **kwargs: Any) -> FabricClient:
        """A ``FabricClient`` signed in as the seeded owner (keyword arguments override)."""
        from fabric_platform import FabricClient

        options: Dict[str, Any] = {
            "base_url": self.base_url,
            "api_key": self.api_key,
            "organization_id": self.organization_id,
        }
        options.update(kwargs)
        return FabricClient(**options)

    def async_client(self, **kwargs: Any) -> AsyncFabricClient:
        """An ``AsyncFabricClient`` signed in as the seeded owner (keyword arguments override)."""
        from fabric_platform import AsyncFabricClient

        options: Dict[str, Any] = {
            "base_url": self.base_url,
            "api_key": self.api_key,
            "organization_id": self.organization_id,
        }
        options.update(kwargs)
        return AsyncFabricClient(**options)

    # ------------------------------------------------------------------ observation
    @property
    def outbox(self) -> List[Dict[str, Any]]:
        """Emails sent so far, oldest first: ``{kind, to, subject, link, token, created_at}``."""
        return self._call(lambda: self.emulator.outbox.messages())

    def stats(self) -> Dict[str, int]:
        """Requests served per operation, keyed ``"METHOD /path/template"``."""
        return self.emulator.stats.snapshot()

    def reset_stats(self) -> None:
        self.emulator.stats.reset()

    def advance_time(self, seconds: float) -> None:
        """Move the emulator clock forward (expiries, schedules) without waiting."""
        self._call(lambda: self.emulator.advance_time(seconds))

    # ------------------------------------------------------------------ faults
    def fail_next(
        self,
        method: str,
        path_pattern: str,
        status: int = 503,
        *,
        count: int = 1,
        retry_after: Optional[float] = None,
        commit: bool = False,
    ) -> None:
        """Fail the next ``count`` requests matching ``method`` (``*``: any) and ``path_pattern``.

        ``path_pattern`` is a glob tried against the path and the route template
        (``/v1/jobs``, ``/v1/jobs/*``, ``/v1/jobs/{id}``). With ``commit=True`` the request is
        carried out first and only its answer is replaced by the error.
        """
        self.emulator.faults.fail_next(
            method, path_pattern, status, count=count, retry_after=retry_after, commit=commit
        )

    def add_latency(self, method: str, path_pattern: str, seconds: float) -> None:
        self.emulator.faults.add_latency(method, path_pattern, seconds)

    def drop_stream_after(self, events: int, times: int = 1) -> None:
        """Cut the next ``times`` SSE connections after ``events`` events each."""
        self.emulator.faults.drop_stream_after(events, times)

    def rate_limit(self, per_second: Optional[float], burst: Optional[float] = None) -> None:
        """Token bucket per principal; ``None`` turns it off."""
        self.emulator.ratelimit.configure(per_second, burst)

    def disable_streaming(self, disabled: bool = True) -> None:
        """SSE endpoints answer 503 (clients must fall back to polling)."""
        self.emulator.faults.disable_streaming(disabled)

    def reset_faults(self) -> None:
        """Remove every fault, latency, stream drop and the rate limit."""
        self.emulator.faults.reset()
        self.emulator.ratelimit.configure(None)

    # ------------------------------------------------------------------ internals
    def _call(self, fn: Callable[[], T]) -> T:
        server = self._server
        if server is None:
            raise RuntimeError("LocalFabric is not started")
        return server.call(fn)
