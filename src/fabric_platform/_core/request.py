"""Turn an operation-table entry plus python arguments into an HTTP request description.

Pure and shared by both clients: the generated methods only collect their arguments into a
dict and hand it here, so how a value reaches the wire (path escaping, comma-joined query
arrays, client defaults, omitted ``None``s) is decided in one place.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Mapping, Optional, Tuple
from urllib.parse import quote

from fabric_platform_api._operation import Operation, Param

__all__ = ["NO_BODY", "PreparedRequest", "build_request"]

#: ``PreparedRequest.json`` of a request without a JSON body ("json" bodies are sent even
#: when every property was omitted: POSTs like logout-all expect {}).
NO_BODY: Any = object()
# RFC 3986 unreserved characters: quote() leaves a path value made of these unchanged.
_UNRESERVED = re.compile(r"[A-Za-z0-9_.~-]+").fullmatch

# Per operation, what build_request walks: its path parameters as
# (python name, "{wire name}", required, defaults to the organization, quote()'s safe
# characters), and its other parameters in table order.
_PathStep = Tuple[str, str, bool, bool, str]
_Plan = Tuple[Operation, Tuple[_PathStep, ...], Tuple[Param, ...]]
_plans: Dict[int, _Plan] = {}


class PreparedRequest:
    """What the transport sends for one call (before auth, idempotency and retries)."""

    # Not a dataclass: see ApiResponse in _call (import time).
    __slots__ = ("content", "headers", "json", "method", "operation", "params", "path")

    def __init__(
        self,
        operation: Operation,
        method: str,
        path: str,
        params: Optional[List[Tuple[str, str]]] = None,
        headers: Optional[Dict[str, str]] = None,
        json: Any = NO_BODY,
        content: Any = None,  # bytes / iterator for raw uploads
    ) -> None:
        self.operation = operation
        self.method = method
        self.path = path
        self.params: List[Tuple[str, str]] = [] if params is None else params
        self.headers: Dict[str, str] = {} if headers is None else headers
        self.json = json
        self.content = content

    def __repr__(self) -> str:
        return (
            f"PreparedRequest(operation={self.operation.operation_id!r}, method={self.method!r}, "
            f"path={self.path!r}, params={self.params!r}, headers={sorted(self.headers)!r})"
        )


def _query_value(value: Any, explode: bool) -> List[str]:
    if isinstance(value, bool):
        return ["true" if value else "false"]
    if isinstance(value, (list, tuple)):
        items = [_query_value(v, True)[0] for v in value]
        return items if explode else [",".join(items)]
    return [str(value)]


def _plan(op: Operation) -> _Plan:
    path_steps = tuple(
        (
            p.python_name,
            "{" + p.wire_name + "}",
            p.required,
            p.client_default == "organization_id",
            "/" if p.allow_slash else "",
        )
        for p in op.params
        if p.location == "path"
    )
    plan = _plans[id(op)] = (op, path_steps, tuple(p for p in op.params if p.location != "path"))
    return plan


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
    # Runs once per call: the operation's parameters are sorted once (the plan), and an
    # operation with path parameters only (most reads) ends after the first loop.
    plan = _plans.get(id(op))
    if plan is None:
        plan = _plan(op)
    path = op.path
    for name, placeholder, required, org_default, safe in plan[1]:
        value = args.get(name)
        if value is None and org_default:
            value = organization_id
        if value is None:
            if required:
                raise ValueError(f"{op.flat or op.ns}() needs {name!r}")
            continue
        text = str(value)
        if not text:
            raise ValueError(f"{op.flat or op.ns}() got an empty {name!r}")
        if not _UNRESERVED(text):  # ids are nearly always plain: skip quote() for them
            text = quote(text, safe=safe)
        path = path.replace(placeholder, text)
    others = plan[2]
    if not others and op.body is None:
        return PreparedRequest(op, op.method, path)
    return _with_the_rest(PreparedRequest(op, op.method, path), others, args, organization_id)


def _with_the_rest(
    req: PreparedRequest, others: Tuple[Param, ...], args: Mapping[str, Any], organization_id: Optional[str]
) -> PreparedRequest:
    # Query, header and body parameters, in table order (a body_extra dict and the body's
    # own fields overlay each other in that order), then the body.
    op = req.operation
    body: Dict[str, Any] = {}
    for p in others:
        value = args.get(p.python_name)
        if value is None and p.client_default == "organization_id":
            value = organization_id
        if value is None:
            if p.required and p.location == "body":
                # A required body field has no default in the signature, so None was passed
                # on purpose: send null (e.g. set_org_budget(org, None) removes the limit).
                body[p.wire_name] = None
            continue
        if p.location == "query":
            req.params.extend((p.wire_name, v) for v in _query_value(value, p.explode))
        elif p.location == "header":
            req.headers[p.wire_name] = str(value)
        elif p.location == "body_extra":
            body.update(value)
        else:
            body[p.wire_name] = value
    if op.body == "json":
        req.json = body
    elif op.body == "whole":
        whole = args.get(op.body_param or "")
        req.json = {} if whole is None else whole
    elif op.body == "bytes":
        req.content = args.get(op.body_param or "")
    return req
