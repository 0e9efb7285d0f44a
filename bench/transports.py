"""Which async transport under ``AsyncFabricClient``: the SDK's, or a maintained one.

1,000 concurrent ``get_run`` on one ``AsyncFabricClient`` (max_in_flight=16) against the
canned server (another process, no latency), once per round with each transport given as
``http_client=``, interleaved with the same calls made one by one on a ``FabricClient``
(the reference every row is a ratio to):

* the SDK's own HTTP/1.1 transport (``_aio_http``, the default) — on asyncio's loop and
  on uvloop;
* httpx's default async transport (httpcore over anyio);
* httpx-aiohttp's ``AiohttpTransport`` (aiohttp underneath), when installed;
* httpx2's ``AsyncHTTPTransport`` (httpcore2), when installed, behind a small adapter
  from httpx's request/response types (the SDK takes an ``httpx.AsyncClient``).

Every call must succeed; a transport that fails some is reported with its error kinds.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, AsyncIterator, Callable, Dict, List, Optional

import httpx
from _common import Row, Summary, command, interleave, log, ratios
from _servers import RUN_ID, canned_server

from fabric_platform import AsyncFabricClient, FabricClient
from fabric_platform._config import DEFAULT_MAX_IN_FLIGHT
from fabric_platform._http.client_handle import DEFAULT_LIMITS

API_KEY = "fab_test_bench0000000000000000"


class _Httpx2Body(httpx.AsyncByteStream):
    def __init__(self, inner: Any) -> None:
        self._inner = inner

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._inner:
            yield chunk

    async def aclose(self) -> None:
        await self._inner.aclose()


class Httpx2Adapter(httpx.AsyncBaseTransport):
    """httpx2's transport under an httpx client (converts the request and the response)."""

    def __init__(self) -> None:
        import httpx2

        self._httpx2 = httpx2
        self._inner = httpx2.AsyncHTTPTransport(
            limits=httpx2.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=30.0)
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        req = self._httpx2.Request(
            request.method,
            str(request.url),
            headers=request.headers.raw,
            content=request.content,
            extensions=request.extensions,
        )
        resp = await self._inner.handle_async_request(req)
        return httpx.Response(
            resp.status_code,
            headers=resp.headers.raw,
            stream=_Httpx2Body(resp.stream),
            extensions=resp.extensions,
        )

    async def aclose(self) -> None:
        await self._inner.aclose()


def _transports() -> Dict[str, Optional[Callable[[], httpx.AsyncBaseTransport]]]:
    """name → a factory (None: the SDK's default client, no http_client)."""
    options: Dict[str, Optional[Callable[[], httpx.AsyncBaseTransport]]] = {
        "SDK transport (default)": None,
        "httpx default (httpcore/anyio)": lambda: httpx.AsyncHTTPTransport(limits=DEFAULT_LIMITS),
    }
    try:
        from httpx_aiohttp import AiohttpTransport

        options["httpx-aiohttp"] = lambda: AiohttpTransport(limits=DEFAULT_LIMITS)
    except ImportError:
        log("transports: httpx-aiohttp not installed; its row is left out")
    try:
        import httpx2  # noqa: F401

        options["httpx2 (httpcore2)"] = Httpx2Adapter
    except ImportError:
        log("transports: httpx2 not installed; its row is left out")
    return options


async def _burst(client: AsyncFabricClient, calls: int, errors: List[str]) -> float:
    start = time.perf_counter()
    results = await asyncio.gather(*(client.get_run(RUN_ID) for _ in range(calls)), return_exceptions=True)
    elapsed = time.perf_counter() - start
    errors.extend(type(r).__name__ for r in results if isinstance(r, BaseException))
    return calls / elapsed


def run(smoke: bool) -> List[Row]:
    calls, rounds = (50, 2) if smoke else (1_000, 7)
    rows: List[Row] = []
    with canned_server() as (base, _pid):
        sync_client = FabricClient(base_url=base, api_key=API_KEY)
        contenders: Dict[str, Callable[[], float]] = {}
        cleanups: List[Callable[[], None]] = []
        errors: Dict[str, List[str]] = {}

        def sync_round() -> float:
            start = time.perf_counter()
            for _ in range(calls):
                sync_client.get_run(RUN_ID)
            return calls / (time.perf_counter() - start)

        contenders["sync"] = sync_round
        loops = {"asyncio": asyncio.new_event_loop}
        try:
            import uvloop

            loops["uvloop"] = uvloop.new_event_loop
        except ImportError:
            log("transports: uvloop not installed; the uvloop row is left out")
        for name, factory in _transports().items():
            for loop_name, new_loop in loops.items():
                if loop_name != "asyncio" and factory is not None:
                    continue  # uvloop only for the default
                label = name if loop_name == "asyncio" else f"{name} on uvloop"
                loop = new_loop()
                http = None if factory is None else httpx.AsyncClient(transport=factory(), timeout=30.0)
                client = AsyncFabricClient(base_url=base, api_key=API_KEY, http_client=http)
                errors[label] = []

                def one_round(loop: Any = loop, client: Any = client, label: str = label) -> float:
                    return float(loop.run_until_complete(_burst(client, calls, errors[label])))

                def cleanup(loop: Any = loop, client: Any = client, http: Any = http) -> None:
                    loop.run_until_complete(client.close())
                    if http is not None:
                        loop.run_until_complete(http.aclose())
                    loop.close()

                contenders[label] = one_round
                cleanups.append(cleanup)
        try:
            for fn in contenders.values():
                fn()  # warm up: connections, caches
            for found in errors.values():
                found.clear()
            log(f"transports: {len(contenders)} contenders, {rounds} rounds of {calls} calls")
            res = interleave(
                rounds,
                contenders,
                on_round=lambda i, v: log(
                    f"  round {i + 1}/{rounds}: " + ", ".join(f"{k} {x:,.0f}/s" for k, x in v.items())
                ),
            )
        finally:
            sync_client.close()
            for cleanup in cleanups:
                cleanup()
    sync = Summary.of(res["sync"]).fmt(",.0f", "calls/s")
    for label, values in res.items():
        if label == "sync":
            continue
        failed = errors[label]
        kinds = ", ".join(sorted(set(failed)))
        ratio = Summary.of(ratios(values, res["sync"]))
        rows.append(
            Row(
                name=f"async transport: {label} — {calls:,} concurrent `get_run` "
                f"(max_in_flight={DEFAULT_MAX_IN_FLIGHT}), no latency, vs sequential `FabricClient` "
                f"({rounds} rounds, all transports interleaved)",
                sdk=Summary.of(values).fmt(",.0f", "calls/s"),
                baseline=f"sequential sync {sync}",
                result=f"{ratio.fmt('.2f', '×')} sync; {len(failed)} of {calls * rounds} failed"
                + (f" ({kinds})" if kinds else ""),
                target="(the default is the fastest that passes every deployment case)",
                met=None,
                command=command("transports", smoke),
            )
        )
    return rows
