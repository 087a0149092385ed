#!/usr/bin/env bash
# Builds an agent-like tree (this machine's dpkg database and md5sums, Python dist/site-packages
# metadata, npm's own node_modules, the system's jars, and the large lockfiles under their
# canonical names) and runs syft, trivy (fs mode, licenses only, no network) and Provenant on it.
# Prints median wall time, peak memory and component counts per ecosystem. RUNS sets repetitions.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"; repo="$(dirname "$here")"
runs="${RUNS:-5}"
work="$here/out"; tools="$here/tools"; tree="$work/tree"
mkdir -p "$work" "$tools"

. "$here/peers.sh"
fetch_peers
command -v /usr/bin/time >/dev/null || { echo "needs /usr/bin/time (apt-get install time)" >&2; exit 2; }

rm -rf "$tree"; mkdir -p "$tree/etc" "$tree/var/lib" "$tree/usr/lib" "$tree/usr/share/java" "$tree/app"
cp /etc/os-release "$tree/etc/os-release"
cp -r /var/lib/dpkg "$tree/var/lib/dpkg" 2>/dev/null || true
for sp in $(python3 -c 'import site,sys; print(" ".join(site.getsitepackages()))') /usr/lib/python3/dist-packages; do
  [ -d "$sp" ] || continue
  dest="$tree/usr/lib/python3/$(echo "$sp" | tr / _)"; mkdir -p "$dest"
  (cd "$sp" && find . -maxdepth 2 \( -path '*.dist-info/METADATA' -o -path '*.dist-info/RECORD' -o -path '*.egg-info/PKG-INFO' \) -print0 \
     | xargs -0 -I{} cp --parents {} "$dest/") 2>/dev/null || true
done
npm_root="$(npm root -g 2>/dev/null || true)"
[ -d "$npm_root/npm/node_modules" ] && mkdir -p "$tree/usr/lib/node_modules/npm" && cp -r "$npm_root/npm/node_modules" "$tree/usr/lib/node_modules/npm/"
find /usr/share/java /usr/lib/jvm -name '*.jar' -size -20M 2>/dev/null | head -200 | while read -r j; do cp "$j" "$tree/usr/share/java/"; done
ll="$repo/Tests/CatalogTests/Fixtures/large-lockfiles"
for pair in "package-lock-v3.json:npm-a/package-lock.json" "package-json_theia_package-lock.json:npm-b/package-lock.json" \
            "yarn_locks_yarn.lock:yarn-a/yarn.lock" "yarn_locks_yarnv4.lock:yarn-b/yarn.lock" "pnpm-lock9a.yaml:pnpm/pnpm-lock.yaml" \
            "Cargom.lock:rust/Cargo.lock" "Gemfile4.lock:ruby/Gemfile.lock" "poetry.lock:py/poetry.lock" \
            "requirements-lock.linux_py3.txt:py2/requirements.txt"; do
  src="${pair%%:*}"; dst="$tree/app/${pair#*:}"; mkdir -p "$(dirname "$dst")"; cp "$ll/$src" "$dst"
done
echo "tree: $(find "$tree" -type f | wc -l) files"

(cd "$repo" && swift build -c release --static-swift-stdlib --product provenant >/dev/null)
prov="$repo/.build/release/provenant"


export TRIVY_CACHE_DIR="$work/trivy-cache"
results=()
results+=("$(measure syft "$work/syft.json" "$tools/syft" scan "dir:$tree" -o cyclonedx-json -q)")
results+=("$(measure trivy "$work/trivy.json" "$tools/trivy" fs --offline-scan --skip-db-update --skip-java-db-update --scanners license --format cyclonedx --quiet "$tree")")
results+=("$(measure provenant "$work/provenant.json" "$prov" sbom "$tree" --quiet)")
# Neither peer writes per-file components (md5sums, RECORD); this row shows their cost.
results+=("$(measure provenant-nofiles "$work/provenant-nofiles.json" "$prov" sbom "$tree" --quiet --exclude '*.md5sums' --exclude RECORD)")

printf '\n%-17s %14s %9s %11s\n' tool median_wall_s peak_MiB components
for r in "${results[@]}"; do
  set -- $r
  n=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1])).get("components",[])))' "$work/$1.json")
  printf '%-17s %14s %9s %11s\n' "$1" "$2" "$3" "$n"
done
echo; echo "components per purl type:"
for t in syft trivy provenant provenant-nofiles; do
  python3 - "$work/$t.json" "$t" <<'PY'
import json, sys, collections
d = json.load(open(sys.argv[1])); c = collections.Counter()
for comp in d.get("components", []):
    p = comp.get("purl", "")
    c[p.split("/")[0][4:] if p.startswith("pkg:") else "(no purl)"] += 1
print(f"{sys.argv[2]:17s}", ", ".join(f"{k}={v}" for k, v in sorted(c.items())))
PY
done
