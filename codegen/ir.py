"""Read spec/openapi.yaml into the small intermediate form our templates render.

openapi-python-client parses and checks the document and drives the rendering; this module
adds what its parser does not keep: our `x-fabric-*` extensions and python type strings for
TypedDicts / pydantic models that must import on Python 3.9.
"""

from __future__ import annotations

import keyword
from typing import Any, Dict, List, Optional, Tuple

from ir_model import (
    _PYDANTIC_RESERVED,
    HTTP_METHODS,
    Arg,
    Field,
    Namespace,
    Operation,
    Schema,
    Spec,
    SpecError,
    pascal,
    snake,
    upper_snake,
)

__all__ = ["Namespace", "Operation", "Spec", "SpecError", "pascal", "read_spec"]


class _Reader:
    def __init__(self, doc: Dict[str, Any]) -> None:
        self.doc = doc
        self.components = doc.get("components", {})

    def deref(self, node: Dict[str, Any]) -> Dict[str, Any]:
        while isinstance(node, dict) and "$ref" in node:
            ref = node["$ref"]
            if not ref.startswith("#/"):
                raise SpecError(f"only local $refs are supported: {ref}")
            target: Any = self.doc
            for part in ref[2:].split("/"):
                target = target[part]
            node = target
        return node

    # --- python type strings -------------------------------------------------------------
    def py_type(self, schema: Optional[Dict[str, Any]], *, module: str = "") -> str:
        """A Python 3.9-safe annotation (typing names only) for a JSON schema."""
        if not schema:
            return "Any"
        if "$ref" in schema:
            return module + schema["$ref"].rsplit("/", 1)[-1]
        for combiner in ("oneOf", "anyOf"):
            if combiner in schema:
                types = [self.py_type(s, module=module) for s in schema[combiner]]
                return self._union(types)
        if "const" in schema:
            return f"Literal[{schema['const']!r}]"
        if "enum" in schema:
            values = [v for v in schema["enum"] if v is not None]
            lit = "Literal[" + ", ".join(repr(v) for v in values) + "]"
            return f"Optional[{lit}]" if None in schema["enum"] or self._nullable(schema) else lit
        types = schema.get("type")
        type_list = types if isinstance(types, list) else [types] if types else []
        nullable = "null" in type_list
        concrete = [t for t in type_list if t != "null"]
        rendered = [self._single(t, schema, module) for t in concrete] or (["None"] if nullable else ["Any"])
        result = self._union(rendered)
        if nullable and result not in ("None", "Any"):
            result = f"Optional[{result}]"
        return result

    @staticmethod
    def _nullable(schema: Dict[str, Any]) -> bool:
        t = schema.get("type")
        return isinstance(t, list) and "null" in t

    @staticmethod
    def _union(types: List[str]) -> str:
        uniq = list(dict.fromkeys(types))
        if "Any" in uniq:
            return "Any"
        if len(uniq) == 1:
            return uniq[0]
        if "None" in uniq:
            rest = [t for t in uniq if t != "None"]
            return f"Optional[{rest[0] if len(rest) == 1 else 'Union[' + ', '.join(rest) + ']'}]"
        return "Union[" + ", ".join(uniq) + "]"

    def _single(self, t: str, schema: Dict[str, Any], module: str) -> str:
        if t == "string":
            return "str"
        if t == "integer":
            return "int"
        if t == "number":
            return "float"
        if t == "boolean":
            return "bool"
        if t == "array":
            return f"List[{self.py_type(schema.get('items'), module=module)}]"
        if t == "object":
            extra = schema.get("additionalProperties")
            if isinstance(extra, dict) and extra:
                return f"Dict[str, {self.py_type(extra, module=module)}]"
            return "Dict[str, Any]"
        return "Any"

    # --- component schemas -----------------------------------------------------------------
    def schemas(self) -> List[Schema]:
        out = []
        for name, raw in sorted(self.components.get("schemas", {}).items()):
            desc = (raw.get("description") or "").strip()
            if raw.get("type") != "object" or "properties" not in raw:
                out.append(Schema(name, desc, [], kind="alias", alias_type=self.py_type(raw)))
                continue
            required = set(raw.get("required", []))
            fields = []
            for fname, fschema in raw["properties"].items():
                attr = fname
                if not fname.isidentifier() or keyword.iskeyword(fname) or fname in _PYDANTIC_RESERVED:
                    attr = snake(fname) + "_"
                fields.append(
                    Field(
                        name=fname,
                        attr=attr,
                        type=self.py_type(fschema),
                        required=fname in required,
                        description=(self.deref(fschema).get("description") or "").strip().replace("\n", " "),
                    )
                )
            out.append(Schema(name, desc, fields))
        return out

    # --- operations ------------------------------------------------------------------------
    def operations(self) -> List[Operation]:
        ops = []
        for path, item in self.doc["paths"].items():
            for method in HTTP_METHODS:
                if method in item:
                    ops.append(self._operation(path, method, item[method], item.get("parameters", [])))
        return ops

    def _operation(self, path: str, method: str, raw: Dict[str, Any], shared: List[Any]) -> Operation:
        op_id = raw["operationId"]
        sdk = raw.get("x-fabric-sdk") or {}
        where = f"{method.upper()} {path} ({op_id})"
        if "ns" not in sdk:
            raise SpecError(f"{where}: x-fabric-sdk.ns is required")
        args: List[Arg] = []
        has_idem = False
        for p in [*shared, *raw.get("parameters", [])]:
            p = self.deref(p)
            if p["in"] == "header" and p["name"].lower() == "idempotency-key":
                has_idem = True
                continue
            if p["in"] == "cookie":
                raise SpecError(f"{where}: cookie parameters are not supported")
            schema = p.get("schema", {})
            args.append(
                Arg(
                    wire_name=p["name"],
                    python_name=p.get("x-fabric-name") or snake(p["name"]),
                    location=p["in"],
                    required=bool(p.get("required")) or p["in"] == "path",
                    type=self.py_type(schema, module="types."),
                    client_default=p.get("x-fabric-default"),
                    allow_slash=bool(p.get("x-fabric-allow-slash")),
                    explode=p.get("explode", p.get("style", "form") == "form"),
                    description=(p.get("description") or "").strip().replace("\n", " "),
                )
            )
        body, body_param = self._body(raw, sdk, args, where)
        if sdk.get("extra_body"):
            # a dict argument merged into the JSON body: upsert_workflow_registry_entry(name, body)
            args.append(
                Arg(
                    "",
                    sdk["extra_body"],
                    "body_extra",
                    False,
                    "Optional[Dict[str, Any]]",
                    None,
                    False,
                    True,
                    "more body fields",
                )
            )
        if method in ("post", "put", "patch"):
            has_idem = True  # the transport sends one on every write; the arg always exists
        response, status, data_schema, is_list, ret = self._response(raw, where)
        terminal_events = self._terminal_events(raw, response, data_schema, where)
        pagination = raw.get("x-fabric-pagination")
        item_type = None
        if pagination == "cursor":
            page = self.deref({"$ref": f"#/components/schemas/{data_schema}"}) if data_schema else {}
            item_type = self.py_type(
                page.get("properties", {}).get("items", {}).get("items"), module="types."
            )
        elif pagination == "offset":
            item_type = f"types.{data_schema}" if data_schema and is_list else "Any"
        flat_returns = sdk.get("flat_returns")
        flat_ret = ret
        if flat_returns:
            flat_ret = self._pluck_type(data_schema, flat_returns, where)
        for a in args:
            if not a.python_name.isidentifier() or keyword.iskeyword(a.python_name):
                raise SpecError(
                    f"{where}: argument {a.python_name!r} is not a python name; add x-fabric-name"
                )
        names = [a.python_name for a in args]
        dupes = {n for n in names if names.count(n) > 1}
        if dupes:
            raise SpecError(f"{where}: two arguments named {sorted(dupes)}; add x-fabric-name")
        positional = [n for n in sdk.get("args", []) if n != "idempotency_key" or n in names]
        unknown = [n for n in positional if n not in names]
        if unknown:
            raise SpecError(f"{where}: x-fabric-sdk.args names unknown arguments {unknown}")
        return Operation(
            operation_id=op_id,
            const=upper_snake(op_id),
            method=method.upper(),
            path=path,
            tag=(raw.get("tags") or ["default"])[0],
            summary=(raw.get("summary") or raw.get("description") or op_id).strip().split("\n")[0],
            description=" ".join((raw.get("description") or "").split()) if raw.get("summary") else "",
            returns_description=" ".join(str(raw["responses"][str(status)].get("description") or "").split()),
            flat=sdk.get("flat"),
            ns=sdk["ns"],
            hand_written=bool(sdk.get("hand_written")),
            args=args,
            positional=positional,
            body=body,
            body_param=body_param,
            response=response,
            success_status=status,
            data_schema=data_schema,
            data_is_list=is_list,
            return_type=ret,
            pagination=pagination,
            item_type=item_type,
            tokens=sdk.get("tokens"),
            flat_returns=flat_returns,
            flat_return_type=flat_ret,
            public=raw.get("security") == [],
            has_idempotency_key=has_idem,
            terminal_events=terminal_events,
        )

    def _body(
        self, raw: Dict[str, Any], sdk: Dict[str, Any], args: List[Arg], where: str
    ) -> Tuple[Optional[str], Optional[str]]:
        rb = raw.get("requestBody")
        if not rb:
            return None, None
        rb = self.deref(rb)
        content = rb.get("content", {})
        if "application/octet-stream" in content:
            name = sdk.get("body") or "file"
            args.append(
                Arg(
                    "",
                    name,
                    "body",
                    True,
                    "Union[bytes, BinaryIO, Iterator[bytes]]",
                    None,
                    False,
                    True,
                    "raw bytes",
                )
            )
            return "bytes", name
        schema = self.deref(content.get("application/json", {}).get("schema", {}))
        if sdk.get("body"):
            name = sdk["body"]
            args.append(
                Arg("", name, "body", False, "Optional[Dict[str, Any]]", None, False, True, "the JSON body")
            )
            return "whole", name
        if schema.get("type") != "object" or "properties" not in schema:
            raise SpecError(f"{where}: a JSON body without properties needs x-fabric-sdk.body")
        required = set(schema.get("required", []))
        for name, prop in schema["properties"].items():
            args.append(
                Arg(
                    wire_name=name,
                    python_name=prop.get("x-fabric-name") or snake(name),
                    location="body",
                    required=name in required and not prop.get("x-fabric-default"),
                    type=self.py_type(prop, module="types."),
                    client_default=prop.get("x-fabric-default"),
                    allow_slash=False,
                    explode=True,
                    description=(self.deref(prop).get("description") or "").strip().replace("\n", " "),
                )
            )
        return "json", None

    def _response(self, raw: Dict[str, Any], where: str) -> Tuple[str, int, Optional[str], bool, str]:
        responses = raw.get("responses", {})
        ok = sorted(code for code in responses if str(code).startswith("2"))
        if not ok:
            raise SpecError(f"{where}: no 2xx response")
        status = int(ok[0])
        resp = self.deref(responses[ok[0]])
        content = resp.get("content", {})
        if "text/event-stream" in content:
            return "sse", status, "Event", False, "Iterator[ServerSentEvent]"
        if "application/octet-stream" in content:
            return "bytes", status, None, False, "bytes"
        env = self.deref(content.get("application/json", {}).get("schema", {}))
        data = (env.get("properties") or {}).get("data")
        if data is None:
            raise SpecError(f"{where}: the success response must be the envelope with a `data` property")
        if "$ref" in data:
            name = data["$ref"].rsplit("/", 1)[-1]
            return "json", status, name, False, f"types.{name}"
        if data.get("type") == "array" and "$ref" in (data.get("items") or {}):
            name = data["items"]["$ref"].rsplit("/", 1)[-1]
            return "json", status, name, True, f"List[types.{name}]"
        return "json", status, None, False, self.py_type(data, module="types.")

    def _terminal_events(
        self, raw: Dict[str, Any], response: str, data_schema: Optional[str], where: str
    ) -> Tuple[str, ...]:
        # The client ends a stream after one of these kinds: a typo here would make it wait
        # for an event that never comes, so every kind must be one the payload schema allows.
        key = "x-fabric-terminal-events"
        if key not in raw:
            return ()
        kinds = raw[key]
        if response != "sse":
            raise SpecError(f"{where}: {key} is only for text/event-stream operations")
        if not isinstance(kinds, list) or not kinds or not all(isinstance(k, str) for k in kinds):
            raise SpecError(f"{where}: {key} must be a non-empty list of event kinds, not {kinds!r}")
        if len(set(kinds)) != len(kinds):
            raise SpecError(f"{where}: {key} lists an event kind twice: {kinds}")
        schema = self.components.get("schemas", {}).get(data_schema or "", {})
        known = self.deref(schema.get("properties", {}).get("kind", {})).get("enum")
        if not known:
            raise SpecError(f"{where}: {key} needs an enum on {data_schema}.kind to check against")
        unknown = [k for k in kinds if k not in known]
        if unknown:
            raise SpecError(f"{where}: {key} names kinds missing from {data_schema}.kind: {unknown}")
        return tuple(kinds)

    def _pluck_type(self, data_schema: Optional[str], spec: str, where: str) -> str:
        if not data_schema:
            raise SpecError(f"{where}: flat_returns needs a component `data` schema")
        props = self.components["schemas"][data_schema].get("properties", {})
        key = spec[3:] if spec.startswith("[].") else spec
        if key not in props:
            raise SpecError(f"{where}: flat_returns {spec!r}: {data_schema} has no {key!r}")
        t = self.py_type(props[key], module="types.")
        return f"List[{t}]" if spec.startswith("[].") else t


def _namespaces(ops: List[Operation]) -> Tuple[Namespace, List[str]]:
    root = Namespace(path=(), class_name="_Root")
    for op in ops:
        if op.hand_written:
            continue
        *parents, method = op.ns.split(".")
        node = root
        for i, part in enumerate(parents):
            if part not in node.children:
                cls = "".join(pascal(p) for p in parents[: i + 1]) + "Namespace"
                node.children[part] = Namespace(path=tuple(parents[: i + 1]), class_name=cls)
            node = node.children[part]
        if any(m == method for m, _ in node.methods) or method in node.children:
            raise SpecError(f"{op.operation_id}: ns name {op.ns} is taken")
        node.methods.append((method, op))
    collisions = []
    for op in ops:
        if op.flat and op.flat in root.children and not op.hand_written:
            root.children[op.flat].call_op = op  # fabric.providers() and fabric.providers.list()
            collisions.append(op.flat)
    return root, collisions


def read_spec(doc: Dict[str, Any]) -> Spec:
    reader = _Reader(doc)
    ops = reader.operations()
    ids = [o.operation_id for o in ops]
    if len(set(ids)) != len(ids):
        raise SpecError("duplicate operationIds")
    flats = [o.flat for o in ops if o.flat]
    dupes = {f for f in flats if flats.count(f) > 1}
    if dupes:
        raise SpecError(f"flat names used twice: {sorted(dupes)}")
    root, collisions = _namespaces(ops)
    return Spec(
        title=doc["info"]["title"],
        version=str(doc["info"]["version"]),
        schemas=reader.schemas(),
        operations=ops,
        root=root,
        flat_collisions=collisions,
    )
