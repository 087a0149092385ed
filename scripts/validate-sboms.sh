#!/usr/bin/env bash
# Validates every SBOM in DIR: *.cdx.json against the CycloneDX 1.6 JSON schema shipped in
# cyclonedx-python-lib, *.spdx.json with spdx-tools, *.sarif against the OASIS SARIF 2.1.0 schema (validate_sarif.py). Fails if a file
# is invalid or none were written.
set -euo pipefail
dir="${1:?usage: validate-sboms.sh DIR}"
schema_dir="$(python3 -c 'import cyclonedx, os; print(os.path.join(os.path.dirname(cyclonedx.__file__), "schema", "_res"))')"
shopt -s nullglob
cdx=("$dir"/*.cdx.json); spdx=("$dir"/*.spdx.json); sarif=("$dir"/*.sarif)
if [ ${#cdx[@]} -eq 0 ] || [ ${#spdx[@]} -eq 0 ] || [ ${#sarif[@]} -eq 0 ]; then
  echo "validate-sboms: expected CycloneDX, SPDX and SARIF files in $dir, found ${#cdx[@]}, ${#spdx[@]} and ${#sarif[@]}" >&2
  exit 1
fi
python3 "$(dirname "$0")/validate_cdx.py" "${cdx[@]}"
python3 "$(dirname "$0")/validate_sarif.py" "${sarif[@]}"
failed=0
for f in "${spdx[@]}"; do
  out="$(pyspdxtools -i "$f" 2>&1)" || { echo "$f: $out" >&2; failed=1; continue; }
  if [ -n "$out" ]; then echo "$f: $out" >&2; failed=1; fi
done
[ $failed -eq 0 ] || exit 1
echo "validate-sboms: ${#cdx[@]} CycloneDX, ${#spdx[@]} SPDX and ${#sarif[@]} SARIF documents valid"
