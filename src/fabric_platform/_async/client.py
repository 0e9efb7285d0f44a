"""AsyncFabricClient: every API operation as a method.

Every spec operation comes from the generated mixin (``fabric_platform_api.async_client``);
the primitives it calls, configuration and lifecycle from :class:`AsyncBaseClient`
(``base``); the methods a table cannot describe from the ``runs`` and ``downloads``
mixins.
"""

from __future__ import annotations

from fabric_platform_api.async_client import AsyncMethods

from fabric_platform._async.downloads import AsyncClientDownloadsMixin
from fabric_platform._async.runs import AsyncClientRunsMixin

__all__ = ["AsyncFabricClient"]


class AsyncFabricClient(AsyncClientRunsMixin, AsyncClientDownloadsMixin, AsyncMethods):
    """The Fabric client: every API operation as a method.

    Args:
        base_url: Fabric API base URL (env ``FABRIC_BASE_URL``; default https://gofabric.dev).
        api_key: A ``fab_*`` API key (env ``FABRIC_API_KEY``).
        principal_id: A user/service-account id, sent as ``X-Principal-Id`` (trusted deployments).
        organization_id: Default organization for org-scoped calls (env ``FABRIC_ORGANIZATION_ID``).
        timeout: Total seconds a call may take, retries and their waits included.
        max_retries: Retries after the first attempt for retryable failures.
        http_client: Your own ``httpx.AsyncClient`` (not closed by us).
        strict: Validate every response against the spec's models.
        default_headers: Headers added to every request.
        on_tokens: Called with new AuthTokens after login/refresh, so you can persist them.
        profile: A profile of ``~/.config/fabric/config.toml`` (env ``FABRIC_PROFILE``):
            its settings apply where neither an argument nor ``FABRIC_*`` gives one.
        max_in_flight: (async only) How many requests this client lets into its connection
            pool at once (default 16); more concurrent calls wait their turn in order,
            within their own ``timeout``. Raise it for high-latency links with many
            concurrent calls.
    """


def _install_public_names() -> None:
    # The public fabric-platform 0.8/0.17 names and call shapes (see _compat_names).
    import fabric_platform_api.async_client as generated

    from fabric_platform._compat_names import install

    install(AsyncFabricClient, generated, "async_helpers")


_install_public_names()
