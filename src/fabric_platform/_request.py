"""Turn an operation-table entry plus python arguments into an HTTP request description.

Pure and shared by both clients: the generated methods only collect their arguments into a
dict and hand it here, so how a value reaches the wire (path escaping, comma-joined query
arrays, client defaults, omitted ``None``s) is decided in one place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Tuple
from urllib.parse import quote

from fabric_platform_api._operation import Operation

__all__ = ["PreparedRequest", "build_request"]

# "json" bodies are sent even when every property was omitted: POSTs like logout-all expect {}.
_NO_BODY = object()
# RFC 3986 unreserved characters: quote() leaves a path value made of these unchanged.
_UNRESERVED = re.compile(r"[A-Za-z0-9_.~-]+").fullmatch


@dataclass
class PreparedRequest:
    """What the transport sends for one call (before auth, idempotency and retries)."""

    operation: Operation
    method: str
    path: str
    params: List[Tuple[str, str]] = field(default_factory=list)
    headers: Dict[str, str] = field(default_factory=dict)
    json: Any = _NO_BODY
    content: Any = None  # bytes / iterator for raw uploads

    @property
    def has_json(self) -> bool:
        return self.json is not _NO_BODY


def _query_value(value: Any, explode: bool) -> List[str]:
    if isinstance(value, bool):
        return ["true" if value else "false"]
    if isinstance(value, (list, tuple)):
        items = [_query_value(v, True)[0] for v in value]
        return items if explode else [",".join(items)]
    return [str(value)]


def build_request(
    op: Operation, args: Mapping[str, Any], *, organization_id: Optional[str]
) -> PreparedRequest:
    """Place each argument where the spec says it goes.

    Args:
        op: The operation-table entry.
        args: Python argument values by python name (``None`` means omitted).
        organization_id: The client's default organization, for ``x-fabric-default`` params.

    Returns:
        The request's method, escaped path, query pairs, headers and body.

    Raises:
        ValueError: A required argument is missing.
    """
    path = op.path
    req = PreparedRequest(operation=op, method=op.method, path=path)
    body: Dict[str, Any] = {}
    for p in op.params:
        value = args.get(p.python_name)
        if value is None and p.client_default == "organization_id":
            value = organization_id
        if value is None:
            if p.required and p.location == "path":
                raise ValueError(f"{op.flat or op.ns}() needs {p.python_name!r}")
            if p.required and p.location == "body":
                # A required body field has no default in the signature, so None was passed
                # on purpose: send null (e.g. set_org_budget(org, None) removes the limit).
                body[p.wire_name] = None
            continue
        if p.location == "path":
            text = str(value)
            if not text:
                raise ValueError(f"{op.flat or op.ns}() got an empty {p.python_name!r}")
            if not _UNRESERVED(text):  # ids are nearly always plain: skip quote() for them
                text = quote(text, safe="/" if p.allow_slash else "")
            path = path.replace("{" + p.wire_name + "}", text)
        elif p.location == "query":
            req.params.extend((p.wire_name, v) for v in _query_value(value, p.explode))
        elif p.location == "header":
            req.headers[p.wire_name] = str(value)
        elif p.location == "body_extra":
            body.update(value)
        else:
            body[p.wire_name] = value
    req.path = path
    if op.body == "json":
        req.json = body
    elif op.body == "whole":
        whole = args.get(op.body_param or "")
        req.json = {} if whole is None else whole
    elif op.body == "bytes":
        req.content = args.get(op.body_param or "")
    return req
