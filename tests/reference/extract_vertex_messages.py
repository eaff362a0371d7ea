"""Extract the field tree of the Vertex AI v1 messages the GCP back end builds as untyped REST bodies.

Source: google-cloud-aiplatform's proto-plus types (`google/cloud/aiplatform_v1/types/*.py`), read with
`ast` (nothing is imported, so none of the SDK's dependencies are needed). Regenerate after a Vertex
API change:

    pip download google-cloud-aiplatform --no-deps -d /tmp/aip
    unzip -q /tmp/aip/google_cloud_aiplatform-*.whl 'google/cloud/aiplatform_v1/types/*' -d /tmp/aip/x
    python tests/reference/extract_vertex_messages.py /tmp/aip/x/google/cloud/aiplatform_v1/types <version> \\
        > tests/reference/vertex_v1_messages.json

Each message maps its JSON field names to the message type of the field (None: a scalar, an enum or a
well-known type such as Struct), and whether the field is repeated or a map.
"""

from __future__ import annotations

import ast
import json
import pathlib
import sys
from typing import Any

ROOTS = ("ModelDeploymentMonitoringJob", "BatchPredictionJob", "DeployedModel", "Endpoint")


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def reference(node: ast.expr | None) -> str | None:
    """`Inner` (a nested class of the enclosing message first), or `::Name` for a module-qualified name."""
    if isinstance(node, ast.Constant):
        return str(node.value)
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        parts: list[str] = []
        current: ast.expr = node
        while isinstance(current, ast.Attribute):
            parts.append(current.attr)
            current = current.value
        if isinstance(current, ast.Name):
            parts.append(current.id)
        parts.reverse()
        return "::" + ".".join(parts[1:]) if parts[0][:1].islower() else ".".join(parts)
    return None


def main(types_dir: str, version: str) -> None:
    messages: dict[str, dict[str, dict[str, Any]]] = {}

    def walk(cls: ast.ClassDef, prefix: str) -> None:
        name = f"{prefix}{cls.name}"
        fields: dict[str, dict[str, Any]] = {}
        for item in cls.body:
            if isinstance(item, ast.ClassDef):
                walk(item, name + ".")
            if (isinstance(item, ast.AnnAssign) and isinstance(item.value, ast.Call)
                    and isinstance(item.value.func, ast.Attribute) and isinstance(item.target, ast.Name)
                    and item.value.func.attr in ("Field", "RepeatedField", "MapField")):
                message = next((reference(k.value) for k in item.value.keywords if k.arg == "message"), None)
                kind = item.value.func.attr
                fields[camel(item.target.id)] = {"message": message, "repeated": kind == "RepeatedField",
                                                 "map": kind == "MapField"}
        messages[name] = fields

    for path in sorted(pathlib.Path(types_dir).glob("*.py")):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.ClassDef):
                walk(node, "")

    def resolve(name: str, context: str) -> str | None:
        if name.startswith("::"):
            return name[2:] if name[2:] in messages else None
        parts = context.split(".")
        for i in range(len(parts), 0, -1):
            candidate = ".".join(parts[:i]) + "." + name
            if candidate in messages:
                return candidate
        return name if name in messages else None

    kept: dict[str, dict[str, dict[str, Any]]] = {}
    todo: list[str] = list(ROOTS)
    while todo:
        message = todo.pop()
        if message in kept or message not in messages:
            continue
        fields = {}
        for field, spec in messages[message].items():
            target = resolve(spec["message"], message) if spec["message"] else None
            fields[field] = {**spec, "message": target}
            if target:
                todo.append(target)
        kept[message] = fields
    json.dump({"source": f"google-cloud-aiplatform {version}, google/cloud/aiplatform_v1/types "
                         "(tests/reference/extract_vertex_messages.py)",
               "messages": dict(sorted(kept.items()))}, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
