"""What FabricClient and AsyncFabricClient share: configuration and the I/O-free primitives.

A module of its own so that importing one client does not import the other: the sync
client's import path has no asyncio, and neither has pydantic or the TypedDicts (see
``tests/unit/test_import_laziness.py``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Dict, Mapping, Optional, TypeVar

if TYPE_CHECKING:
    from fabric_platform_api._operation import Operation

    from fabric_platform._auth import TokenStore
    from fabric_platform._config import ClientConfig
    from fabric_platform._core.request import PreparedRequest

__all__ = ["REFRESH_PATH", "ClientBase", "pluck_data", "single_request"]

_N = TypeVar("_N")
_C = TypeVar("_C", bound="ClientBase")
_F = TypeVar("_F", bound=Callable[..., Any])
REFRESH_PATH = "/v1/auth/token/refresh"


def single_request(func: _F) -> _F:
    """Mark a hand-written method that sends exactly one request (``with_raw_response``
    applies to it; see ``_core/raw.py``)."""
    func._fabric_single_request = True  # type: ignore[attr-defined]
    return func


def pluck_data(data: Any, spec: Optional[str]) -> Any:
    """The part of ``data`` a flat method returns (``id``, ``allowed``, ``[].name``)."""
    if not spec:
        return data
    try:
        if spec.startswith("[]."):
            key = spec[3:]
            return [item[key] for item in data]
        return data[spec]
    except (KeyError, TypeError, IndexError):
        from fabric_platform.errors import FabricResponseError

        raise FabricResponseError(f"the response data has no {spec!r}: {type(data).__name__}") from None


class ClientBase:
    """Configuration and the parts of the primitives that do no I/O."""

    _config: ClientConfig
    _tokens: TokenStore

    def _configure(
        self,
        *,
        base_url: Optional[str],
        api_key: Optional[str],
        principal_id: Optional[str],
        organization_id: Optional[str],
        timeout: float,
        max_retries: int,
        strict: bool,
        default_headers: Optional[Mapping[str, str]],
        on_tokens: Optional[Callable[[Dict[str, Any]], None]],
        profile: Optional[str] = None,
    ) -> None:
        from fabric_platform._config import ClientConfig  # with the first client, not the import

        self._config = ClientConfig.from_env(
            base_url=base_url,
            api_key=api_key,
            principal_id=principal_id,
            organization_id=organization_id,
            timeout=timeout,
            max_retries=max_retries,
            strict=strict,
            default_headers=default_headers,
            on_tokens=on_tokens,
            profile=profile,
        )
        self._namespaces: Dict[Any, Any] = {}

    @property
    def base_url(self) -> str:
        """The Fabric API base URL this client talks to."""
        return self._config.base_url

    @property
    def organization_id(self) -> str:
        """The organization used when a method's organization argument is omitted."""
        return self._config.organization_id

    @property
    def strict(self) -> bool:
        """Whether responses are validated against the spec's models."""
        return self._config.strict

    def _prepare(self, op: Operation, args: Dict[str, Any]) -> PreparedRequest:
        from fabric_platform._core.request import build_request

        return build_request(op, args, organization_id=self._config.organization_id)

    def _clone(self: _C, **options: Any) -> _C:
        # A shallow copy: same token store, other config, fresh namespaces (the client
        # gives it a transport copy sharing the pool).
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        changes = {k: v for k, v in options.items() if v is not None}
        clone._config = self._config.replace(**changes)
        clone._namespaces = {}
        return clone

    def _namespace(self, cls: Callable[[Any], _N]) -> _N:
        ns: Optional[_N] = self._namespaces.get(cls)
        if ns is None:
            ns = self._namespaces[cls] = cls(self)
        return ns

    def social_login_url(self, provider: str) -> str:
        """The URL to send a user to for OAuth sign-in with ``provider`` (e.g. "google").

        Built locally, without a request: the server redirects the browser to the
        provider and back.

        Args:
            provider: The identity provider's name, as the server knows it (``google`` …).

        Returns:
            ``{base_url}/v1/auth/social/{provider}``.
        """
        return f"{self._config.base_url}/v1/auth/social/{provider}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._config!r})"
