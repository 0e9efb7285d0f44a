"""How one public fabric-platform 0.8/0.17 name forwards to ours: its signature, docstring and call.

``_compat_names`` lists the names (what each takes and where it goes); a forwarder built here
binds a call to the public signature, renames the arguments to ours, fills organization
arguments from the client, and calls our method.
"""

from __future__ import annotations

import ast
import inspect
from typing import Any, Callable, Dict, Mapping, Optional, Set, Tuple

from fabric_platform._compat_names import OURS_ORG_OPTIONAL, Entry
from fabric_platform._core.raw import is_single_request

__all__ = ["forwarder"]

_EMPTY = inspect.Parameter.empty

# Parsed once per distinct text, each parameter once per distinct spelling: the same short
# signatures and parameters recur (``key_id=None, …`` eight times, ``idempotency_key=None``
# in dozens), and Signature and Parameter objects are immutable, so forwarders may share them.
_SIGNATURES: Dict[str, inspect.Signature] = {}
_PARAMETERS: Dict[Tuple[str, bool], inspect.Parameter] = {}
_CONSTANTS: Dict[str, Any] = {"None": None, "True": True, "False": False}


def _signature(text: str) -> inspect.Signature:
    """``"a, b=1, *, c=None, **kw"`` as a Signature whose first parameter is ``self``.

    Split by hand rather than with ``ast.parse``: every client import builds about a hundred
    of these, and compiling each text was most of what ``install`` cost the import rows of
    BENCHMARKS.md. The texts are Python parameter lists with literal defaults and no commas
    inside a default.
    """
    signature = _SIGNATURES.get(text)
    if signature is None:
        items = filter(None, (part.strip() for part in f"self, {text}".split(",")))
        keyword_only = False
        params = []
        for item in items:
            if item == "*":
                keyword_only = True
            else:
                params.append(_parameter(item, keyword_only))
        signature = _SIGNATURES[text] = inspect.Signature(params)
    return signature


def _parameter(item: str, keyword_only: bool) -> inspect.Parameter:
    """``name``, ``name=default`` or ``**name`` as a Parameter (keyword-only after a ``*``)."""
    param = _PARAMETERS.get((item, keyword_only))
    if param is None:
        kinds = inspect.Parameter
        name, eq, default = (part.strip() for part in item.partition("="))
        if name.startswith("**"):
            param = kinds(name[2:], kinds.VAR_KEYWORD)
        else:
            kind = kinds.KEYWORD_ONLY if keyword_only else kinds.POSITIONAL_OR_KEYWORD
            param = kinds(name, kind, default=_literal(default) if eq else _EMPTY)
        _PARAMETERS[(item, keyword_only)] = param
    return param


def _literal(text: str) -> Any:
    """A default's value: None/True/False, a quoted string, a number (else ``ast.literal_eval``)."""
    if text in _CONSTANTS:
        return _CONSTANTS[text]
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"" and "\\" not in text:
        return text[1:-1]
    if text[:1].isdigit() and text[-1:].isdigit():
        try:
            return int(text)
        except ValueError:
            try:
                return float(text)
            except ValueError:
                pass
    return ast.literal_eval(text)


def _resolve(obj: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        obj = getattr(obj, part)
    return obj


def forwarder(name: str, entry: Entry, original: Optional[Callable[..., Any]]) -> Callable[..., Any]:
    target, sig_text, rename, org_args, fixed = entry
    if sig_text == OURS_ORG_OPTIONAL:
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
