"""Validates SARIF 2.1.0 logs. The official JSON schema is not installable from PyPI or Debian
here, so this checks the log against sarif-pydantic's SARIF 2.1.0 object model and then the
schema's required fields and enums that model leaves open."""
import json, sys
from sarif_pydantic import Sarif

LEVELS = {"none", "note", "warning", "error"}
failed = 0
for path in sys.argv[1:]:
    errs = []
    with open(path) as f:
        doc = json.load(f)
    try:
        Sarif.model_validate(doc)
    except Exception as e:  # pydantic.ValidationError
        errs.append(str(e).splitlines()[0])
    if doc.get("version") != "2.1.0":
        errs.append("version must be 2.1.0")
    for i, run in enumerate(doc.get("runs", [])):
        driver = run.get("tool", {}).get("driver", {})
        if not driver.get("name"):
            errs.append(f"runs[{i}].tool.driver.name is required")
        rules = driver.get("rules", [])
        ids = [r.get("id") for r in rules]
        if len(ids) != len(set(ids)) or not all(ids):
            errs.append(f"runs[{i}]: rule ids must be present and unique")
        for j, r in enumerate(run.get("results", [])):
            where = f"runs[{i}].results[{j}]"
            if not r.get("message", {}).get("text"):
                errs.append(f"{where}.message.text is required")
            if r.get("level", "warning") not in LEVELS:
                errs.append(f"{where}.level must be one of {sorted(LEVELS)}")
            idx = r.get("ruleIndex")
            if idx is not None and (idx >= len(rules) or rules[idx].get("id") != r.get("ruleId")):
                errs.append(f"{where}.ruleIndex does not point at rule {r.get('ruleId')}")
            for k, loc in enumerate(r.get("locations", [])):
                region = loc.get("physicalLocation", {}).get("region")
                if region is not None and region.get("startLine", 1) < 1:
                    errs.append(f"{where}.locations[{k}]: startLine must be >= 1")
    for e in errs[:10]:
        print(f"{path}: {e}", file=sys.stderr)
    failed += bool(errs)
if failed:
    sys.exit(1)
print(f"validate-sarif: {len(sys.argv) - 1} SARIF logs valid")
