"""Run the emulator's ASGI app on uvicorn in a background thread with its own event loop."""

from __future__ import annotations

import asyncio
import concurrent.futures
import socket
import threading
from typing import Any, Callable, Dict, Optional, TypeVar

import uvicorn

T = TypeVar("T")


class ServerThread:
    """uvicorn on ``host:port`` (port 0: a free one) in a daemon thread.

    The socket is bound here, before the thread starts, so ``port`` is known at once and a
    busy port fails in the caller's thread with a clear OSError.
    """

    def __init__(
        self,
        app: Any,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        log_level: str = "warning",
        access_log: bool = False,
        configure_logging: bool = False,
        before_stop: Optional[Callable[[], None]] = None,
    ) -> None:
        self._app = app
        self._before_stop = before_stop
        self._sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Accepted sockets inherit this: without it, a response written as headers + body
        # meets the client's delayed ACK and every request costs ~40 ms.
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            self._sock.bind((host, port))
        except OSError:
            self._sock.close()
            raise
        self._sock.listen(128)
        self.host = host
        self.port = int(self._sock.getsockname()[1])
        # In-process (tests) we leave the host program's logging alone.
        logging_options: Dict[str, Any] = {} if configure_logging else {"log_config": None}
        self._config = uvicorn.Config(
            app,
            lifespan="on",
            http="h11",
            ws="none",
            loop="asyncio",
            log_level=log_level,
            access_log=access_log,
            timeout_graceful_shutdown=3,
            timeout_keep_alive=5,
            **logging_options,
        )
        self._server = uvicorn.Server(self._config)
        self._thread: Optional[threading.Thread] = None
        self.loop: Optional[asyncio.AbstractEventLoop] = None
        self._error: Optional[BaseException] = None

    def start(self, timeout: float = 30.0) -> None:
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(ready,), name="fabric-emulator", daemon=True)
        self._thread.start()
        deadline_hit = not ready.wait(timeout)
        while not deadline_hit and not self._server.started and self._thread.is_alive():
            self._thread.join(0.01)
        if not self._server.started:
            self.stop()
            raise RuntimeError(f"the emulator did not start: {self._error!r}")

    def _run(self, ready: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        self.loop = loop
        asyncio.set_event_loop(loop)
        ready.set()
        try:
            loop.run_until_complete(self._server.serve(sockets=[self._sock]))
        except BaseException as exc:  # reported by start()
            self._error = exc
        finally:
            try:
                loop.run_until_complete(loop.shutdown_asyncgens())
            finally:
                asyncio.set_event_loop(None)
                loop.close()

    def call(self, fn: Callable[[], T], timeout: float = 30.0) -> T:
        """Run ``fn()`` on the server's loop and return its result (from another thread)."""
        loop = self.loop
        if loop is None or not self.running:
            return fn()

        async def run() -> T:
            return fn()

        future: concurrent.futures.Future[T] = asyncio.run_coroutine_threadsafe(run(), loop)
        return future.result(timeout)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and not self._server.should_exit

    def stop(self, timeout: float = 15.0) -> None:
        if self._before_stop is not None and self.running:
            try:
                self.call(self._before_stop, timeout=5)
            except Exception:
                pass
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
        self._sock.close()

    def wait(self) -> None:
        """Block until the server stops (the console command)."""
        while self._thread is not None and self._thread.is_alive():
            self._thread.join(0.5)
