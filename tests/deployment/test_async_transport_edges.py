"""The rest of the async transport's branches, each on a real loopback socket."""

from __future__ import annotations

import asyncio
import socket
import struct
from typing import Any

import httpx
import pytest

from fabric_platform._http.aio_http import AsyncHTTP11Transport
from fabric_platform._http.asyncio_net import connect
from tests.deployment._support import (
    OK,
    answer_ok,
    blackhole,
    client,
    patched_resolver,
    raw_server,
    read_head,
    run,
)


@run
async def test_a_lone_blackholed_address_is_a_connect_timeout() -> None:
    loop = asyncio.get_running_loop()
    probe = socket.socket()
    probe.bind(("127.0.0.2", 0))
    port = probe.getsockname()[1]
    probe.close()
    table = {"dead.test": [("127.0.0.2", port)]}
    async with client(timeout=httpx.Timeout(5.0, connect=0.3)) as http:
        with blackhole("127.0.0.2", port), patched_resolver(loop, table), pytest.raises(httpx.ConnectTimeout):
            await http.get(f"http://dead.test:{port}/")


@run
async def test_a_name_that_resolves_to_nothing_is_a_connect_error() -> None:
    loop = asyncio.get_running_loop()
    async with client() as http:
        with patched_resolver(loop, {"empty.test": []}), pytest.raises(httpx.ConnectError) as info:
            await http.get("http://empty.test/")
    assert "resolved to no address" in str(info.value)


@run
async def test_local_address_binds_outgoing_connections() -> None:
    seen = []

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(writer.get_extra_info("peername")[0])
        await answer_ok(reader, writer)

    async with raw_server(answer) as server, client(local_address="127.0.0.3") as http:
        assert (await http.get(f"http://127.0.0.1:{server.port}/")).text == "ok"
    assert seen == ["127.0.0.3"]


@run
async def test_unsupported_scheme_is_refused() -> None:
    transport = AsyncHTTP11Transport()
    with pytest.raises(httpx.UnsupportedProtocol):
        await transport.handle_async_request(httpx.Request("GET", "ftp://127.0.0.1/file"))
    await transport.aclose()


@run
async def test_a_body_shorter_than_its_declared_length_is_a_local_protocol_error() -> None:
    async with raw_server(answer_ok) as server, client() as http:
        request = http.build_request(
            "POST", f"http://127.0.0.1:{server.port}/", content=b"abc", headers={"Content-Length": "5"}
        )
        with pytest.raises(httpx.LocalProtocolError):
            await http.send(request)
        assert http._transport.connections_in_use == 0  # type: ignore[attr-defined]
        assert (await http.get(f"http://127.0.0.1:{server.port}/")).text == "ok"


@run
async def test_a_reset_mid_response_is_a_read_error() -> None:
    async def reset(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_head(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npart")
        await writer.drain()
        await asyncio.sleep(0.05)
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()

    async with raw_server(reset) as server, client() as http:
        with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
            await http.get(f"http://127.0.0.1:{server.port}/")


@run
async def test_a_server_that_stops_reading_makes_a_write_timeout() -> None:
    async def deaf(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.transport.pause_reading()  # reads nothing more: the client's send buffer fills
        await reader.read()  # returns once the connection is closed

    async with raw_server(deaf) as server, client(timeout=httpx.Timeout(5.0, write=0.3)) as http:
        with pytest.raises(httpx.WriteTimeout):
            await http.post(f"http://127.0.0.1:{server.port}/", content=b"x" * (64 * 1024 * 1024))


@run
async def test_a_streamed_body_is_not_replayed_on_a_dead_reused_connection() -> None:
    # The server answers, then closes the connection; a streamed upload on the reused
    # connection cannot be sent again, so its failure is the caller's to see.
    async def once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_head(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()
        await reader.read(1)  # the next request's first byte, then hang up unanswered
        writer.transport.abort()

    async def chunks() -> Any:
        yield b"streamed"

    async with raw_server(once) as server, client() as http:
        url = f"http://127.0.0.1:{server.port}/"
        assert (await http.get(url)).text == "ok"
        with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError, httpx.WriteError)):
            await http.put(url, content=chunks())
    assert server.connections == 1


@run
async def test_a_closed_client_refuses_new_requests_and_its_waiters() -> None:
    async def slow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_head(reader)
        await asyncio.sleep(0.3)
        writer.write(OK)
        await writer.drain()

    async with raw_server(slow) as server:
        http = client(limits=httpx.Limits(max_connections=1))
        url = f"http://127.0.0.1:{server.port}/"
        first = asyncio.ensure_future(http.get(url))
        await asyncio.sleep(0.05)
        waiting = asyncio.ensure_future(http.get(url))
        await asyncio.sleep(0.05)
        await http.aclose()
        with pytest.raises(httpx.PoolTimeout):
            await waiting
        with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
            await first


def test_connect_outside_an_asyncio_loop_says_so() -> None:
    coro = connect("127.0.0.1", 1, ssl_context=None, timeout=1.0)
    with pytest.raises(RuntimeError, match="runs on asyncio"):
        coro.send(None)


def test_addresses_alternate_between_families_starting_with_the_first() -> None:
    from fabric_platform._http.asyncio_connect import _interleave

    v6, v4 = socket.AF_INET6, socket.AF_INET
    infos = [
        (v6, socket.SOCK_STREAM, 6, "", ("::1", 80, 0, 0)),
        (v6, socket.SOCK_STREAM, 6, "", ("::2", 80, 0, 0)),
        (v6, socket.SOCK_STREAM, 6, "", ("::1", 80, 0, 0)),  # a duplicate
        (v4, socket.SOCK_STREAM, 6, "", ("10.0.0.1", 80)),
        (v4, socket.SOCK_STREAM, 6, "", ("10.0.0.2", 80)),
        (v4, socket.SOCK_STREAM, 6, "", ("10.0.0.3", 80)),
    ]
    assert [address[1][0] for address in _interleave(infos)] == [
        "::1",
        "10.0.0.1",
        "::2",
        "10.0.0.2",
        "10.0.0.3",
    ]
