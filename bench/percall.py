"""Per-call client CPU: ``FabricClient.get_run`` vs raw ``httpx.Client`` + ``resp.json()["data"]``.

Two rows:

Rounds: each is ``calls`` per client, the two clients alternating in blocks of 50 calls
(the first block's client alternates between rounds).

* **loopback** — both clients call the same canned server (another process) for the same
  969-byte run envelope; we measure this process's CPU time (``time.process_time``), so the
  server's work and the machine's other load do not count. Target: SDK/raw ≤ 1.03.
* **no network** — both clients sit on an ``httpx.MockTransport`` answering the same bytes,
  which isolates the SDK's own work per call. Target: SDK − raw ≤ 5 µs.

The baseline is the cheapest idiomatic httpx code for the same call: a long-lived
``httpx.Client`` with the ``Authorization`` header set once, an absolute URL string (no
``base_url`` join, which costs httpx a second URL parse), ``.json()["data"]``.
"""

from __future__ import annotations

from typing import Callable, Dict, List, Tuple

import httpx
from _common import Row, Summary, command, cpu_time, log, ratios
from _servers import RUN_BODY, RUN_HEADERS, RUN_ID, canned_server

from fabric_platform import FabricClient

API_KEY = "fab_test_bench0000000000000000"
ORG = "00000000-0000-0000-0000-000000000010"
_BLOCK = 50


def _compare(
    sdk: FabricClient, raw: httpx.Client, url: str, rounds: int, calls: int, label: str
) -> Tuple[List[float], List[float]]:
    """Per-round CPU µs per call of each client; within a round the two alternate in blocks
    of 50 calls, so a burst of load on the machine lands on both."""

    def sdk_call() -> object:
        return sdk.get_run(RUN_ID)

    def raw_call() -> object:
        return raw.get(url).json()["data"]

    assert sdk_call() == raw_call()
    block = min(_BLOCK, calls)
    fns: Dict[str, Callable[[], object]] = {"sdk": sdk_call, "raw": raw_call}

    def one_round(first: str) -> Dict[str, float]:
        spent = {"sdk": 0.0, "raw": 0.0}
        order = [first, "raw" if first == "sdk" else "sdk"]
        for b in range(calls // block):
            for name in order if b % 2 == 0 else order[::-1]:
                fn = fns[name]
                start = cpu_time()
                for _ in range(block):
                    fn()
                spent[name] += cpu_time() - start
        return {name: total / (calls // block * block) * 1e6 for name, total in spent.items()}

    one_round("sdk")  # warm both paths (connections, caches, branch history)
    sdk_us: List[float] = []
    raw_us: List[float] = []
    for i in range(rounds):
        values = one_round("sdk" if i % 2 == 0 else "raw")
        sdk_us.append(values["sdk"])
        raw_us.append(values["raw"])
        log(f"  {label} round {i + 1}/{rounds}: sdk {values['sdk']:.1f} µs, raw {values['raw']:.1f} µs")
    return sdk_us, raw_us


def _mock_transport() -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers=RUN_HEADERS, content=RUN_BODY)

    return httpx.MockTransport(handler)


def make_clients(base: str, *, mock: bool) -> Tuple[FabricClient, httpx.Client]:
    """The SDK client and its baseline, both on a MockTransport or both for ``base``.

    Args:
        base: The base URL (the canned server's, or any URL for ``mock``).
        mock: Answer from an ``httpx.MockTransport`` instead of the network.

    Returns:
        ``(sdk, raw)``; the caller closes both.
    """
    auth = {"Authorization": f"Bearer {API_KEY}"}
    if mock:
        http = httpx.Client(transport=_mock_transport())
        sdk = FabricClient(base_url=base, api_key=API_KEY, organization_id=ORG, http_client=http)
        return sdk, httpx.Client(transport=_mock_transport(), headers=auth)
    sdk = FabricClient(base_url=base, api_key=API_KEY, organization_id=ORG)
    return sdk, httpx.Client(headers=auth, timeout=30.0)


def run(smoke: bool) -> List[Row]:
    rows: List[Row] = []
    rounds, calls = (2, 20) if smoke else (20, 500)
    log(f"percall: loopback, {rounds} rounds × {calls} calls")
    with canned_server() as (base, _pid):
        sdk, raw = make_clients(base, mock=False)
        try:
            sdk_us, raw_us = _compare(
                sdk, raw, f"{base}/v1/workflow-runs/{RUN_ID}", rounds, calls, "loopback"
            )
        finally:
            sdk.close()
            raw.close()
    ratio = Summary.of(ratios(sdk_us, raw_us))
    rows.append(
        Row(
            name=f"per-call client CPU, sync, loopback ({rounds} rounds × {calls} `get_run`)",
            sdk=Summary.of(sdk_us).fmt(".1f", "µs"),
            baseline=Summary.of(raw_us).fmt(".1f", "µs"),
            result=f"SDK/raw {ratio.fmt('.3f', '×')}",
            target="≤ 1.03×",
            met=None if smoke else ratio.median <= 1.03,
            command=command("percall", smoke),
            notes=["process CPU time of the client; the canned server runs in another process"],
        )
    )

    mock_rounds, mock_calls = (2, 20) if smoke else (20, 2000)
    log(f"percall: MockTransport, {mock_rounds} rounds × {mock_calls} calls")
    base = "http://fabric.invalid"
    sdk, raw = make_clients(base, mock=True)
    try:
        sdk_us, raw_us = _compare(
            sdk, raw, f"{base}/v1/workflow-runs/{RUN_ID}", mock_rounds, mock_calls, "mock"
        )
    finally:
        sdk.close()
        raw.close()
    added = Summary.of([a - b for a, b in zip(sdk_us, raw_us)])
    mratio = Summary.of(ratios(sdk_us, raw_us))
    rows.append(
        Row(
            name=f"per-call client CPU, no network (httpx MockTransport, {mock_rounds} rounds × {mock_calls})",
            sdk=Summary.of(sdk_us).fmt(".1f", "µs"),
            baseline=Summary.of(raw_us).fmt(".1f", "µs"),
            result=f"SDK − raw {added.fmt('+.1f', 'µs')}; SDK/raw {mratio.fmt('.3f', '×')}",
            target="SDK adds ≤ 5 µs",
            met=None if smoke else added.median <= 5.0,
            command=command("percall", smoke),
        )
    )
    return rows
