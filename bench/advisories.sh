#!/usr/bin/env bash
# Benchmarks the advisory database: (1) importing the bundled OSV snapshot (8,158 records) into a
# fresh database, (2) scanning two CycloneDX SBOMs of 10,000 packages drawn from the advisories' own
# package names: "10k" at versions the advisories themselves name (a worst case: ~111,000 findings,
# a 94 MB report) and "current" at versions past every fix (the everyday case: only advisories
# without a fix match). Prints median wall time and peak memory over RUNS runs.
# Targets (issue 3): import < 3 s, scan < 200 ms, memory < 200 MiB.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"; repo="$(dirname "$here")"
runs="${RUNS:-7}"
work="$here/out/advisories"; mkdir -p "$work"
command -v /usr/bin/time >/dev/null || { echo "needs /usr/bin/time (apt-get install time)" >&2; exit 2; }
(cd "$repo" && swift build -c release --static-swift-stdlib --product provenant >/dev/null)
prov="$repo/.build/release/provenant"
snap="$repo/Sources/Advisories/Resources/osv-snapshot.zip"

# The SBOM: every (ecosystem, name) in the snapshot with a version taken from its own events,
# cycled until there are 10,000 components.
python3 - "$snap" "$work/sbom-10k.cdx.json" <<'PY'
import io, json, sys, zipfile
try:
    import yaml
except ImportError:
    yaml = None
snap, out = sys.argv[1], sys.argv[2]
purl_type = {"PyPI": "pypi", "Go": "golang", "crates.io": "cargo"}
pkgs = []
with zipfile.ZipFile(snap) as z:
    for n in sorted(z.namelist()):
        if n.endswith(".json"):
            rec = json.loads(z.read(n))
        elif n.endswith(".yaml") and yaml:
            rec = yaml.safe_load(z.read(n))
        else:
            continue
        for a in rec.get("affected", []) or []:
            p = a.get("package") or {}
            t = purl_type.get(p.get("ecosystem"))
            if not t:
                continue
            versions = [str(e[k]) for r in a.get("ranges", []) or [] for e in r.get("events", []) for k in ("introduced", "fixed") if k in e and str(e[k]) != "0"]
            versions += [str(v) for v in (a.get("versions") or [])[:3]]
            for v in versions[:4] or ["0.0.1"]:
                pkgs.append((t, p["name"], v))
# One version per name per pass, so no single package (Go's stdlib has hundreds of versions)
# dominates; passes repeat until there are 10,000 components.
by_name = {}
for t, name, v in pkgs:
    vs = by_name.setdefault((t, name), [])
    if v not in vs:
        vs.append(v)
comps, pass_no = [], 0
while len(comps) < 10000 and any(len(vs) > pass_no for vs in by_name.values()):
    for (t, name), vs in sorted(by_name.items()):
        if len(vs) <= pass_no or len(comps) == 10000:
            continue
        v = vs[pass_no]
        ver = ("v" + v) if t == "golang" and not v.startswith("v") else v
        purl = f"pkg:{t}/{name}@{ver}"
        comps.append({"type": "library", "bom-ref": purl, "name": name, "version": ver, "purl": purl})
    pass_no += 1
json.dump({"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, "components": comps}, open(out, "w"))
print(f"sbom: {len(comps)} components at versions the advisories name")
# The everyday case: the same 10,000-component size, every name cycled at versions past anything
# the advisories mention (a fleet on current releases), so only advisories without a fix match.
# Lookups and range evaluation still run for every package.
current, bump = [], 0
while len(current) < 10000:
    for (t, name) in sorted(by_name):
        if len(current) == 10000:
            break
        v = f"999.0.{bump}"
        v = "v" + v if t == "golang" else v
        purl = f"pkg:{t}/{name}@{v}"
        current.append({"type": "library", "bom-ref": purl, "name": name, "version": v, "purl": purl})
    bump += 1
json.dump({"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, "components": current}, open(out.replace("10k", "current"), "w"))
print(f"sbom: {len(current)} components at versions past every fix")
PY

median() { sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
measure() { # name, setup-command, command...
  local name="$1" setup="$2"; shift 2
  local times=() mems=()
  for _ in $(seq "$runs"); do
    eval "$setup"
    /usr/bin/time -f "%e %M" -o "$work/time.txt" "$@" >/dev/null 2>&1
    read -r t m <"$work/time.txt"; times+=("$t"); mems+=("$m")
  done
  printf '%-22s %10s %9s\n' "$name" "$(printf '%s\n' "${times[@]}" | median)" \
    "$(printf '%s\n' "${mems[@]}" | median | awk '{printf "%.0f", $1/1024}')"
}

db="$work/bench.sqlite"
printf '%-22s %10s %9s\n' "job" "median_s" "peak_MiB"
measure "import snapshot" "rm -f '$db'" "$prov" db import "$snap" --db "$db"
for name in 10k current; do
  measure "scan $name SBOM" ":" "$prov" scan "$work/sbom-$name.cdx.json" --db "$db" --format json --quiet
  echo "  $("$prov" scan "$work/sbom-$name.cdx.json" --db "$db" --format json --quiet | python3 -c 'import json,sys; d=json.load(sys.stdin); print(len(d["findings"]), "findings in", d["summary"]["packagesScanned"], "packages")')"
done
# Where one everyday scan spends its time (PROVENANT_TIMINGS prints each phase on stderr).
echo "phases of one 'current' scan:"
PROVENANT_TIMINGS=1 "$prov" scan "$work/sbom-current.cdx.json" --db "$db" --format json --quiet 2>&1 >/dev/null | sed 's/^timing: /  /'
