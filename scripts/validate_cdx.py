"""Validates CycloneDX 1.6 JSON files against the official schema, resolving its $refs
(spdx, jsf, cryptography-defs) from the copies shipped in cyclonedx-python-lib, offline."""
import json, os, sys
import cyclonedx
from jsonschema import Draft7Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

res = os.path.join(os.path.dirname(cyclonedx.__file__), "schema", "_res")
def load(name):
    with open(os.path.join(res, name)) as f:
        return json.load(f)

bom = load("bom-1.6.SNAPSHOT.schema.json")
registry = Registry()
for name in ["spdx.SNAPSHOT.schema.json", "jsf-0.82.SNAPSHOT.schema.json", "cryptography-defs.SNAPSHOT.schema.json"]:
    if os.path.exists(os.path.join(res, name)):
        schema = load(name)
        r = Resource.from_contents(schema, default_specification=DRAFT7)
        registry = registry.with_resource("http://cyclonedx.org/schema/" + name, r)
        if "$id" in schema:
            registry = registry.with_resource(schema["$id"], r)
validator = Draft7Validator(bom, registry=registry)
failed = 0
for path in sys.argv[1:]:
    with open(path) as f:
        doc = json.load(f)
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
    for e in errors[:10]:
        print(f"{path}: {'/'.join(map(str, e.path))}: {e.message[:200]}", file=sys.stderr)
    failed += bool(errors)
print(f"cyclonedx: {len(sys.argv) - 1 - failed} valid, {failed} invalid")
sys.exit(1 if failed else 0)
