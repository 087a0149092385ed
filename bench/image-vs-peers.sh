#!/usr/bin/env bash
# Builds real images as docker archives and catalogs each with syft (docker-archive:), trivy (image
# --input, offline, licenses only) and Provenant (sbom docker-archive:). Prints median wall time and
# peak memory per tool and image (RUNS repetitions, default 5), the ratios against the faster and the
# smaller peer, and the package counts.
#   debian: debootstrap --variant=minbase bookworm, one layer (about 90 packages);
#   agent:  debian plus a layer of Python, npm and Java packages (the agent-like tree, when
#           ../shared/bench/make-bench-tree.sh is there) and a layer that deletes and replaces files;
#   (trivy is told to skip jars: offline, without its Java database, it stops at the first jar;
#   so its figures for the agent image leave out the jar work the others do)
#   big:    debian plus 1 GiB of incompressible files in a second layer, to show that memory does not
#           grow with the image's size.
# Each repack refreshes the bundle, so the next one adds a layer on top (umoci 0.4 otherwise rebases
# every repack on the unpacked image, and the archive held one layer).
# IMAGES_ONLY=1 builds the archives and stops. Needs: debootstrap, umoci, skopeo, /usr/bin/time (Debian packages) and root (debootstrap, umoci).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"; repo="$(dirname "$here")"
runs="${RUNS:-5}"
work="$here/out/images"; tools="$here/tools"
mkdir -p "$work" "$tools"

. "$here/peers.sh"
fetch_peers
for t in debootstrap umoci skopeo; do command -v "$t" >/dev/null || { echo "needs $t (apt-get install $t)" >&2; exit 2; }; done
command -v /usr/bin/time >/dev/null || { echo "needs /usr/bin/time (apt-get install time)" >&2; exit 2; }

root="$repo/.build-images/debian-bookworm"
if [ ! -f "$repo/.build-images/debian-bookworm.complete" ]; then
  mkdir -p "$repo/.build-images"; rm -rf "$root"
  debootstrap --variant=minbase bookworm "$root" http://deb.debian.org/debian >/dev/null
  touch "$repo/.build-images/debian-bookworm.complete"
fi

# image NAME: builds $work/NAME.tar from the layers the function `layers_NAME BUNDLE_ROOTFS STEP` adds.
build_image() {
  local name="$1" layout="$work/$1-layout" bundle="$work/$1-bundle"
  [ -f "$work/$name.tar" ] && return
  rm -rf "$layout" "$bundle"
  umoci init --layout "$layout"; umoci new --image "$layout:img"
  umoci unpack --image "$layout:img" "$bundle" >/dev/null
  cp -a "$root/." "$bundle/rootfs/"
  umoci repack --refresh-bundle --image "$layout:img" "$bundle"
  "layers_$name" "$bundle" "$layout"
  umoci config --image "$layout:img" --config.cmd /bin/bash --config.user 1000
  skopeo copy --quiet "oci:$layout:img" "docker-archive:$work/$name.tar:bench/$name:v1"
  rm -rf "$layout" "$bundle"
}
layers_debian() { :; }
layers_agent() {
  local bundle="$1" layout="$2" shared="$repo/../shared/bench/make-bench-tree.sh"
  if [ -x "$shared" ] || [ -f "$shared" ]; then
    rm -rf "$work/agent-tree"; bash "$shared" "$work/agent-tree" >/dev/null
    mkdir -p "$bundle/rootfs/app" && cp -a "$work/agent-tree/." "$bundle/rootfs/app/"
    rm -rf "$work/agent-tree"
  else
    mkdir -p "$bundle/rootfs/usr/share/java"
    find /usr/share/java -name '*.jar' -size -20M 2>/dev/null | head -100 | while read -r j; do cp "$j" "$bundle/rootfs/usr/share/java/"; done
  fi
  umoci repack --refresh-bundle --image "$layout:img" "$bundle"
  # A layer that deletes (whiteouts) and replaces files, as an apt-get purge or a rebuild would.
  rm -rf "$bundle/rootfs/usr/share/doc/"[a-f]* "$bundle/rootfs/usr/share/man"
  echo replaced >"$bundle/rootfs/etc/hostname"
  umoci repack --refresh-bundle --image "$layout:img" "$bundle"
}
layers_big() {
  local bundle="$1" layout="$2"
  mkdir -p "$bundle/rootfs/data"
  for i in $(seq 1 128); do head -c $((8 << 20)) /dev/urandom >"$bundle/rootfs/data/blob-$i.bin"; done
  umoci repack --refresh-bundle --image "$layout:img" "$bundle"
}
for img in debian agent big; do build_image "$img"; done

[ -n "${IMAGES_ONLY:-}" ] && { ls -l "$work"/*.tar; exit 0; }
# PROVENANT=path/to/provenant uses that build instead of building one here.
if [ -z "${PROVENANT:-}" ]; then (cd "$repo" && swift build -c release --static-swift-stdlib --product provenant >/dev/null); PROVENANT="$repo/.build/release/provenant"; fi
prov="$PROVENANT"

count() { python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1])).get("components",[])))' "$1"; }

export TRIVY_CACHE_DIR="$work/trivy-cache" SYFT_CHECK_FOR_APP_UPDATE=false
printf '%-7s %9s %-10s %10s %9s %11s\n' image size_MiB tool median_s peak_MiB components
for img in debian agent big; do
  a="$work/$img.tar"; size=$(( $(stat -c %s "$a") >> 20 ))
  r_s=$(measure syft "$work/$img-syft.json" "$tools/syft" scan "docker-archive:$a" -o cyclonedx-json -q)
  r_t=$(measure trivy "$work/$img-trivy.json" "$tools/trivy" image --input "$a" --cache-backend memory --offline-scan --skip-db-update --skip-java-db-update --skip-files '**/*.jar' --scanners license --format cyclonedx --quiet)
  r_p=$(measure provenant "$work/$img-provenant.json" "$prov" sbom "docker-archive:$a" --quiet)
  for r in "$r_s" "$r_t" "$r_p"; do
    set -- $r
    printf '%-7s %9s %-10s %10s %9s %11s\n' "$img" "$size" "$1" "$2" "$3" "$(count "$work/$img-$1.json")"
  done
  set -- $r_s; st=$2; sm=$3; set -- $r_t; tt=$2; tm=$3; set -- $r_p; pt=$2; pm=$3
  python3 - "$img" "$st" "$tt" "$pt" "$sm" "$tm" "$pm" <<'PY'
import sys
img, st, tt, pt, sm, tm, pm = sys.argv[1], *map(float, sys.argv[2:])
print(f"{img:7s} provenant/faster-peer wall = {pt / min(st, tt):.2f} (target <= 0.5); "
      f"provenant/smaller-peer memory = {pm / min(sm, tm):.2f} (target <= 1)")
PY
done
