"""The async client's own HTTP/1.1 transport (`_aio_http`) against real loopback servers.

The servers here are scripted with h11 on the server side (or raw bytes, for broken
answers) and count the connections they accept, so keep-alive reuse, limits and the
handling of bad servers are observed on the wire, not inferred.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ssl
from typing import Any, AsyncIterator, Awaitable, Callable, List, Optional, Tuple

import h11
import httpx
import pytest
import trustme

from fabric_platform._http.aio_http import AsyncHTTP11Transport


def run_in_asyncio(test: Callable[..., Awaitable[None]]) -> Callable[..., None]:
    """Run an async test body with ``asyncio.run`` (a new loop per test, always closed).

    Not pytest-asyncio: on Python 3.9 its loop-policy handling leaves an unclosed event loop
    behind, which a later test then reports as a ResourceWarning.
    """

    @functools.wraps(test)
    def run(*args: Any, **kwargs: Any) -> None:
        asyncio.run(test(*args, **kwargs))

    return run


Handler = Callable[[h11.Request, bytes], Awaitable[Tuple[int, List[Tuple[bytes, bytes]], bytes]]]


class H11Server:
    """An HTTP/1.1 server on 127.0.0.1 answering every request through ``handler``."""

    def __init__(self, handler: Handler, *, ssl_context: Optional[ssl.SSLContext] = None) -> None:
        self.handler = handler
        self.ssl_context = ssl_context
        self.connections = 0
        self.requests: List[Tuple[h11.Request, bytes]] = []
        self.writers: List[asyncio.StreamWriter] = []
        self.server: Optional[asyncio.AbstractServer] = None

    async def __aenter__(self) -> H11Server:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.ssl_context)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        for writer in self.writers:
            writer.close()
        await self.server.wait_closed()

    @property
    def url(self) -> str:
        assert self.server is not None
        port = self.server.sockets[0].getsockname()[1]
        return f"{'https' if self.ssl_context else 'http'}://{'localhost' if self.ssl_context else '127.0.0.1'}:{port}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.writers.append(writer)
        conn = h11.Connection(h11.SERVER)
        request: Optional[h11.Request] = None
        body = b""
        try:
            while True:
                event = conn.next_event()
                if event is h11.NEED_DATA:
                    conn.receive_data(await reader.read(65536))
                elif isinstance(event, h11.Request):
                    request, body = event, b""
                elif isinstance(event, h11.Data):
                    body += event.data
                elif isinstance(event, h11.EndOfMessage):
                    assert request is not None
                    self.requests.append((request, body))
                    status, headers, payload = await self.handler(request, body)
                    out = conn.send(h11.Response(status_code=status, headers=headers))
                    if request.method != b"HEAD":
                        out += conn.send(h11.Data(data=payload)) if payload else b""
                    out += conn.send(h11.EndOfMessage())
                    writer.write(out)
                    await writer.drain()
                    if conn.our_state is not h11.DONE or conn.their_state is not h11.DONE:
                        break
                    conn.start_next_cycle()
                else:  # ConnectionClosed
                    break
        except (ConnectionError, h11.RemoteProtocolError):
            pass
        finally:
            writer.close()


async def echo(request: h11.Request, body: bytes) -> Tuple[int, List[Tuple[bytes, bytes]], bytes]:
    payload = b"%s %s %d" % (request.method, request.target, len(body))
    return 200, [(b"content-length", str(len(payload)).encode())], payload


RawAnswer = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@contextlib.asynccontextmanager
async def raw_server(answer: RawAnswer) -> AsyncIterator[str]:
    """A server that answers with whatever bytes ``answer`` writes; yields its base URL."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await answer(reader, writer)
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/"
    finally:
        server.close()
        await server.wait_closed()


def client(**kwargs: object) -> httpx.AsyncClient:
    timeout = kwargs.pop("timeout", 5.0)
    return httpx.AsyncClient(transport=AsyncHTTP11Transport(**kwargs), timeout=timeout)  # type: ignore[arg-type]


@run_in_asyncio
async def test_sequential_requests_reuse_one_connection() -> None:
    async with H11Server(echo) as server, client() as http:
        for i in range(20):
            response = await http.get(f"{server.url}/runs/{i}?x=1")
            assert response.status_code == 200
            assert response.text == f"GET /runs/{i}?x=1 0"
        assert server.connections == 1


@run_in_asyncio
async def test_concurrent_requests_stay_within_max_connections() -> None:
    async def slow(request: h11.Request, body: bytes) -> Tuple[int, List[Tuple[bytes, bytes]], bytes]:
        await asyncio.sleep(0.005)
        return await echo(request, body)

    async with H11Server(slow) as server, client(limits=httpx.Limits(max_connections=4)) as http:
        responses = await asyncio.gather(*(http.get(f"{server.url}/{i}") for i in range(200)))
        assert [r.text for r in responses] == [f"GET /{i} 0" for i in range(200)]
        assert 1 <= server.connections <= 4


@run_in_asyncio
async def test_request_bodies_fixed_length_and_streamed_arrive_whole() -> None:
    async def upload() -> AsyncIterator[bytes]:
        for i in range(50):
            yield bytes([i % 256]) * 10_000

    async with H11Server(echo) as server, client() as http:
        fixed = await http.post(f"{server.url}/fixed", content=b"x" * 300_000)
        streamed = await http.post(f"{server.url}/streamed", content=upload())
        assert fixed.text == "POST /fixed 300000"
        assert streamed.text == "POST /streamed 500000"
        (_, got_fixed), (streamed_request, got_streamed) = server.requests
        assert got_fixed == b"x" * 300_000
        assert got_streamed == b"".join(bytes([i % 256]) * 10_000 for i in range(50))
        assert (b"transfer-encoding", b"chunked") in list(streamed_request.headers)


@run_in_asyncio
async def test_chunked_response_body_is_decoded_and_connection_reused() -> None:
    async def chunked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for _ in range(2):
            await reader.readuntil(b"\r\n\r\n")
            writer.write(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
            )
            await writer.drain()

    async with raw_server(chunked) as url, client() as http:
        assert [(await http.get(url)).text for _ in range(2)] == ["hello world", "hello world"]


@run_in_asyncio
async def test_head_response_has_no_body_and_keeps_the_connection() -> None:
    async with H11Server(echo) as server, client() as http:
        head = await http.head(f"{server.url}/h")
        assert head.status_code == 200 and head.content == b""
        assert (await http.get(f"{server.url}/after")).text == "GET /after 0"
        assert server.connections == 1


@run_in_asyncio
async def test_idle_connection_closed_by_the_server_is_replaced_without_error() -> None:
    transport = AsyncHTTP11Transport()
    async with H11Server(echo) as server, httpx.AsyncClient(transport=transport) as http:
        assert (await http.get(f"{server.url}/one")).status_code == 200
        (idle,) = [conn for conns in transport._pool._idle.values() for conn in conns]
        for writer in server.writers:  # the server drops its idle keep-alive connection
            writer.close()
        for _ in range(400):  # until the client's event loop has seen the FIN (bounded)
            if idle.socket.peer_gone:
                break
            await asyncio.sleep(0.005)
        assert idle.socket.peer_gone
        assert (await http.get(f"{server.url}/two")).text == "GET /two 0"
        assert server.connections == 2


@run_in_asyncio
async def test_response_closed_before_its_end_does_not_return_the_connection() -> None:
    async def big(request: h11.Request, body: bytes) -> Tuple[int, List[Tuple[bytes, bytes]], bytes]:
        payload = b"z" * 1_000_000
        return 200, [(b"content-length", str(len(payload)).encode())], payload

    async with H11Server(big) as server, client() as http:
        async with http.stream("GET", f"{server.url}/big") as response:
            async for _ in response.aiter_raw():
                break  # read one chunk, then leave
        again = await http.get(f"{server.url}/again")
        assert len(again.content) == 1_000_000
        assert server.connections == 2  # the half-read connection was closed, not reused


@run_in_asyncio
async def test_slow_consumer_keeps_at_most_the_high_water_mark_buffered() -> None:
    size = 8 * 1024 * 1024

    async def huge(request: h11.Request, body: bytes) -> Tuple[int, List[Tuple[bytes, bytes]], bytes]:
        return 200, [(b"content-length", str(size).encode())], b"q" * size

    async with H11Server(huge) as server, client() as http:
        received, peak = 0, 0
        async with http.stream("GET", f"{server.url}/huge") as response:
            async for chunk in response.aiter_raw():
                received += len(chunk)
                await asyncio.sleep(0.002)  # a consumer slower than loopback
                body = response.stream._stream  # type: ignore[attr-defined]  # httpx's wrapper, then ours
                if body._conn is not None:
                    peak = max(peak, body._conn.socket.buffered)
        assert received == size
        assert 0 < peak <= 256 * 1024 + 65536 * 4


@run_in_asyncio
async def test_no_answer_raises_read_timeout() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        await asyncio.sleep(5)

    async with raw_server(silent) as url, client(timeout=httpx.Timeout(5.0, read=0.2)) as http:
        started = asyncio.get_running_loop().time()
        with pytest.raises(httpx.ReadTimeout):
            await http.get(url)
        assert asyncio.get_running_loop().time() - started < 2


@run_in_asyncio
async def test_refused_connection_raises_connect_error() -> None:
    async with raw_server(lambda r, w: asyncio.sleep(0)) as url:
        pass  # closed: nothing listens on its port any more
    async with client() as http:
        with pytest.raises(httpx.ConnectError):
            await http.get(url)


@pytest.mark.parametrize(
    "answer",
    [b"garbage\r\n\r\n", b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", b""],
    ids=["not-http", "cut-mid-body", "closed-without-answer"],
)
@run_in_asyncio
async def test_broken_answers_raise_protocol_errors_and_free_the_slot(answer: bytes) -> None:
    async def broken(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(answer)
        await writer.drain()

    async with raw_server(broken) as url, client(limits=httpx.Limits(max_connections=1)) as http:
        for _ in range(3):  # the one slot is freed each time
            with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
                await http.get(url)


@run_in_asyncio
async def test_waiting_for_a_connection_ends_with_pool_timeout() -> None:
    async with (
        H11Server(echo) as server,
        client(limits=httpx.Limits(max_connections=1), timeout=httpx.Timeout(5.0, pool=0.2)) as http,
    ):
        async with http.stream("GET", f"{server.url}/held"):
            with pytest.raises(httpx.PoolTimeout):
                await http.get(f"{server.url}/waiting")
        assert (await http.get(f"{server.url}/after")).status_code == 200


@run_in_asyncio
async def test_cancelled_request_releases_its_connection() -> None:
    async def never(request: h11.Request, body: bytes) -> Tuple[int, List[Tuple[bytes, bytes]], bytes]:
        if request.target == b"/hang":
            await asyncio.sleep(30)
        return await echo(request, body)

    async with H11Server(never) as server, client(limits=httpx.Limits(max_connections=1)) as http:
        task = asyncio.ensure_future(http.get(f"{server.url}/hang"))
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert (await http.get(f"{server.url}/next")).text == "GET /next 0"


@run_in_asyncio
async def test_tls_verified_against_the_given_ca_and_refused_otherwise() -> None:
    ca = trustme.CA()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(server_ctx)
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)

    async with H11Server(echo, ssl_context=server_ctx) as server:
        async with client(verify=client_ctx) as http:
            assert (await http.get(f"{server.url}/secure")).text == "GET /secure 0"
            assert (await http.get(f"{server.url}/again")).status_code == 200
        assert server.connections == 1
        async with client() as default_trust:  # the system CAs do not know this one
            with pytest.raises(httpx.ConnectError, match="certificate"):
                await default_trust.get(f"{server.url}/secure")


@pytest.mark.parametrize(
    ("method", "headers", "replayed"),
    [("GET", {}, True), ("POST", {"Idempotency-Key": "k-1"}, True), ("POST", {}, False)],
    ids=["get", "post-with-idempotency-key", "post-without-key"],
)
@run_in_asyncio
async def test_reused_connection_closed_unanswered_is_retried_once_when_replay_is_harmless(
    method: str, headers: dict, replayed: bool
) -> None:
    served: List[bytes] = []

    async def one_per_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # Answers the first request of each connection, then closes on the second unanswered
        # (what a server whose keep-alive timer fired just then does).
        head = await reader.readuntil(b"\r\n\r\n")
        if b"content-length: 4" in head.lower():
            await reader.readexactly(4)
        served.append(head.split(b" ")[1])
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()
        await reader.readuntil(b"\r\n\r\n")

    async with raw_server(one_per_connection) as url, client() as http:
        assert (await http.request(method, f"{url}first", content=b"body", headers=headers)).text == "ok"
        if replayed:
            assert (await http.request(method, f"{url}second", content=b"body", headers=headers)).text == "ok"
            assert served == [b"/first", b"/second"]
        else:
            with pytest.raises(httpx.RemoteProtocolError):
                await http.request(method, f"{url}second", content=b"body", headers=headers)
            assert served == [b"/first"]


@run_in_asyncio
async def test_early_refusal_of_an_upload_is_the_answer_not_a_write_error() -> None:
    async def refuse_big_uploads(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")  # the head only: the body is never read
        writer.write(
            b"HTTP/1.1 413 Payload Too Large\r\nContent-Length: 8\r\nConnection: close\r\n\r\ntoo big!"
        )
        await writer.drain()

    async with raw_server(refuse_big_uploads) as url, client() as http:
        response = await http.post(url, content=b"u" * 20_000_000)
        assert response.status_code == 413
        assert response.content == b"too big!"


@run_in_asyncio
async def test_informational_1xx_answers_are_skipped_for_the_final_one() -> None:
    async def early_hints(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()
        await reader.read()  # until the client is done with the connection

    async with raw_server(early_hints) as url, client() as http:
        response = await http.get(url)
        assert (response.status_code, response.text) == (200, "ok")
