"""Public fabric-platform 0.8/0.17 methods that are more than one of our calls (sync and async).

Installed on FabricClient / AsyncFabricClient by ``_compat_names.install``: ``as_user`` (token
exchange, then a client holding the user's token), ``ai_shorts`` (submit, then wait), org
assets as JSON records, and the principal-context getters and setters.
"""

from __future__ import annotations

import os
from typing import Any, Callable, Dict, List, Optional

__all__ = ["async_helpers", "attach_record_upload", "remember_context", "sync_helpers"]

USER_ID_TOKEN_TYPE = "urn:fabric:user_id"


def _record_operation() -> Any:
    """``POST /v1/organizations/{org_id}/assets`` with a JSON record instead of file bytes."""
    from fabric_platform_api._operation import Operation, Param

    fields = ("asset_type", "name", "provider", "provider_id", "metadata", "team_id")
    return Operation(
        operation_id="createOrgAsset",
        method="POST",
        path="/v1/organizations/{org_id}/assets",
        tag="organizations",
        summary="Create an organization asset record.",
        flat=None,
        ns="organizations.create_asset",
        params=(
            Param("org_id", "org_id", "path", True, None, False, True),
            *(Param(f, f, "body", f in ("asset_type", "name"), None, False, True) for f in fields),
        ),
        body="json",
        body_param=None,
        response="json",
        data_schema="Asset",
        data_is_list=False,
        pagination=None,
        tokens=None,
        flat_returns=None,
        public=False,
        success_status=200,
    )


_RECORD_OP: List[Any] = []


def _record_args(client: Any, org_id: Optional[str], fields: Dict[str, Any]) -> Dict[str, Any]:
    if not _RECORD_OP:
        _RECORD_OP.append(_record_operation())
    return {"org_id": org_id or client.organization_id, **fields}


def remember_context(client: Any, **values: Optional[str]) -> None:
    """Keep the public clients' constructor options (team_id, user_id, app credentials)."""
    for key, value in values.items():
        client.__dict__[f"_compat_{key}"] = value


def _app_credentials(client: Any, client_id: Optional[str], client_secret: Optional[str]) -> Any:
    client_id = client_id or _context(client, "app_client_id") or os.environ.get("FABRIC_APP_CLIENT_ID")
    client_secret = (
        client_secret or _context(client, "app_client_secret") or os.environ.get("FABRIC_APP_CLIENT_SECRET")
    )
    if not client_id or not client_secret:
        raise ValueError(
            "as_user() needs an OAuth client: create the client with app_client_id= and "
            "app_client_secret=, pass client_id= and client_secret=, or set FABRIC_APP_CLIENT_ID "
            "and FABRIC_APP_CLIENT_SECRET"
        )
    return client_id, client_secret


def _shorts_input(topic: str, **options: Any) -> Dict[str, Any]:
    return {k: v for k, v in {"topic": topic, **options}.items() if v is not None}


def _context(self: Any, key: str) -> Optional[str]:
    value = self.__dict__.get(f"_compat_{key}")
    return value if isinstance(value, str) else None


def _principal_context() -> Dict[str, Callable[..., Any]]:
    def get_organization_id(self: Any) -> str:
        """The client's default organization (the public clients' getter).

        Returns:
            The ``organization_id`` the client sends when a call names none.
        """
        return str(self.organization_id)

    def set_organization_id(self: Any, organization_id: str) -> None:
        """Change the default organization of this client (its copies keep theirs).

        Args:
            organization_id: The organization later calls use when they name none.
        """
        self._config = self._config.replace(organization_id=organization_id)

    def get_team_id(self: Any) -> Optional[str]:
        """The team recorded with ``set_team_id`` or the constructor's ``team_id``.

        Returns:
            The team id, or None when none was recorded.
        """
        return _context(self, "team_id")

    def set_team_id(self: Any, team_id: Optional[str]) -> None:
        """Record a team id for code that reads it back with ``get_team_id``.

        Args:
            team_id: The team id to keep (None forgets it). Calls do not send it by themselves.
        """
        self.__dict__["_compat_team_id"] = team_id

    def get_user_id(self: Any) -> Optional[str]:
        """The user recorded with ``set_user_id`` or the constructor's ``user_id``.

        Returns:
            The user id, or None when none was recorded.
        """
        return _context(self, "user_id")

    def set_user_id(self: Any, user_id: Optional[str]) -> None:
        """Record a user id for code that reads it back with ``get_user_id``.

        Args:
            user_id: The user id to keep (None forgets it). Calls do not send it by themselves.
        """
        self.__dict__["_compat_user_id"] = user_id

    return {
        "get_organization_id": get_organization_id,
        "set_organization_id": set_organization_id,
        "get_team_id": get_team_id,
        "set_team_id": set_team_id,
        "get_user_id": get_user_id,
        "set_user_id": set_user_id,
    }


def sync_helpers() -> Dict[str, Callable[..., Any]]:
    def as_user(
        self: Any, user_id: str, *, client_id: Optional[str] = None, client_secret: Optional[str] = None
    ) -> Any:
        """A client acting as ``user_id`` (OAuth token exchange with the client's credentials).

        Args:
            user_id: A member of the OAuth client's organization.
            client_id: The OAuth client id (env ``FABRIC_APP_CLIENT_ID``).
            client_secret: Its secret (env ``FABRIC_APP_CLIENT_SECRET``).

        Returns:
            A new FabricClient holding the user's access token.

        Raises:
            ValueError: No client credentials. FabricAuthError: the user is not a member.
        """
        cid, secret = _app_credentials(self, client_id, client_secret)
        tokens = self.oauth.token(
            cid,
            secret,
            grant_type="token_exchange",
            subject_token=user_id,
            subject_token_type=USER_ID_TOKEN_TYPE,
        )
        return type(self)(
            base_url=self.base_url, api_key=tokens["access_token"], organization_id=self.organization_id
        )

    def ai_shorts(
        self: Any,
        topic: str,
        *,
        actor_image_url: Optional[str] = None,
        voice: str = "alloy",
        duration_seconds: int = 45,
        style: str = "educational",
        audience: str = "general",
        quality: Optional[str] = None,
        platforms: Optional[List[str]] = None,
        wait: bool = True,
        timeout: float = 600.0,
    ) -> Any:
        """Run the ``video/ai_shorts`` workflow for ``topic``.

        Args:
            topic: What the short is about.
            actor_image_url: An image of the presenter to animate (optional).
            voice: The narration voice.
            duration_seconds: The target length of the video.
            style: The tone of the script (``educational``, …).
            audience: Who the short is for.
            quality: A quality preset the workflow understands (optional).
            platforms: Where the short will be posted (optional).
            wait: Wait for the run to end (the default) or return as soon as it is submitted.
            timeout: Seconds to wait when ``wait`` is true.

        Returns:
            The terminal run, or with ``wait=False`` the new run.

        Raises:
            FabricTimeoutError: The run did not end within ``timeout`` seconds.
        """
        run = self.submit_run(
            "video/ai_shorts",
            input=_shorts_input(
                topic, actor_image_url=actor_image_url, voice=voice, duration_seconds=duration_seconds,
                style=style, audience=audience, quality=quality, platforms=platforms,
            ),
        )  # fmt: skip
        return self.wait_for_run(run["id"], timeout=timeout) if wait else run

    def create_org_asset(self: Any, org_id: Optional[str] = None, **fields: Any) -> Any:
        """Store an asset record in an organization (a JSON record, never a file).

        Args:
            org_id: The organization; None: the client's ``organization_id``.
            fields: The record: ``asset_type`` and ``name`` (required), ``provider``,
                ``provider_id``, ``metadata``, ``team_id``.

        Returns:
            The stored asset record.

        Raises:
            FabricValidationError: A required field is missing or malformed.
        """
        args = _record_args(self, org_id, fields)
        return self._call(_RECORD_OP[0], args)

    create_org_asset._fabric_single_request = True  # type: ignore[attr-defined]  # with_raw_response applies
    return {
        "as_user": as_user,
        "ai_shorts": ai_shorts,
        "create_org_asset": create_org_asset,
        **_principal_context(),
    }


def async_helpers() -> Dict[str, Callable[..., Any]]:
    async def as_user(
        self: Any, user_id: str, *, client_id: Optional[str] = None, client_secret: Optional[str] = None
    ) -> Any:
        # The docstring is the sync one's (see the end of async_helpers).
        cid, secret = _app_credentials(self, client_id, client_secret)
        tokens = await self.oauth.token(
            cid,
            secret,
            grant_type="token_exchange",
            subject_token=user_id,
            subject_token_type=USER_ID_TOKEN_TYPE,
        )
        return type(self)(
            base_url=self.base_url, api_key=tokens["access_token"], organization_id=self.organization_id
        )

    async def ai_shorts(
        self: Any,
        topic: str,
        *,
        actor_image_url: Optional[str] = None,
        voice: str = "alloy",
        duration_seconds: int = 45,
        style: str = "educational",
        audience: str = "general",
        quality: Optional[str] = None,
        platforms: Optional[List[str]] = None,
        wait: bool = True,
        timeout: float = 600.0,
    ) -> Any:
        # The docstring is the sync one's.
        run = await self.submit_run(
            "video/ai_shorts",
            input=_shorts_input(
                topic, actor_image_url=actor_image_url, voice=voice, duration_seconds=duration_seconds,
                style=style, audience=audience, quality=quality, platforms=platforms,
            ),
        )  # fmt: skip
        return await self.wait_for_run(run["id"], timeout=timeout) if wait else run

    async def create_org_asset(self: Any, org_id: Optional[str] = None, **fields: Any) -> Any:
        # The docstring is the sync one's.
        return await self._call(_RECORD_OP[0], _record_args(self, org_id, fields))

    create_org_asset._fabric_single_request = True  # type: ignore[attr-defined]  # with_raw_response applies
    helpers: Dict[str, Callable[..., Any]] = {
        "as_user": as_user,
        "ai_shorts": ai_shorts,
        "create_org_asset": create_org_asset,
        **_principal_context(),
    }
    # One text for both clients: the async helpers take the same arguments and return the same.
    for name, sync_helper in sync_helpers().items():
        helpers[name].__doc__ = sync_helper.__doc__
    return helpers


def attach_record_upload(cls: type) -> None:
    """``organizations.create_asset``: file bytes as before, or (asset_type=…) a JSON record."""
    upload = getattr(cls, "create_asset")  # noqa: B009 - a generated class, typed as plain type here

    def create_asset(
        self: Any,
        org_id: Optional[str] = None,
        file: Any = None,
        filename: Optional[str] = None,
        content_type: Optional[str] = None,
        *,
        asset_type: Optional[str] = None,
        name: Optional[str] = None,
        provider: Optional[str] = None,
        provider_id: Optional[str] = None,
        metadata: Optional[Dict[str, Any]] = None,
        team_id: Optional[str] = None,
        idempotency_key: Optional[str] = None,
    ) -> Any:
        """Upload ``file`` into an organization, or store a JSON record (``asset_type``, ``name``…).

        Args:
            org_id: The organization; None: the client's ``organization_id``.
            file: The bytes (or a binary file) to upload; leave it out for a record.
            filename: The file name to record with an upload.
            content_type: The media type of an upload (default ``application/octet-stream``).
            asset_type: A record's type (with ``name``, makes this a record).
            name: A record's name.
            provider: The record's provider (optional).
            provider_id: The provider's id for it (optional).
            metadata: Free-form data kept with the record.
            team_id: The team the record belongs to (optional).
            idempotency_key: Makes an upload safe to repeat.

        Returns:
            The stored asset: a file's metadata (``size_bytes``, ``sha256``) or the record.

        Raises:
            ValueError: Both or neither of ``file`` and ``asset_type``/``name``.
        """
        org = org_id or self._client.organization_id
        record = asset_type is not None or name is not None
        if (file is None) == (not record):
            raise ValueError(
                "create_asset: pass file bytes, or asset_type= and name= for a record (not both)"
            )
        if not record:
            return upload(self, org, file, filename, content_type, idempotency_key=idempotency_key)
        fields: Dict[str, Any] = {"asset_type": asset_type, "name": name, "provider": provider}
        fields.update(provider_id=provider_id, metadata=metadata, team_id=team_id)
        return self._client.create_org_asset(org, **{k: v for k, v in fields.items() if v is not None})

    create_asset._fabric_single_request = True  # type: ignore[attr-defined]  # one request either way
    cls.create_asset = create_asset  # type: ignore[attr-defined]
