"""The intermediate form the templates render: schemas, operations, namespaces (see ir.py).

Plain dataclasses and the naming rules (snake, upper_snake, pascal) shared by the reader and
the templates' callers (generate.py, reference.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

HTTP_METHODS = ("get", "put", "post", "patch", "delete")
_PYDANTIC_RESERVED = {
    "copy", "dict", "json", "schema", "validate", "construct", "fields", "parse_obj", "parse_raw",
    "model_config", "model_fields", "model_dump", "model_validate", "from_orm", "update_forward_refs",
}  # fmt: skip


class SpecError(Exception):
    """The spec breaks a convention of spec/CONVENTIONS.md."""


def snake(name: str) -> str:
    name = re.sub(r"[^0-9a-zA-Z]+", "_", name)
    name = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name)
    return name.strip("_").lower()


def upper_snake(name: str) -> str:
    return snake(name).upper()


def pascal(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^0-9a-zA-Z]+", name) if part)


@dataclass
class Field:
    name: str  # wire name
    attr: str  # python attribute name in the pydantic model
    type: str
    required: bool
    description: str


@dataclass
class Schema:
    name: str
    description: str
    fields: List[Field]
    kind: str = "object"  # "object" | "alias" (non-object schemas become type aliases)
    alias_type: str = "Any"


@dataclass
class Arg:
    wire_name: str
    python_name: str
    location: str
    required: bool
    type: str
    client_default: Optional[str]
    allow_slash: bool
    explode: bool
    description: str


@dataclass
class Operation:
    operation_id: str
    const: str
    method: str
    path: str
    tag: str
    summary: str
    description: str  # the operation's description: the paragraph under the summary in docstrings
    returns_description: str  # the success response's description ("The run.")
    flat: Optional[str]
    ns: str
    hand_written: bool
    args: List[Arg]
    positional: List[str]
    body: Optional[str]
    body_param: Optional[str]
    response: str
    success_status: int
    data_schema: Optional[str]
    data_is_list: bool
    return_type: str
    pagination: Optional[str]
    item_type: Optional[str]
    tokens: Optional[str]
    flat_returns: Optional[str]
    flat_return_type: str
    public: bool
    has_idempotency_key: bool
    terminal_events: Tuple[str, ...]  # x-fabric-terminal-events, in spec order

    @property
    def signature_args(self) -> List[Arg]:
        """Arguments in python signature order: positional first, then keyword-only."""
        by_name = {a.python_name: a for a in self.args}
        first = [by_name[n] for n in self.positional if n in by_name]
        rest = [a for a in self.args if a.python_name not in self.positional]
        # keyword-only: required ones first reads better in docs; order is otherwise the spec's
        return first + sorted(rest, key=lambda a: not a.required)


@dataclass
class Namespace:
    path: Tuple[str, ...]
    class_name: str
    methods: List[Tuple[str, Operation]] = field(default_factory=list)
    children: Dict[str, Namespace] = field(default_factory=dict)
    call_op: Optional[Operation] = None  # the flat method shares this namespace's name


@dataclass
class Spec:
    title: str
    version: str
    schemas: List[Schema]
    operations: List[Operation]
    root: Namespace
    flat_collisions: List[str]
