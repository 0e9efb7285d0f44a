"""Fan a run out into variants, and run three different workflows as one bundle."""

from __future__ import annotations

from fabric_platform import FabricClient

try:
    from _common import run_standalone, title
except ImportError:
    from examples._common import run_standalone, title


def main(fabric: FabricClient) -> None:
    title("variants=3 of video/ai_shorts")
    result = fabric.workflows.runs.submit_and_get_output(
        "video/ai_shorts",
        input={"topic": "AI trends"},
        variants=3,
    )
    assert len(result.outputs) == 3
    for variant in result.outputs:
        print(variant.variant_index, variant.kind, variant.output["title"])
        for a in variant.artifacts:
            print("   ", a.filename, a.content_type, a.download_url[:60] + "…")

    title("a bundle of three workflows")
    bundle = fabric.workflows.runs.submit_bundle(
        bundle=[
            {"workflow": "video/ai_shorts", "input": {"topic": "AI trends"}},
            {"workflow": "image/generate-post", "input": {"topic": "AI trends", "slides": 6}},
            {"workflow": "content/threads-post", "input": {"topic": "AI trends"}},
        ],
    )
    for variant in bundle.outputs:
        print(f"{variant.workflow_name:<22} kind={variant.kind:<9} artifacts={len(variant.artifacts)}")

    title("bundle and variants together are refused before any request")
    try:
        fabric.submit_run("video/ai_shorts", input={"topic": "x"}, variants=2, bundle=[])
    except ValueError as exc:
        print("ValueError:", exc)


if __name__ == "__main__":
    run_standalone(main)
