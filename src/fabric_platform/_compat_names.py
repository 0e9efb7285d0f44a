"""The names and call shapes of the public fabric-platform 0.8 (flat) and 0.17 (namespaced) clients.

Code written against those releases keeps working on ours: each entry below makes a public
name callable with the public positional order and keyword names, and forwards to one of our
methods. An entry that replaces one of our own methods (``api_keys.get(key_id)`` for our
``api_key_id``) keeps our names working too, as keyword-only aliases. Methods that make more
than one request (``as_user``, ``ai_shorts``…) live in ``_compat_helpers``.

Forwarding rules, in order: bind the call to the public signature; rename arguments to ours;
fill an organization argument left as None from the client's ``organization_id``; spread
``**kwargs``; add fixed values (``grant_type``…); drop None values our method does not take.
"""

from __future__ import annotations

import ast
import inspect
from typing import Any, Callable, Dict, Mapping, Optional, Set, Tuple

from fabric_platform._core.raw import is_single_request

__all__ = ["install"]

_EMPTY = inspect.Parameter.empty

# public name: (our method, public-compatible signature, {public arg: ours}, org args, fixed values)
# The target None means "our method of the same name" (the entry replaces it, keeping its names).
Entry = Tuple[Optional[str], str, Mapping[str, str], Tuple[str, ...], Mapping[str, Any]]


def _e(
    target: Optional[str],
    sig: str,
    rename: Optional[Mapping[str, str]] = None,
    org: Tuple[str, ...] = (),
    **fixed: Any,
) -> Entry:
    return (target, sig, rename or {}, org, fixed)


_KEY = {"key_id": "api_key_id"}
_WAIT = "workflow_name, input=None, *, timeout=900.0, poll_interval=None, **kwargs"
_TOKEN = (
    "client_id=None, client_secret=None, *, grant_type='client_credentials', refresh_token=None,"
    " scope=None, subject_token=None, subject_token_type=None, idempotency_key=None"
)
_ORG1 = ("org_id",)

FLAT: Dict[str, Entry] = {
    "admin_delete_user": _e("admin.delete_user", "user_id"),
    "admin_force_logout_user": _e("admin.force_logout_user", "user_id"),
    "admin_get_user": _e("admin.get_user", "user_id"),
    "admin_list_users": _e("admin.list_users", "limit=20, offset=0"),
    "admin_unlock_user": _e("admin.unlock_user", "user_id"),
    "admin_verify_user": _e("admin.verify_user", "user_id"),
    "create_app": _e("apps.create", "name, slug=None, **kwargs"),
    "create_service_account": _e(
        "service_accounts.create", "name=None, *, organization_id=None, description=None, role=None"
    ),
    "delete_org_asset": _e("organizations.delete_asset", "org_id, asset_id"),
    "disable_service_account": _e("service_accounts.disable", "service_account_id"),
    "enable_service_account": _e("service_accounts.enable", "service_account_id"),
    "get_service_account": _e("service_accounts.get", "service_account_id"),
    "get_app": _e("apps.get", "app_id"),
    "get_app_usage": _e("apps.usage", "app_id"),
    "list_apps": _e("apps.list", ""),
    "rotate_app_secret": _e("apps.rotate_secret", "app_id"),
    "update_app": _e("apps.update", "app_id, **kwargs"),
    "get_org_asset": _e("organizations.get_asset", "org_id, asset_id"),
    "list_org_assets": _e(
        "organizations.list_assets", "org_id, *, asset_type=None, team_id=None, limit=None, offset=None"
    ),
    "list_concurrency_limits": _e("admin.list_concurrency_limits", ""),
    "set_concurrency_limit": _e(
        "admin.set_concurrency_limit",
        "scope=None, max_concurrent_runs=None, *, max_concurrent_jobs=None, organization_id=None",
    ),
    "list_packages": _e("packages.list", ""),
    "list_providers": _e("providers.list", ""),
    "list_service_account_api_keys": _e("service_accounts.list_api_keys", "service_account_id"),
    "list_service_accounts": _e("service_accounts.list", "*, organization_id=None"),
    "revoke_service_account_api_key": _e("service_accounts.revoke_api_key", "service_account_id, key_id"),
    "rotate_service_account_api_key": _e("service_accounts.rotate_api_key", "service_account_id, key_id"),
    "oauth_refresh": _e("oauth.token", "refresh_token", grant_type="refresh_token"),
    "oauth_token": _e(None, _TOKEN),
    "submit_and_wait": _e(None, _WAIT, {"poll_interval": ""}),
    # our methods, in the public call shape
    "cancel_run_with_reason": _e(None, "run_id, reason=None, *, idempotency_key=None"),
    "create_api_key": _e(
        None,
        "name, organization_id=None, scopes=None, *, org_id=None, idempotency_key=None",
        {"organization_id": "org_id"},
        ("org_id",),
    ),
    "create_invitation": _e(
        None,
        "organization_id=None, email=None, role=None, *, org_id=None, team_id=None, idempotency_key=None",
        {"organization_id": "org_id"},
        ("org_id",),
    ),
    "create_oauth_client": _e(
        None, "name, redirect_uris, scopes=None, *, organization_id=None, idempotency_key=None"
    ),
    "create_schedule": _e(
        None, "workflow_definition_id, cron_expression, input_context=None, timezone=None, **kwargs"
    ),
    "delete_api_key": _e(None, "key_id=None, *, api_key_id=None", _KEY),
    "disable_api_key": _e(None, "key_id=None, *, api_key_id=None", _KEY),
    "get_api_key": _e(None, "key_id=None, *, api_key_id=None", _KEY),
    "rotate_api_key": _e(None, "key_id=None, *, api_key_id=None, idempotency_key=None", _KEY),
    "reset_password": _e(
        None,
        "access_token=None, new_password=None, *, recovery_token=None, idempotency_key=None",
        {"access_token": "recovery_token"},
    ),
    "update_org_settings": _e(None, "org_id, **settings"),
    "update_organization": _e(None, "org_id, **fields"),
    "update_schedule": _e(None, "schedule_id, **kwargs"),
    "update_webhook": _e(None, "webhook_id, **kwargs"),
}

_ORG_ONLY = "org_id=None"
# The signature: ours, with org_id optional (every later parameter already has a default).
_OURS_ORG_OPTIONAL = "<ours, org_id optional>"
NAMESPACED: Dict[str, Entry] = {
    "admin.audit_logs": _e("audit_logs.list", ""),
    "admin.health_check": _e("system.health", ""),
    "admin.system_info": _e("system.info", ""),
    "admin.system_status": _e("system.status", ""),
    "auth.social_login_url": _e("social_login_url", "provider"),
    "oauth.create_client": _e(
        "oauth.clients.create",
        "*, name, redirect_uris, scopes=None, organization_id=None, idempotency_key=None",
    ),
    "oauth.delete_client": _e("oauth.clients.delete", "client_id"),
    "oauth.list_clients": _e("oauth.clients.list", ""),
    "oauth.refresh": _e("oauth.token", "refresh_token", grant_type="refresh_token"),
    "oauth.token_exchange": _e(
        "oauth.token",
        "*, client_id, client_secret, subject_token, subject_token_type='urn:fabric:user_id'",
        grant_type="token_exchange",
    ),
    "admin.set_concurrency_limit": _e(
        None, "scope=None, max_concurrent_runs=None, max_concurrent_jobs=None, *, organization_id=None"
    ),
    "api_keys.create": _e(None, "name, org_id=None, scopes=None, *, idempotency_key=None", org=_ORG1),
    "api_keys.delete": _e(None, "key_id=None, *, api_key_id=None", _KEY),
    "api_keys.disable": _e(None, "key_id=None, *, api_key_id=None", _KEY),
    "api_keys.get": _e(None, "key_id=None, *, api_key_id=None", _KEY),
    "api_keys.rotate": _e(None, "key_id=None, *, api_key_id=None, idempotency_key=None", _KEY),
    "apps.create": _e(None, "name, slug=None, **kwargs"),
    "apps.update": _e(None, "app_id, **kwargs"),
    "auth.reset_password": _e(
        None,
        "access_token=None, new_password=None, *, recovery_token=None, idempotency_key=None",
        {"access_token": "recovery_token"},
    ),
    "invitations.create": _e(
        None, "org_id=None, email=None, role=None, *, team_id=None, idempotency_key=None", org=_ORG1
    ),
    "oauth.token": _e(None, _TOKEN),
    "organizations.create_secret": _e(None, "name, value, org_id=None, *, idempotency_key=None"),
    "organizations.delete_secret": _e(None, "name, org_id=None"),
    "organizations.list_secrets": _e(None, _ORG_ONLY),
    "organizations.get_asset": _e(None, "org_id=None, asset_id=None", org=_ORG1),
    "organizations.delete_asset": _e(None, "org_id=None, asset_id=None", org=_ORG1),
    "organizations.list_assets": _e(
        None, "org_id=None, limit=None, offset=None, *, asset_type=None, team_id=None", org=_ORG1
    ),
    "organizations.set_budget": _e(
        None, "org_id=None, monthly_limit_usd=None, *, idempotency_key=None", org=_ORG1
    ),
    "organizations.update": _e(None, "org_id=None, **fields", org=_ORG1),
    "organizations.update_settings": _e(None, "org_id=None, **settings", org=_ORG1),
    "schedules.create": _e(
        None, "workflow_definition_id, cron_expression, input_context=None, timezone=None, **kwargs"
    ),
    "schedules.update": _e(None, "schedule_id, **kwargs"),
    "service_accounts.create": _e(
        None,
        "name=None, *, organization_id=None, team_id=None, description=None, role=None, idempotency_key=None",
    ),
    "sinks.create": _e(
        None,
        "org_id=None, name=None, path=None, workflow_name=None, *, sink_type=None, active=None,"
        " cron_expression=None, timezone=None, verification=None, default_payload=None,"
        " input_context=None, description=None, idempotency_key=None",
        org=_ORG1,
    ),
    "sinks.list": _e(None, _ORG_ONLY, org=_ORG1),
    "sinks.trigger_http": _e(None, "org_id, path, payload=None, headers=None, *, idempotency_key=None"),
    "teams.create": _e(
        None,
        "org_id=None, slug=None, name=None, *, organization_id=None, idempotency_key=None",
        {"org_id": "organization_id"},
        ("organization_id",),
    ),
    "webhooks.create": _e(
        None,
        "org_id=None, url=None, events=None, secret=None, resource_filter=None, *, idempotency_key=None",
        org=_ORG1,
    ),
    "webhooks.list": _e(None, _ORG_ONLY, org=_ORG1),
    "webhooks.update": _e(None, "webhook_id, **kwargs"),
    "workflows.runs.submit_and_wait": _e(None, _WAIT, {"poll_interval": ""}),
    "workflows.runs.submit_and_get_output": _e(None, _WAIT, {"poll_interval": ""}),
    "workflows.runs.submit_bundle": _e(
        None, "bundle, *, timeout=900.0, poll_interval=None, **kwargs", {"poll_interval": ""}
    ),
    "workflows.runs.wait": _e(None, "run_id, poll_interval=1.0, timeout=300.0, *, on_progress=None"),
    "workflows.runs.download_all_artifacts": _e(
        None,
        "run_id=None, dest_dir='.', *, expires_in=None, run_output_or_run_id=None, **options",
        {"run_id": "run_output_or_run_id"},
    ),
    "workflows.runs.download_artifact": _e(
        None,
        "download_url=None, dest_dir='.', *, filename=None, artifact_or_url=None, dest=None, **options",
        {"download_url": "artifact_or_url", "dest_dir": "dest"},
    ),
}
# Organization calls whose org_id the 0.17 client makes optional (the client's default).
for _name in (
    "archive", "audit_logs", "export", "get", "get_budget", "get_settings", "members", "permissions",
    "request_deletion", "rotate_webhook_secret", "spending", "teams", "usage", "usage_daily", "usage_records",
):  # fmt: skip
    NAMESPACED[f"organizations.{_name}"] = _e(None, _OURS_ORG_OPTIONAL, org=_ORG1)


def _signature(text: str) -> inspect.Signature:
    """``"a, b=1, *, c=None, **kw"`` as a Signature whose first parameter is ``self``."""
    node = ast.parse(f"def f(self, {text}): pass" if text else "def f(self): pass").body[0]
    assert isinstance(node, ast.FunctionDef)
    args = node.args
    kinds = inspect.Parameter
    params = []
    positional = args.args
    defaults = [_EMPTY] * (len(positional) - len(args.defaults)) + [
        ast.literal_eval(d) for d in args.defaults
    ]
    for arg, default in zip(positional, defaults):
        params.append(kinds(arg.arg, kinds.POSITIONAL_OR_KEYWORD, default=default))
    for arg, kw_default in zip(args.kwonlyargs, args.kw_defaults):
        value = _EMPTY if kw_default is None else ast.literal_eval(kw_default)
        params.append(kinds(arg.arg, kinds.KEYWORD_ONLY, default=value))
    if args.kwarg is not None:
        params.append(kinds(args.kwarg.arg, kinds.VAR_KEYWORD))
    return inspect.Signature(params)


def _resolve(obj: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        obj = getattr(obj, part)
    return obj


def _forwarder(name: str, entry: Entry, original: Optional[Callable[..., Any]]) -> Callable[..., Any]:
    target, sig_text, rename, org_args, fixed = entry
    if sig_text == _OURS_ORG_OPTIONAL:
        assert original is not None
        ours = inspect.signature(original)
        signature = ours.replace(
            parameters=[
                p.replace(default=None) if p.name == "org_id" else p for p in ours.parameters.values()
            ]
        )
    else:
        signature = _signature(sig_text)
    var_kw = next((p.name for p in signature.parameters.values() if p.kind is p.VAR_KEYWORD), None)

    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(self, *args, **kwargs)
        bound.apply_defaults()
        values = dict(bound.arguments)
        values.pop("self")
        extra = values.pop(var_kw, {}) if var_kw else {}
        call: Dict[str, Any] = {}
        for key, value in values.items():
            ours = rename.get(key, key)
            if not ours:  # an option ours has no use for (e.g. poll_interval: ours waits on events)
                continue
            if value is not None or ours not in call:  # a renamed value wins over its None twin
                call[ours] = value
        client = self if hasattr(self, "_namespace") else self._client  # a client, or a namespace of one
        for key in org_args:
            if call.get(key) is None:
                call[key] = client.organization_id or _missing_org(name, key)
        call.update(extra)
        call.update(fixed)
        func = (
            (lambda **kw: original(self, **kw)) if original is not None else _resolve(client, target or name)
        )
        accepted = _accepted(original if original is not None else func)
        call = {k: v for k, v in call.items() if v is not None or k in accepted}
        return func(**call)

    method.__name__ = name.rsplit(".", 1)[-1]
    method.__qualname__ = method.__name__
    method.__doc__ = _forwarder_doc(name, target, signature, rename, org_args)
    method.__signature__ = signature  # type: ignore[attr-defined]
    # with_raw_response applies when what we forward to is one request (a generated operation).
    method._fabric_single_request = original is None or is_single_request(original)  # type: ignore[attr-defined]
    return method


def _forwarder_doc(
    name: str,
    target: Optional[str],
    signature: inspect.Signature,
    rename: Mapping[str, str],
    org_args: Tuple[str, ...],
) -> str:
    """Args/Returns that say where each public argument goes, so the reference can link them."""
    ours = f"``fabric.{target}``" if target else "our method of the same name"
    lines = [f"The public fabric-platform name ``{name}``: forwards to {ours}.", "", "Args:"]
    for param in list(signature.parameters.values())[1:]:
        if param.kind is param.VAR_KEYWORD:
            lines.append(f"    {param.name}: Passed on to {ours} as keyword arguments.")
            continue
        mapped = rename.get(param.name, param.name)
        if not mapped:
            text = "Accepted for compatibility and not needed here."
        else:
            text = f"Passed to {ours} as ``{mapped}``."
        if param.name in org_args:
            text += " None: the client's ``organization_id``."
        lines.append(f"    {param.name}: {text}")
    if len(lines) == 3:
        lines = lines[:2]
    lines += ["", "Returns:", f"    What {ours} returns."]
    return "\n".join(lines)


def _accepted(func: Callable[..., Any]) -> Set[str]:
    """The parameters ``func`` names (None values for any other are left out of the call)."""
    try:
        params = inspect.signature(func).parameters.values()
    except (TypeError, ValueError):
        return set()
    return {p.name for p in params if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)}


def _missing_org(name: str, key: str) -> Any:
    raise ValueError(f"{name}: pass {key}= or create the client with organization_id=")


def install(client_cls: type, generated: Any, helpers: Mapping[str, Callable[..., Any]]) -> None:
    """Add the public names to ``client_cls`` and to the namespace classes of ``generated``."""
    for name, entry in FLAT.items():
        _attach(client_cls, name, entry)
    for dotted, entry in NAMESPACED.items():
        path, _, attr = dotted.rpartition(".")
        _attach(_namespace_class(client_cls, generated, path), attr, entry, label=dotted)
    for name, func in helpers.items():
        setattr(client_cls, name, func)
    _attach_record_upload(generated.OrganizationsNamespace)


def _attach_record_upload(cls: type) -> None:
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


def _namespace_class(client_cls: type, generated: Any, path: str) -> type:
    """The class behind ``client.<path>``: a property's return type (a hand-written resource
    replaces some generated namespaces), else the generated ``<Path>Namespace``."""
    import typing

    owner: Any = client_cls
    for part in path.split("."):
        prop = inspect.getattr_static(owner, part, None)
        hints = typing.get_type_hints(prop.fget) if isinstance(prop, property) else {}
        owner = hints.get("return")
        if not isinstance(owner, type):
            name = "".join(p.title() for p in path.replace(".", "_").split("_")) + "Namespace"
            return getattr(generated, name)  # type: ignore[no-any-return]
    return owner  # type: ignore[no-any-return]


def _attach(cls: type, attr: str, entry: Entry, *, label: Optional[str] = None) -> None:
    original = cls.__dict__.get(attr) if entry[0] is None else None
    if entry[0] is None and original is None:
        original = getattr(cls, attr)  # inherited (a mixin's method)
    setattr(cls, attr, _forwarder(label or attr, entry, original))
