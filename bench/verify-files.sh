#!/usr/bin/env bash
# `provenant verify-files ROOT` against `dpkg --verify` (the issue's oracle), on this machine's own root by
# default. One untimed run of each warms the page cache and gives the reports; then RUNS (default 5) timed
# runs of each, alternating, and the medians of wall time, CPU time and peak RSS. The reports are compared
# on dpkg-owned files: every line dpkg prints must be one of ours, and ours must hold no other dpkg line
# (verify-files' other lines, for apk and Python files and unowned programs, are marked with " [" and
# counted apart). Target from issue 14: at most half of dpkg's wall time, with the same report.
# It reports; it fails only when the dpkg lines differ.
# Environment: ROOT (default /), RUNS, PROVENANT (a provenant binary to use instead of a release build).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"; repo="$(dirname "$here")"
root="${ROOT:-/}"; runs="${RUNS:-5}"
work="$here/out"; mkdir -p "$work"
command -v /usr/bin/time >/dev/null || { echo "needs /usr/bin/time (apt-get install time)" >&2; exit 2; }
command -v dpkg >/dev/null || { echo "needs dpkg" >&2; exit 2; }
if [ -z "${PROVENANT:-}" ]; then
  (cd "$repo" && swift build -c release --static-swift-stdlib --product provenant >/dev/null)
  PROVENANT="$repo/.build/release/provenant"
fi
dpkg_args=(--verify); [ "$root" = / ] || dpkg_args+=("--root=$root")

# One timed run: "wall cpu rss_kib" on stdout; the report goes to $2.
timed() {
  local out="$1"; shift
  /usr/bin/time -f "%e %U %S %M" -o "$work/time.txt" "$@" >"$out" 2>"$out.err" || true
  awk '{ printf "%s %.2f %s\n", $1, $2 + $3, $4 }' "$work/time.txt"
}
median() { sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

echo "root: $root; $(nproc) cores; dpkg $(dpkg-query -W -f '${Version}' dpkg); $runs runs each after one warm-up"
timed "$work/dpkg-verify.txt" dpkg "${dpkg_args[@]}" >/dev/null
timed "$work/verify-files.txt" "$PROVENANT" verify-files "$root" >/dev/null
: >"$work/dpkg-times.txt"; : >"$work/ours-times.txt"
for i in $(seq "$runs"); do
  timed "$work/dpkg-run.txt" dpkg "${dpkg_args[@]}" >>"$work/dpkg-times.txt"
  timed "$work/ours-run.txt" "$PROVENANT" verify-files "$root" >>"$work/ours-times.txt"
done

report() {  # name file
  local w c m
  w=$(cut -d' ' -f1 "$2" | median); c=$(cut -d' ' -f2 "$2" | median); m=$(cut -d' ' -f3 "$2" | median)
  printf '%-22s wall %7.2f s   cpu %7.2f s   peak RSS %6.0f MiB   (walls: %s)\n' "$1" "$w" "$c" "$(echo "$m / 1024" | bc -l)" "$(cut -d' ' -f1 "$2" | tr '\n' ' ')"
}
report "dpkg --verify" "$work/dpkg-times.txt"
report "provenant verify-files" "$work/ours-times.txt"
dw=$(cut -d' ' -f1 "$work/dpkg-times.txt" | median); ow=$(cut -d' ' -f1 "$work/ours-times.txt" | median)
echo "ratio (ours / dpkg, median wall): $(echo "scale=3; $ow / $dw" | bc -l) (target: at most 0.5)"

# The reports: dpkg's lines against ours for dpkg-owned files.
sort "$work/dpkg-verify.txt" >"$work/dpkg-lines.txt"
grep -v -e ' \[' -e '^verify-files:' -e '^$' "$work/verify-files.txt" | sort >"$work/ours-dpkg-lines.txt" || true
others=$(grep -c ' \[' "$work/verify-files.txt" || true)
echo "dpkg --verify: $(wc -l <"$work/dpkg-lines.txt") lines; verify-files: $(wc -l <"$work/ours-dpkg-lines.txt") dpkg lines, $others other findings (apk, Python, unowned)"
tail -1 "$work/verify-files.txt"
if diff "$work/dpkg-lines.txt" "$work/ours-dpkg-lines.txt" >"$work/lines.diff"; then
  echo "dpkg lines: identical"
else
  echo "dpkg lines differ (< dpkg only, > verify-files only):"; cat "$work/lines.diff"; exit 1
fi
