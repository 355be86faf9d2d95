#!/usr/bin/env bash
# Build a small x86_64 kernel from Debian's linux-source-6.1 with the tun
# sk_receive_queue patch. One command; a cached build is reused.
# Output: .cache/kernel/build-<hash>/bzImage, printed on the last line.
# Env: JOBS (default: nproc).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
cache="$root/.cache/kernel"
patch="$here/patches/0001-tun-add-sk_receive_queue-mode.patch"
fragment="$here/config.fragment"
jobs=${JOBS:-$(nproc)}

need=()
for p in linux-source-6.1 flex bison libelf-dev libssl-dev bc dwarves cpio kmod build-essential; do
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
hash=$(cat <(echo "$version") "$patch" "$fragment" "$0" | sha256sum | cut -c1-12)
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

# The tree holds at most one applied patch: revert the previous one first.
applied="$src/.tunbench-applied.patch"
if [[ -f $applied ]]; then
  if ! cmp -s "$applied" "$patch"; then
    patch -d "$src" -p1 -R -s < "$applied"
    rm "$applied"
  fi
fi
if [[ ! -f $applied ]]; then
  patch -d "$src" -p1 -s --no-backup-if-mismatch < "$patch"
  cp "$patch" "$applied"
fi

obj="$cache/obj-$hash"
mkdir -p "$obj"
start=$(date +%s)
make -C "$src" O="$obj" ARCH=x86_64 -s tinyconfig >&2
"$src/scripts/kconfig/merge_config.sh" -m -O "$obj" "$obj/.config" "$fragment" >&2
make -C "$src" O="$obj" ARCH=x86_64 -s olddefconfig >&2
# Every fragment line must have survived olddefconfig (a dependency missing
# from the fragment would silently drop an option).
missing=0
while IFS= read -r line; do
  [[ $line =~ ^CONFIG_([A-Z0-9_]+)=(.*)$ ]] || continue
  opt=${BASH_REMATCH[1]} val=${BASH_REMATCH[2]}
  if [[ $val == n ]]; then
    grep -q "^CONFIG_$opt=" "$obj/.config" && { echo "config: CONFIG_$opt should be off" >&2; missing=1; }
  else
    grep -qx "CONFIG_$opt=$val" "$obj/.config" || { echo "config: CONFIG_$opt=$val not set" >&2; missing=1; }
  fi
done < "$fragment"
((missing == 0)) || { echo "error: config fragment not fully applied (see above)" >&2; exit 1; }

make -C "$src" O="$obj" ARCH=x86_64 -j"$jobs" -s bzImage >&2
mkdir -p "$out.tmp"
cp "$obj/arch/x86/boot/bzImage" "$obj/.config" "$out.tmp/"
make -C "$src" O="$obj" ARCH=x86_64 -s INSTALL_HDR_PATH="$out.tmp/headers" headers_install >&2
rm -rf "$out" && mv "$out.tmp" "$out"
echo "built in $(( $(date +%s) - start )) s" >&2
echo "$out/bzImage"
