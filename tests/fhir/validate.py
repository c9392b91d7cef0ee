#!/usr/bin/env python3
"""Validates a FHIR R4 transaction Bundle with fhir.resources (an implementation independent
of chartscan) and prints the resource counts as JSON. Exit 1 with the errors when invalid.

    validate.py BUNDLE.json
"""
import collections
import json
import sys

from fhir.resources import __fhir_version__
from fhir.resources.bundle import Bundle


def main():
    if __fhir_version__ != "4.0.1":
        sys.exit(f"fhir.resources speaks FHIR {__fhir_version__}, not R4 4.0.1: install tests/fhir/requirements.txt")
    with open(sys.argv[1], encoding="utf-8") as f:
        data = json.load(f)
    try:
        bundle = Bundle.parse_obj(data)
    except Exception as e:  # pydantic.ValidationError, with every problem listed
        print(str(e), file=sys.stderr)
        sys.exit(1)
    problems = []
    if bundle.type != "transaction":
        problems.append(f"bundle type is {bundle.type}, not transaction")
    counts = collections.Counter()
    full_urls = set()
    for i, entry in enumerate(bundle.entry or []):
        if entry.request is None:
            problems.append(f"entry {i} has no request")
            continue
        if entry.resource is not None:
            counts[entry.resource.resource_type] += 1
            if entry.fullUrl in full_urls:
                problems.append(f"entry {i}: full URL {entry.fullUrl} twice")
            full_urls.add(entry.fullUrl)
            if entry.request.method == "POST" and not entry.request.ifNoneExist:
                problems.append(f"entry {i}: a POST without ifNoneExist would create duplicates")
        else:
            counts[entry.request.url.split("?")[0].split("/")[0] + " (delete)"] += 1
    # Every urn:uuid reference must point at an entry of the bundle.
    def refs(node):
        if isinstance(node, dict):
            for k, v in node.items():
                if k == "reference" and isinstance(v, str):
                    yield v
                else:
                    yield from refs(v)
        elif isinstance(node, list):
            for v in node:
                yield from refs(v)
    for ref in refs(data):
        if ref.startswith("urn:uuid:") and ref not in full_urls:
            problems.append(f"reference {ref} points at no entry")
    if problems:
        print("\n".join(problems), file=sys.stderr)
        sys.exit(1)
    print(json.dumps(dict(sorted(counts.items()))))


if __name__ == "__main__":
    main()
