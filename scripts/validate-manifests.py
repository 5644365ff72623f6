#!/usr/bin/env python3
"""Validates Kubernetes manifests offline.

Objects of the optionsflow.io group are checked against the openAPIV3Schema of the CRDs in
--crds (OpenAPI's `nullable` is honoured; CEL rules are checked by the Rust tests with
kube-cel). Every other object is checked by kubernetes-validate against the schemas of
--kubernetes-version, strictly (unknown fields are errors).

Prints one line per document and exits 1 if any failed.
"""
import argparse
import pathlib
import sys

import jsonschema
import kubernetes_validate
import yaml


class KubernetesLoader(yaml.SafeLoader):
    """YAML as Kubernetes reads it: an unquoted 2020-01-02 is a string, not a date."""


KubernetesLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def openapi_to_jsonschema(node):
    """OpenAPI 3.0's `nullable: true` is JSON Schema's `type: [T, "null"]`."""
    if isinstance(node, dict):
        out = {k: openapi_to_jsonschema(v) for k, v in node.items() if not k.startswith("x-kubernetes")}
        if node.get("x-kubernetes-int-or-string"):
            out["type"] = ["integer", "string"]
        if out.pop("nullable", False) and "type" in out:
            out["type"] = [out["type"], "null"] if isinstance(out["type"], str) else out["type"] + ["null"]
            if "enum" in out:
                out["enum"] = out["enum"] + [None]
        return out
    if isinstance(node, list):
        return [openapi_to_jsonschema(v) for v in node]
    return node


def load_crd_schemas(directory):
    schemas = {}
    for path in sorted(pathlib.Path(directory).glob("*.yaml")):
        for crd in yaml.load_all(path.read_text(), Loader=KubernetesLoader):
            if not crd:
                continue
            group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
            for version in crd["spec"]["versions"]:
                schema = openapi_to_jsonschema(version["schema"]["openAPIV3Schema"])
                schemas[(f"{group}/{version['name']}", kind)] = schema
    return schemas


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kubernetes-version", default="1.33")
    parser.add_argument("--crds", required=True)
    parser.add_argument("files", nargs="+")
    args = parser.parse_args()
    crds = load_crd_schemas(args.crds)
    failed = 0
    for name in args.files:
        for doc in yaml.load_all(pathlib.Path(name).read_text(), Loader=KubernetesLoader):
            if not doc:
                continue
            what = f"{name} {doc.get('kind')}/{doc.get('metadata', {}).get('name')}"
            key = (doc.get("apiVersion"), doc.get("kind"))
            try:
                if key in crds:
                    errors = sorted(
                        jsonschema.Draft7Validator(crds[key]).iter_errors(doc),
                        key=lambda e: list(e.absolute_path),
                    )
                    if errors:
                        raise ValueError("; ".join(
                            f"{'.'.join(str(p) for p in e.absolute_path)}: {e.message}" for e in errors))
                else:
                    kubernetes_validate.validate(doc, args.kubernetes_version, strict=True)
                print(f"ok {what}")
            except (ValueError, kubernetes_validate.ValidationError, kubernetes_validate.SchemaNotFoundError,
                    kubernetes_validate.InvalidSchemaError) as e:
                failed += 1
                print(f"FAIL {what}: {e}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
