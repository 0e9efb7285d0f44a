"""The async client's transport where real deployments differ from a test laptop.

Each test drives the SDK's own transport (``_aio_http``) over real loopback sockets:
a name whose first address blackholes, an internationalised name, a large response head
arriving in pieces, a body longer than its Content-Length, a TLS server name given by
the ``sni_hostname`` extension.
"""

from __future__ import annotations

import asyncio
import os
import ssl
import tracemalloc
from typing import Any, List

import httpx
import pytest
import trustme

from tests.deployment._support import (
    OK,
    answer_ok,
    blackhole,
    client,
    patched_resolver,
    raw_server,
    read_head,
    run,
    sink_server,
)


@run
async def test_first_address_blackholed_falls_over_to_the_next() -> None:
    # Without Happy Eyeballs the blackholed address takes the whole connect timeout (3 s
    # here) and the call fails with ConnectTimeout; with it the next address is tried
    # after 0.25 s and answers. (127.0.0.0/8 is all loopback on Linux.)
    loop = asyncio.get_running_loop()
    async with raw_server(answer_ok) as server, client(timeout=httpx.Timeout(5.0, connect=3.0)) as http:
        with blackhole("127.0.0.2", server.port):
            table = {"dual.test": [("127.0.0.2", server.port), ("127.0.0.1", server.port)]}
            with patched_resolver(loop, table):
                response = await http.get(f"http://dual.test:{server.port}/")
    assert response.text == "ok"
    assert server.connections == 1


@run
async def test_every_address_failing_is_one_connect_error_naming_them() -> None:
    loop = asyncio.get_running_loop()
    refused = []
    for _ in range(2):
        srv = await asyncio.start_server(answer_ok, "127.0.0.1", 0)
        refused.append(srv.sockets[0].getsockname()[1])
        srv.close()
        await srv.wait_closed()
    async with client() as http:
        table = {"gone.test": [("127.0.0.1", port) for port in refused]}
        with patched_resolver(loop, table), pytest.raises(httpx.ConnectError) as info:
            await http.get("http://gone.test/")
    assert str(info.value).count("127.0.0.1") >= 2


@run
async def test_unicode_host_is_encoded_idna_2008_not_2003() -> None:
    # IDNA 2003 maps ß to ss: faß.example would reach fass.example, another host.
    loop = asyncio.get_running_loop()

    async def wrong(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_head(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nwrong")

    async with raw_server(answer_ok) as right_server:
        port = right_server.port
        async with raw_server(wrong, "127.0.0.2", port) as wrong_server, client() as http:
            table = {"xn--fa-hia.example": [("127.0.0.1", port)], "fass.example": [("127.0.0.2", port)]}
            with patched_resolver(loop, table):
                response = await http.get(f"http://faß.example:{port}/")
    assert response.text == "ok"
    assert (right_server.connections, wrong_server.connections) == (1, 0)


@run
async def test_a_20_kib_head_arriving_in_pieces_is_accepted() -> None:
    # h11's default limit (16 KiB) refuses an incomplete head past it; httpcore allows 100 KiB.
    big = b"".join(b"X-Filler-%d: %s\r\n" % (i, b"v" * 200) for i in range(100))  # ~20 KiB
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n" + big + b"\r\nok"

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_head(reader)
        writer.write(head[: 17 * 1024])
        await writer.drain()
        await asyncio.sleep(0.1)  # so the client sees an incomplete head past 16 KiB
        writer.write(head[17 * 1024 :])
        await writer.drain()

    async with raw_server(answer) as server, client() as http:
        response = await http.get(f"http://127.0.0.1:{server.port}/")
    assert response.text == "ok"
    assert len(response.headers) == 101


@run
async def test_a_head_past_100_kib_is_a_protocol_error() -> None:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_head(reader)
        writer.write(b"HTTP/1.1 200 OK\r\n" + b"X-Filler: " + b"v" * (200 * 1024))
        await writer.drain()
        await reader.read()  # until the client gives up

    async with raw_server(answer) as server, client() as http:
        with pytest.raises(httpx.RemoteProtocolError):
            await http.get(f"http://127.0.0.1:{server.port}/")


@run
async def test_a_body_longer_than_its_content_length_does_not_reuse_the_connection() -> None:
    # The extra bytes are a whole forged response: on a reused connection it would be
    # taken as the answer to the next request.
    forged = b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nforged"

    answered: List[int] = []

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await read_head(reader):
            first = not answered
            answered.append(1)
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello" + forged if first else OK)
            await writer.drain()

    async with raw_server(answer) as server, client() as http:
        url = f"http://127.0.0.1:{server.port}/"
        assert (await http.get(url)).text == "hello"
        assert (await http.get(url)).text == "ok"
    assert server.connections == 2


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@run
async def test_sni_hostname_extension_is_sent_and_verified(ca: trustme.CA) -> None:
    # The certificate is only for "api.internal.test"; the URL names 127.0.0.1 (e.g. a
    # pinned address). The server records the name the client sent.
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("api.internal.test").configure_cert(server_ctx)
    seen: List[Any] = []
    server_ctx.sni_callback = lambda sock, name, ctx: seen.append(name)  # type: ignore[assignment]
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)
    async with raw_server(answer_ok, ssl=server_ctx) as server, client(verify=client_ctx) as http:
        url = f"https://127.0.0.1:{server.port}/"
        response = await http.get(url, extensions={"sni_hostname": "api.internal.test"})
        assert response.text == "ok"
        # Without the extension the name checked is 127.0.0.1, which the certificate lacks.
        with pytest.raises(httpx.ConnectError):
            await http.get(url)
    assert seen[0] == "api.internal.test"


def test_an_upload_is_sent_without_copies_of_its_body() -> None:
    # Copies show up in traced memory: joining the body into a buffer, then into bytes,
    # is +2-3 times its size. Sent as is, the growth stays far below one copy.
    body = os.urandom(16 * 1024 * 1024)

    async def main() -> int:
        async with client(timeout=30.0) as http:
            await http.get(url)  # connected, before tracing
            tracemalloc.start()
            try:
                start = tracemalloc.get_traced_memory()[0]
                response = await http.post(url, content=body)
                peak = tracemalloc.get_traced_memory()[1]
            finally:
                tracemalloc.stop()
            assert response.text == "ok"
            return peak - start

    with sink_server() as url:
        growth = asyncio.run(asyncio.wait_for(main(), 30))
    assert growth < len(body) // 4, f"the upload grew traced memory by {growth / 2**20:.1f} MiB"
