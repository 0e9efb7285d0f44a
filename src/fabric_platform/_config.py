"""Client configuration: one immutable value shared by a client, its transport and its copies.

Resolving the environment happens once, here, so the rest of the pipeline never reads
``os.environ`` (which would make ``with_options`` copies and tests depend on global state).
"""

from __future__ import annotations

import os
import types
from typing import Any, Callable, Dict, Mapping, Optional

from fabric_platform._core import log

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_MAX_IN_FLIGHT",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_ORGANIZATION_ID",
    "DEFAULT_TIMEOUT",
    "ClientConfig",
    "TokensCallback",
]

DEFAULT_BASE_URL = "https://gofabric.dev"
DEFAULT_ORGANIZATION_ID = "00000000-0000-0000-0000-000000000010"
DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_RETRIES = 2
#: AsyncFabricClient's bound on requests in its pool at once. Here, not with the async
#: transport that enforces it, because the client's signature needs it at import time and
#: importing the transport would import asyncio.
DEFAULT_MAX_IN_FLIGHT = 16

#: Called with the AuthTokens dict (``access_token``, ``refresh_token``, ``expires_in``, ...)
#: whenever the client obtains a new token pair, so an application can persist it.
TokensCallback = Callable[[Dict[str, Any]], None]


def _mask(secret: Optional[str]) -> str:
    # Show only that a credential is set and what kind it is (fab_live_ vs fab_test_), which is
    # what someone debugging a repr needs; never any of the secret part.
    if secret is None:
        return "None"
    if secret.startswith(("fab_live_", "fab_test_")):
        return f"'{secret[:9]}…'"
    return "'…'"


_FIELDS = (
    "base_url",
    "api_key",
    "principal_id",
    "organization_id",
    "timeout",
    "max_retries",
    "default_headers",
    "strict",
    "on_tokens",
    "profile",
    "session",
)


class ClientConfig:
    """Everything a client needs to send requests, resolved from arguments and environment.

    Build it with :meth:`from_env` (explicit arguments win over ``FABRIC_*`` variables);
    derive variants with :meth:`replace`. Instances are immutable, so a client and its
    ``with_options`` copies can share them across threads without locking.

    Written out rather than a frozen dataclass: ``@dataclass`` generates and compiles its
    methods when the module is imported, which every client import would pay for.
    """

    base_url: str
    api_key: Optional[str]
    principal_id: Optional[str]
    organization_id: str
    timeout: float
    max_retries: int
    default_headers: Mapping[str, str]
    strict: bool
    on_tokens: Optional[TokensCallback]
    profile: Optional[str]
    session: Optional[Mapping[str, Any]]

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        api_key: Optional[str] = None,
        principal_id: Optional[str] = None,
        organization_id: str = DEFAULT_ORGANIZATION_ID,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        default_headers: Optional[Mapping[str, str]] = None,
        strict: bool = False,
        on_tokens: Optional[TokensCallback] = None,
        profile: Optional[str] = None,
        session: Optional[Mapping[str, Any]] = None,
    ) -> None:
        # Normalise once so URL joining elsewhere is a plain concatenation.
        base = str(base_url).strip().rstrip("/")
        if not base.startswith(("http://", "https://")):
            raise ValueError(f"base_url must start with http:// or https://, got {base!r}")
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
            raise TypeError(f"timeout must be a number of seconds, got {type(timeout).__name__}")
        if not timeout > 0:
            raise ValueError(f"timeout must be > 0 seconds, got {timeout!r}")
        if isinstance(max_retries, bool) or not isinstance(max_retries, int):
            raise TypeError(f"max_retries must be an int, got {type(max_retries).__name__}")
        if max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {max_retries}")
        if api_key is not None:
            _check_api_key(api_key)
        # A read-only copy: the caller's dict may change later, our config must not.
        headers = {str(k): str(v) for k, v in dict(default_headers or {}).items()}
        values = (
            base,
            api_key,
            principal_id,
            organization_id,
            float(timeout),
            max_retries,
            types.MappingProxyType(headers),
            strict,
            on_tokens,
            profile,
            # The session tokens a profile holds (restored by the token store, never shown).
            None if session is None else types.MappingProxyType(dict(session)),
        )
        self.__dict__.update(zip(_FIELDS, values))

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"ClientConfig is immutable: use replace({name}=...)")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("ClientConfig is immutable")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ClientConfig) and self.__dict__ == other.__dict__

    __hash__ = None  # type: ignore[assignment]  # equal by value, and the headers are a mapping

    @classmethod
    def from_env(
        cls,
        *,
        base_url: Optional[str] = None,
        api_key: Optional[str] = None,
        principal_id: Optional[str] = None,
        organization_id: Optional[str] = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        default_headers: Optional[Mapping[str, str]] = None,
        strict: bool = False,
        on_tokens: Optional[TokensCallback] = None,
        environ: Optional[Mapping[str, str]] = None,
        profile: Optional[str] = None,
    ) -> ClientConfig:
        """Resolve a configuration from explicit arguments, then ``FABRIC_*`` variables, then
        the profile (``profile`` or ``FABRIC_PROFILE``, see ``_profiles``), then defaults.

        Also applies ``FABRIC_LOG=debug|info`` (turns on the ``fabric_platform`` logger).

        Args:
            base_url: API root; else ``FABRIC_BASE_URL``; else ``https://gofabric.dev``.
            api_key: ``fab_*`` key; else ``FABRIC_API_KEY``.
            principal_id: Sent as ``X-Principal-Id`` (alternative to an API key).
            organization_id: Default org; else ``FABRIC_ORGANIZATION_ID``; else the default org.
            timeout: Total seconds one call may take, retries and waits included.
            max_retries: Retries after the first attempt.
            default_headers: Extra headers sent on every request.
            strict: Validate responses against the generated models.
            on_tokens: Called with each new AuthTokens dict.
            environ: The environment to read (defaults to ``os.environ``).
            profile: A profile of ``~/.config/fabric/config.toml``; else ``FABRIC_PROFILE``;
                else none (the file is read only when a profile is named).

        Returns:
            The resolved configuration.

        Raises:
            ValueError: A value is out of range (e.g. ``timeout <= 0``).
            ProfileError: The named profile does not exist (a ValueError).
        """
        env = os.environ if environ is None else environ
        log.configure_from_env(env)
        profile_name = profile if profile is not None else (env.get("FABRIC_PROFILE", "").strip() or None)
        stored: Mapping[str, Any] = {}
        session = None
        if profile_name:
            from fabric_platform._profiles import profile_settings, session_tokens

            stored = profile_settings(profile_name, env)
            # A key given explicitly or in the environment beats the profile's session too.
            if api_key is None and not env.get("FABRIC_API_KEY", "").strip():
                session = session_tokens(stored)

        def pick(explicit: Optional[str], name: str, default: Optional[str]) -> Optional[str]:
            if explicit is not None:
                return explicit
            value = env.get(name, "").strip()
            if value:
                return value
            key = name[len("FABRIC_") :].lower()
            saved = stored.get(key)
            return saved if isinstance(saved, str) and saved else default

        return cls(
            base_url=pick(base_url, "FABRIC_BASE_URL", DEFAULT_BASE_URL) or DEFAULT_BASE_URL,
            api_key=pick(api_key, "FABRIC_API_KEY", None),
            principal_id=principal_id,
            organization_id=pick(organization_id, "FABRIC_ORGANIZATION_ID", DEFAULT_ORGANIZATION_ID)
            or DEFAULT_ORGANIZATION_ID,
            timeout=timeout,
            max_retries=max_retries,
            default_headers=default_headers or {},
            strict=strict,
            on_tokens=on_tokens,
            profile=profile_name,
            session=session,
        )

    def replace(self, **changes: Any) -> ClientConfig:
        """Return a copy with some fields changed (used by ``with_options``).

        Args:
            **changes: Field names and new values; ``default_headers`` replaces the mapping.

        Returns:
            A new, validated configuration.

        Raises:
            TypeError: An unknown field name.
        """
        return ClientConfig(**{**self.__dict__, **changes})

    def __repr__(self) -> str:
        headers = sorted(self.default_headers)
        return (
            f"ClientConfig(base_url={self.base_url!r}, api_key={_mask(self.api_key)}, "
            f"principal_id={self.principal_id!r}, organization_id={self.organization_id!r}, "
            f"timeout={self.timeout!r}, max_retries={self.max_retries!r}, "
            f"default_headers={headers!r}, strict={self.strict!r})"
        )

    def safe_dict(self) -> Dict[str, Any]:
        """The configuration with credentials masked, for diagnostics.

        Returns:
            A plain dict safe to log or print.
        """
        return {
            "base_url": self.base_url,
            "api_key": _mask(self.api_key),
            "principal_id": self.principal_id,
            "organization_id": self.organization_id,
            "timeout": self.timeout,
            "max_retries": self.max_retries,
            "default_headers": sorted(self.default_headers),
            "strict": self.strict,
        }


def _check_api_key(api_key: object) -> None:
    """Reject a key that could never be sent, at construction rather than on the first request.

    An empty key would go out as ``Authorization: Bearer `` and a non-ASCII one (a pasted
    ``…`` placeholder) fails deep in the HTTP layer; neither message may show the key itself.
    """
    if not isinstance(api_key, str):
        raise TypeError(f"api_key must be a str, got {type(api_key).__name__}")
    if not api_key.strip():
        raise ValueError("api_key is empty: pass your fab_* key, or api_key=None to read FABRIC_API_KEY")
    for position, char in enumerate(api_key):
        if not ("!" <= char <= "~"):
            what = "whitespace" if char.isspace() else f"a non-ASCII character (U+{ord(char):04X})"
            raise ValueError(
                f"api_key contains {what} at position {position}: an API key is printable ASCII "
                "(check for a pasted placeholder or a stray newline)"
            )
