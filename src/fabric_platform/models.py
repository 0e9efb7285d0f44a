"""Typed results of run outputs, exactly as the SDK documentation declares them.

Everything else the SDK returns is plain JSON data typed with the generated TypedDicts;
run outputs get attribute access because users iterate them (``for v in result.outputs``).
Unknown server fields are kept, not rejected: the server may add fields.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from pydantic import BaseModel, ConfigDict, Field
from typing_extensions import Literal

__all__ = ["RunArtifact", "RunOutput", "VariantOutput"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow", protected_namespaces=())


class RunArtifact(_Model):
    """A file a run produced; ``download_url`` is signed and needs no credentials."""

    id: str
    run_id: Optional[str] = None
    asset_id: Optional[str] = None
    task_id: Optional[str] = None
    filename: str
    content_type: Optional[str] = None
    produced_by: Optional[str] = None
    consumed_from: Optional[str] = None
    metadata: Dict[str, Any] = Field(default_factory=dict)
    artifact_type: Optional[str] = None
    variant_index: Optional[int] = None
    created_at: Optional[str] = None
    download_url: Optional[str] = None
    download_url_expires_at: Optional[str] = None
    size_bytes: Optional[int] = None
    sha256: Optional[str] = None


class VariantOutput(_Model):
    """One entry of a run's output: a variant, or one sub-workflow of a bundle."""

    variant_index: int
    workflow_name: Optional[str] = None
    kind: Optional[Literal["video", "carousel", "image", "text"]] = None
    output: Optional[Any] = None
    artifacts: List[RunArtifact] = Field(default_factory=list)


class RunOutput(_Model):
    """A run's result, uniform across single runs, variants and bundles."""

    run_id: str
    status: str
    error: Optional[str] = None
    variants: int
    outputs: List[VariantOutput]

    @property
    def first_output(self) -> Optional[Any]:
        """``outputs[0].output``, or None when there is no output."""
        return self.outputs[0].output if self.outputs else None

    @property
    def all_artifacts(self) -> List[RunArtifact]:
        """Every artifact of every variant, in order."""
        return [a for v in self.outputs for a in v.artifacts]
