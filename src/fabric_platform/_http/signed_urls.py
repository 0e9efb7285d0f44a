"""Signed URLs (an artifact's ``download_url``): requests that carry no credentials.

An artifact's ``download_url`` carries its own signature; the request has no
``Authorization``, ``X-Principal-Id`` or cookies, so a key can never leak to a CDN or a
storage host, even when an application's own httpx client adds them by default. Opening
one is retried (connect failures, 5xx, 429) by the API calls' retry policy.
"""

from __future__ import annotations

import time
from typing import Mapping, Union
from urllib.parse import urlsplit

import httpx

from fabric_platform._core.download_transfer import map_transport_error
from fabric_platform._core.envelope import build_api_error
from fabric_platform._core.retry import API_POLICY, Deadline, attempt_timeout

__all__ = ["SignedAttempt", "signed_request"]

# Headers that identify the caller; a signed URL must never see them.
_CREDENTIAL_HEADERS = ("authorization", "x-principal-id", "x-api-key", "cookie")


def signed_request(
    client: Union[httpx.Client, httpx.AsyncClient],
    url: str,
    headers: Mapping[str, str],
    attempt: SignedAttempt,
    user_agent: str,
) -> httpx.Request:
    # Connecting shares the open deadline; each read of the body gets the full timeout (a
    # late successful attempt must not leave the whole download a sliver of time per read).
    left = attempt.per_attempt()
    request = client.build_request(
        "GET",
        url,
        headers={"User-Agent": user_agent, "Accept": "*/*", **headers},
        timeout=httpx.Timeout(attempt.timeout, connect=left, write=left, pool=left),
    )
    # An application's own http_client may carry default credentials or cookies; the
    # signature in the URL is the only authorization a signed URL needs.
    for name in _CREDENTIAL_HEADERS:
        request.headers.pop(name, None)
    return request


def _url_path(url: str) -> str:
    # For messages: the query string holds the signature.
    return urlsplit(url).path or url


class SignedAttempt:
    """Retry bookkeeping for opening a signed URL (connect failures, 5xx, 429)."""

    def __init__(self, url: str, timeout: float, max_retries: int) -> None:
        self.url = url
        self.path = _url_path(url)
        self.timeout = timeout
        self.max_retries = max_retries
        self.deadline = Deadline(timeout, time.monotonic)
        self.retries = 0

    def per_attempt(self) -> float:
        """The httpx timeout of the next attempt (what is left of the deadline, at most)."""
        return attempt_timeout(self.timeout, self.deadline.remaining())

    def on_exception(self, exc: BaseException) -> float:
        """The wait before trying again after ``exc``; raises when no try is left."""
        decision = API_POLICY.decide(
            method="GET",
            outcome=exc,
            has_idempotency_key=False,
            retries_taken=self.retries,
            max_retries=self.max_retries,
            remaining=self.deadline.remaining(),
        )
        if not decision.retry:
            raise map_transport_error(exc, f"GET {self.path} failed") from exc
        self.retries += 1
        return decision.delay

    def on_error_response(self, response: httpx.Response) -> float:
        """The wait before trying again after a non-2xx; raises its error when no try is left."""
        error = build_api_error(response, method="GET", path=self.path)
        decision = API_POLICY.decide(
            method="GET",
            outcome=response.status_code,
            has_idempotency_key=False,
            retries_taken=self.retries,
            max_retries=self.max_retries,
            remaining=self.deadline.remaining(),
            retry_after=API_POLICY.retry_after(response.headers.get("retry-after"), time.time()),
        )
        if not decision.retry:
            raise error
        self.retries += 1
        return decision.delay
