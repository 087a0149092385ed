#!/usr/bin/env bash
# Runs checkov (from PyPI) and Provenant on the Pod Security Standards fixtures and reports, per
# fixture, which tool catches the failure. checkov's checks are not named after the PSS controls,
# so a fail fixture counts as caught by checkov when checkov fails a check on it that it does not
# fail on the level's clean base.yaml; for Provenant, when it reports the fixture's pss: control.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"; repo="$(dirname "$here")"
fixtures="$repo/Tests/PermissionsTests/Fixtures/k8s-pod-security"
venv="$here/tools/checkov-venv"
if [ ! -x "$venv/bin/checkov" ]; then
  python3 -m venv "$venv" && "$venv/bin/pip" install -q checkov
fi
(cd "$repo" && swift build -c release --static-swift-stdlib --product provenant >/dev/null)
prov="$repo/.build/release/provenant"
out="$here/out/checkov"; rm -rf "$out"; mkdir -p "$out"
for level in baseline restricted; do
  for verdict in pass fail; do
    "$venv/bin/checkov" -d "$fixtures/$level/v1.37/$verdict" --framework kubernetes -o json --quiet > "$out/$level-$verdict.json" 2>/dev/null || true
  done
done
python3 - "$prov" "$fixtures" "$out" <<'PY'
import json, os, subprocess, sys
prov, fixtures, out = sys.argv[1:]
def checkov_failed(level, verdict):
    data = json.load(open(f"{out}/{level}-{verdict}.json"))
    reports = data if isinstance(data, list) else [data]
    failed = {}
    for r in reports:
        for c in r.get("results", {}).get("failed_checks", []):
            failed.setdefault(os.path.basename(c["file_path"]), set()).add(c["check_id"])
    return failed
# Fixtures that duplicate another's content under another name (see PodSecurityTests.duplicates).
duplicates = {"restricted/seccompprofile_restricted1.yaml": "seccompprofile_baseline",
              "restricted/seccompprofile_restricted4.yaml": "seccompprofile_baseline",
              "restricted/restrictedvolumes19.yaml": "hostpathvolumes"}
total = {"fail": 0, "pass": 0}; prov_caught = 0; chk_caught = 0; prov_fp = 0; chk_fp = 0
missed_by_checkov, missed_by_prov, checkov_only = [], [], []
for level in ["baseline", "restricted"]:
    passed = checkov_failed(level, "pass"); failed = checkov_failed(level, "fail")
    base = passed.get("base.yaml", set())
    for verdict in ["fail", "pass"]:
        d = f"{fixtures}/{level}/v1.37/{verdict}"
        for f in sorted(os.listdir(d)):
            if not f.endswith(".yaml"):
                continue
            r = subprocess.run([prov, "policy", "check", "--level", level, "--format", "json", f"{d}/{f}"], capture_output=True, text=True)
            rules = {x["rule"] for x in json.loads(r.stdout or "[]") if x["rule"].startswith("pss:")}
            extra = (failed if verdict == "fail" else passed).get(f, set()) - base
            total[verdict] += 1
            control = f[:-5].rstrip("0123456789")
            want = "pss:" + duplicates.get(f"{level}/{f}", control)
            if verdict == "fail":
                if want in rules: prov_caught += 1
                else: missed_by_prov.append(f"{level}/{f}")
                if extra: chk_caught += 1
                else: missed_by_checkov.append(f"{level}/{f} ({control})")
            else:
                prov_fp += bool(rules); chk_fp += bool(extra)
                if extra: checkov_only.append(f"{level}/{f}: {', '.join(sorted(extra))}")
print(f"fail fixtures caught: Provenant {prov_caught}/{total['fail']}, checkov {chk_caught}/{total['fail']}")
print(f"pass fixtures flagged beyond base.yaml: Provenant {prov_fp}/{total['pass']}, checkov {chk_fp}/{total['pass']}")
print("missed by Provenant: " + (", ".join(missed_by_prov) or "none"))
print("checkov failures on pass fixtures (beyond the PSS, not failures of the standard): " + ("; ".join(checkov_only) or "none"))
by_control = {}
for m in missed_by_checkov:
    by_control.setdefault(m.split("(")[1].rstrip(")"), []).append(m.split(" ")[0])
print("missed by checkov, by control:")
for c, fs in sorted(by_control.items()):
    print(f"  {c}: {len(fs)} ({', '.join(fs)})")
PY
