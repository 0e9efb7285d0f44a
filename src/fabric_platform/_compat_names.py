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

import inspect
from functools import partial
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

__all__ = ["HELPER_NAMES", "OURS_ORG_OPTIONAL", "Entry", "OnFirstUse", "install", "resources_loaded"]

# public name: (our method, public-compatible signature, {public arg: ours}, org args, fixed values)
# The target None means "our method of the same name" (the entry replaces it, keeping its names).
Entry = Tuple[Optional[str], str, Mapping[str, str], Tuple[str, ...], Mapping[str, Any]]
# The signature: ours, with org_id optional (every later parameter already has a default).
OURS_ORG_OPTIONAL = "<ours, org_id optional>"
# The names _compat_helpers writes by hand (they take more than one request or keep state).
HELPER_NAMES = (
    "get_organization_id",
    "set_organization_id",
    "get_team_id",
    "set_team_id",
    "get_user_id",
    "set_user_id",
    "as_user",
    "ai_shorts",
    "create_org_asset",
)


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
    NAMESPACED[f"organizations.{_name}"] = _e(None, OURS_ORG_OPTIONAL, org=_ORG1)


class OnFirstUse:
    """A public name made the first time it is looked up, then put in its place.

    Building a forwarder (its signature and docstring) for each of some 200 names took a
    large share of ``from fabric_platform import FabricClient`` (the import rows of
    BENCHMARKS.md); as a descriptor each costs one small object until code uses it.
    ``getattr``, ``hasattr``, ``dir`` and ``inspect.signature`` see the real thing.
    """

    __slots__ = ("_attr", "_build", "_owner")

    def __init__(self, owner: type, attr: str, build: Callable[[], Any]) -> None:
        self._owner = owner
        self._attr = attr
        self._build = build

    def __get__(self, obj: Any, objtype: Optional[type] = None) -> Any:
        value = self._build()
        setattr(self._owner, self._attr, value)
        return value.__get__(obj, objtype)


def install(client_cls: type, generated: Any, helpers: str) -> None:
    """Add the public names to ``client_cls`` and to the namespace classes of ``generated``.

    Args:
        client_cls: FabricClient or AsyncFabricClient.
        generated: Its generated module (``fabric_platform_api.sync_client`` / ``async_client``).
        helpers: The name of the function of ``_compat_helpers`` that makes its hand-written
            names (``sync_helpers`` / ``async_helpers``), called when one is first used.

    A generated namespace class gets its names when its module loads (``generated.on_load``):
    the namespaces load on first access, and installing here would load them all.
    """
    for name, entry in FLAT.items():
        _attach(client_cls, name, entry)
    by_path: Dict[str, Dict[str, Entry]] = {}
    for dotted, entry in NAMESPACED.items():
        path, _, attr = dotted.rpartition(".")
        by_path.setdefault(path, {})[attr] = entry
    for path, entries in by_path.items():
        _attach_when_loaded(client_cls, generated, path, entries)
    made: Dict[str, Callable[..., Any]] = {}

    def helper(name: str) -> Callable[..., Any]:
        if not made:
            from fabric_platform import _compat_helpers

            made.update(getattr(_compat_helpers, helpers)())
        return made[name]

    for name in HELPER_NAMES:
        setattr(client_cls, name, OnFirstUse(client_cls, name, partial(helper, name)))
    generated.on_load("OrganizationsNamespace", _attach_record_upload)


def _attach_record_upload(cls: type) -> None:
    from fabric_platform._compat_helpers import attach_record_upload  # with the namespace

    attach_record_upload(cls)


# Hand-written resources (``fabric.workflows`` …) load with their first use, like the
# generated namespaces; their modules call ``resources_loaded`` when they are defined.
_RESOURCES: Dict[str, type] = {}
_WAITING: Dict[str, List[Callable[[], None]]] = {}


def resources_loaded(*classes: type) -> None:
    """Called by a module of hand-written resources: give them their public names."""
    for cls in classes:
        _RESOURCES[cls.__name__] = cls
        for hook in _WAITING.pop(cls.__name__, []):
            hook()


def _attach_when_loaded(client_cls: type, generated: Any, path: str, entries: Mapping[str, Entry]) -> None:
    cls, missing = _namespace_class(client_cls, path)
    if cls is not None:
        _attach_all(cls, path, entries)
    elif missing is not None and missing.endswith("Resource"):
        hook = partial(_attach_when_loaded, client_cls, generated, path, entries)
        _WAITING.setdefault(missing, []).append(hook)
    else:
        generated.on_load(_generated_name(path), partial(_attach_all, path=path, entries=entries))


def _attach_all(cls: type, path: str, entries: Mapping[str, Entry]) -> None:
    for attr, entry in entries.items():
        _attach(cls, attr, entry, label=f"{path}.{attr}")


def _namespace_class(client_cls: type, path: str) -> Tuple[Optional[type], Optional[str]]:
    """The class behind ``client.<path>`` when it is defined already (a hand-written resource,
    which replaces some generated namespaces, or a loaded generated namespace); else None and
    the name of the first class on the way that is not loaded yet."""
    owner: Any = client_cls
    for part in path.split("."):
        prop = inspect.getattr_static(owner, part, None)
        if not isinstance(prop, property):
            return None, None
        annotation = getattr(prop.fget, "__annotations__", {}).get("return")
        owner = _return_type(prop.fget)
        if not isinstance(owner, type):
            return None, annotation if isinstance(annotation, str) else None
    return owner, None


def _generated_name(path: str) -> str:
    """The generated class of a namespace path: ``oauth.clients`` → ``OauthClientsNamespace``."""
    return "".join(p.title() for p in path.replace(".", "_").split("_")) + "Namespace"


def _return_type(func: Optional[Callable[..., Any]]) -> Any:
    """``func``'s return annotation when it names a class of ``func``'s module, else None.

    Looked up by name rather than with ``typing.get_type_hints``, which compiles every
    annotation string (that was most of what ``install`` cost the import rows of
    BENCHMARKS.md), and which fails on a namespace class not loaded yet.
    """
    annotation = getattr(func, "__annotations__", {}).get("return")
    if isinstance(annotation, str):
        return getattr(func, "__globals__", {}).get(annotation) or _RESOURCES.get(annotation)
    return annotation


def _attach(cls: type, attr: str, entry: Entry, *, label: Optional[str] = None) -> None:
    original = cls.__dict__.get(attr) if entry[0] is None else None
    if entry[0] is None and original is None:
        original = getattr(cls, attr)  # inherited (a mixin's method)

    def build() -> Callable[..., Any]:
        from fabric_platform._compat_forwarders import forwarder

        return forwarder(label or attr, entry, original)

    setattr(cls, attr, OnFirstUse(cls, attr, build))
