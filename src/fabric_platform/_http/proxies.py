"""Proxies from the environment for the async client's own transport.

httpx reads ``HTTP_PROXY`` / ``HTTPS_PROXY`` / ``ALL_PROXY`` / ``NO_PROXY`` only for a client
built without ``transport=``; the async client is built with the SDK's transport, so the
SDK mounts the proxies itself, with the same rules as httpx (and so as the sync client):
the variables as :func:`urllib.request.getproxies` reads them (either case); a proxy URL
without a scheme is ``http://``; ``NO_PROXY`` entries are ``*`` (no proxy at all), URL
patterns, IP addresses or networks, ``localhost``, or domains (which cover their
subdomains). Requests through a proxy use httpx's own transport (``CONNECT`` tunnels for
``https://``); the others, the SDK's.
"""

from __future__ import annotations

import ipaddress
import urllib.request
from typing import Callable, Dict, Optional, TypeVar

__all__ = ["environment_mounts"]

_T = TypeVar("_T")


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_network(host, strict=False)
    except ValueError:
        return False
    return True


def environment_mounts(
    make_transport: Callable[[str], _T], proxies: Optional[Dict[str, str]] = None
) -> Dict[str, Optional[_T]]:
    """httpx ``mounts=`` for the proxies configured in the environment.

    Args:
        make_transport: Builds the transport for one proxy URL.
        proxies: Scheme → proxy URL, ``"no"`` → the NO_PROXY list (default: read from the
            environment by ``urllib.request.getproxies``).

    Returns:
        URL pattern → transport, or None for "no proxy" (the client's own transport).
    """
    info = urllib.request.getproxies() if proxies is None else proxies
    mounts: Dict[str, Optional[_T]] = {}
    for scheme in ("http", "https", "all"):
        url = info.get(scheme)
        if url:
            mounts[f"{scheme}://"] = make_transport(url if "://" in url else f"http://{url}")
    for entry in (host.strip() for host in info.get("no", "").split(",")):
        if entry == "*":
            return {}
        if not entry:
            continue
        if "://" in entry:
            mounts[entry] = None
        elif _is_ip(entry):
            mounts[f"all://[{entry}]" if ":" in entry else f"all://{entry}"] = None
        elif entry.lower() == "localhost":
            mounts[f"all://{entry}"] = None
        else:
            mounts[f"all://*{entry}"] = None
    return mounts
