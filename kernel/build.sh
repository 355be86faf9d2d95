#!/usr/bin/env bash
# Build a small x86_64 kernel from Debian's linux-source-6.1 with tunbench's tun
# patches (kernel/patches/*.patch, applied in name order: the sk_receive_queue
# queue_mode switch, the backpressure switch). One command; a cached build is reused.
# Output: .cache/kernel/build-<hash>/bzImage (+ .config, headers/), printed on the last line;
# the configure + build step is `tunbench kernel build` (one recipe for both).
# Env: JOBS (default: nproc).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
cache="$root/.cache/kernel"
patches=("$here"/patches/*.patch)
[[ -f ${patches[0]} ]] || { echo "error: no patch in $here/patches" >&2; exit 1; }
fragment="$here/config.fragment"
jobs=${JOBS:-$(nproc)}

need=()
for p in linux-source-6.1 flex bison libelf-dev libssl-dev bc dwarves cpio rsync kmod build-essential; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if ((${#need[@]})); then
  echo "installing: ${need[*]}" >&2
  [[ $(id -u) == 0 ]] || { echo "error: missing packages ${need[*]}; run as root or install them" >&2; exit 1; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y "${need[@]}" >&2
fi

tarball=/usr/src/linux-source-6.1.tar.xz
[[ -f $tarball ]] || { echo "error: $tarball missing (apt-get install linux-source-6.1)" >&2; exit 1; }
version=$(dpkg-query -W -f '${Version}' linux-source-6.1)
# The key covers every patch by name and content: adding, changing or removing one rebuilds.
hash=$(cat <(echo "$version") <(cd "$here/patches" && for p in *.patch; do echo "$p"; done) "${patches[@]}" "$fragment" "$0" "$root/src/kernel/tree-build.ts" | sha256sum | cut -c1-12)
src="$cache/src-$version"
out="$cache/build-$hash"

if [[ -f $out/bzImage ]]; then
  echo "reusing $out" >&2
  echo "$out/bzImage"
  exit 0
fi

mkdir -p "$cache"
if [[ ! -f $src/.tunbench-unpacked ]]; then
  echo "unpacking $tarball into $src" >&2
  rm -rf "$src" "$src.tmp" && mkdir -p "$src.tmp"
  tar -xJf "$tarball" -C "$src.tmp" --strip-components=1
  mv "$src.tmp" "$src" && touch "$src/.tunbench-unpacked"
fi

# The tree holds one applied series, recorded patch by patch in $applied as each applies:
# a different series is reverted (last patch first) before the current one is applied.
applied="$src/.tunbench-applied"
legacy="$src/.tunbench-applied.patch"   # the single patch an earlier build.sh recorded
if [[ -f $legacy ]]; then
  patch -d "$src" -p1 -R -s < "$legacy"
  rm "$legacy"
fi
if [[ -d $applied ]] && ! diff -rq "$applied" "$here/patches" >/dev/null 2>&1; then
  for p in $(ls "$applied"/*.patch 2>/dev/null | sort -r); do
    patch -d "$src" -p1 -R -s < "$p"
    rm "$p"
  done
  rm -rf "$applied"
fi
if [[ ! -d $applied ]]; then
  mkdir -p "$applied"
  for p in "${patches[@]}"; do
    patch -d "$src" -p1 -s --no-backup-if-mismatch < "$p"
    cp "$p" "$applied/"
  done
fi

# Configure and build: the same recipe as `tunbench kernel build PATH` (src/kernel/tree-build.ts:
# tinyconfig + config.fragment, every fragment line checked, bzImage out of tree), which caches
# it in $cache/tree-<key>/ keyed by the tree's files and the fragment. This folder adds the
# uapi headers kernel/test/selftest-vm.sh compiles against.
[[ -f $root/node_modules/tsx/package.json ]] || { echo "error: node_modules missing; run bash scripts/setup.sh first" >&2; exit 1; }
start=$(date +%s)
image=$(node "$root/bin/tunbench.js" kernel build "$src" ${JOBS:+--jobs "$JOBS"} | tail -n1)
[[ -f $image ]] || { echo "error: tunbench kernel build printed no bzImage" >&2; exit 1; }
rm -rf "$out.tmp" && mkdir -p "$out.tmp"
cp "$image" "$(dirname "$image")/.config" "$out.tmp/"
hdrobj="$cache/obj-headers-$hash"
rm -rf "$hdrobj" && mkdir -p "$hdrobj"
make -C "$src" O="$hdrobj" ARCH=x86_64 -s INSTALL_HDR_PATH="$out.tmp/headers" headers_install >&2
rm -rf "$hdrobj"
rm -rf "$out" && mv "$out.tmp" "$out"
echo "built in $(( $(date +%s) - start )) s" >&2
echo "$out/bzImage"
