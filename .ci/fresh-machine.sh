#!/usr/bin/env bash
# The fresh-machine test: the README's two set-up commands on a Debian 12 machine that has
# nothing (no Node.js, no QEMU, no build tools), then the unit tests under the Node.js that
# set-up installed there (Debian's nodejs 18).
#
# What it does, every time .ci/run runs:
#   1. a Debian 12 (bookworm) minbase root file system, debootstrapped from THIS machine's apt
#      sources (the first Debian URI in /etc/apt/sources.list.d/*.sources or sources.list; no
#      host name is written into the project), kept as a tarball in the cache (below) and
#      rebuilt each ISO week or when the mirror URI or debootstrap's version changes;
#   2. the clone's tracked files (git ls-files, working-tree contents) copied into it, so the
#      clone itself is untouched (set-up writes node_modules and builds the sink in the tree);
#   3. inside it, with chroot in a private mount and PID namespace (/proc, a fresh /sys, /dev
#      and whatever set-up mounts, tracefs, vanish with the namespace; a trap unmounts them
#      too, and findmnt checks afterwards that nothing is left):
#        bash scripts/setup.sh            (the README's first command: Node.js from apt, npm ci
#                                          with canvas built from source, the sink)
#        bash scripts/setup.sh --test     (the second: chromium, QEMU from bookworm-backports
#                                          found through the chroot's own sources.list, the
#                                          kernel build packages, linux-source-6.1, debootstrap)
#        bash scripts/setup.sh --test     (again: must change nothing and take seconds)
#        npm run test:unit                (every unit test, under Debian's Node 18)
#      A set-up that fails must say so: a non-zero exit without a "tunbench setup:" line on
#      stderr is reported as a silent failure.
# What it does not cover: the integration tests (traffic, VMs, probes) inside the chroot: its
# network is the host's (no namespace of its own), so no traffic is generated there.
#
# Cache (kept between CI runs on the same machine; a new machine starts cold):
#   ${TUNBENCH_FRESH_CACHE:-/var/cache/tunbench/fresh-machine}/
#     rootfs-bookworm-minbase-<ISO week>-<key>.tar.zst    the debootstrapped root file system
#     apt-archives/    the .deb files apt downloaded inside the chroot (its /var/cache/apt/archives;
#                      `apt-get autoclean` there drops what the archive no longer has)
#     npm/             npm's cache (the chroot's /root/.npm)
# Costs (2 cores, this machine): see the README's "Tests" section (cold and cached).
#
# Only for speed, and outside what is tested: dpkg runs with force-unsafe-io in the chroot (no
# fsync per file), and a policy-rc.d stops packages from starting services.
#
# Usage: bash .ci/fresh-machine.sh [--setup FILE] [--keep]
#   --setup FILE   use FILE as scripts/setup.sh inside the chroot (e.g. an older version, to see
#                  the test fail on it)
#   --keep         keep the chroot's folder (its logs and tree) after the run
# Exit: 0 pass; 1 a step failed (named on stderr); 2 cannot run here (not root, no debootstrap,
# no Debian URI in the apt sources).
set -Eeuo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

setup_override=""
keep=0
while [ $# -gt 0 ]; do
  case "$1" in
    --setup) setup_override=$(realpath "$2"); shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) sed -n '2,48p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "fresh-machine: unknown option '$1' (--setup FILE, --keep)" >&2; exit 2 ;;
  esac
done

say() { echo "fresh-machine: $*" >&2; }
if [ "$(id -u)" -ne 0 ]; then say "run as root (debootstrap, chroot and mounts need it)"; exit 2; fi
for tool in debootstrap unshare chroot findmnt zstd git; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    say "'$tool' is missing; 'bash scripts/setup.sh --test' installs debootstrap (the others are in Debian's util-linux, coreutils, zstd and git)"
    exit 2
  fi
done

# debian_uri: the Debian archive as this machine's apt sources name it.
. "$repo/scripts/debian-uri.sh"
mirror=$(debian_uri)
if [ -z "$mirror" ]; then
  say "no Debian archive URI in /etc/apt/sources.list.d/*.sources or /etc/apt/sources.list; add this machine's Debian mirror there (for example a line 'deb <mirror URI> bookworm main' in /etc/apt/sources.list) and run again"
  exit 2
fi

cache=${TUNBENCH_FRESH_CACHE:-/var/cache/tunbench/fresh-machine}
mkdir -p "$cache/apt-archives/partial" "$cache/npm"
key=$(printf '%s\n' bookworm minbase "$mirror" "$(debootstrap --version)" | sha256sum | cut -c1-12)
tarball="$cache/rootfs-bookworm-minbase-$(date -u +%G-W%V)-$key.tar.zst"

work=$(mktemp -d /var/tmp/tunbench-fresh.XXXXXX)
root="$work/root"
logs="$work/logs"
mkdir -p "$root" "$logs"
# Nothing may stay mounted under the work folder; only then is it removed (one file system).
finish() {
  local rc=$?
  trap - EXIT
  local left
  left=$(findmnt -rn -o TARGET | grep -F "$work" || true)
  if [ -n "$left" ]; then
    say "mounts left under $work after the run (not removing it): $left"
    rc=1
  elif [ "$keep" = 1 ] || [ "$rc" -ne 0 ]; then
    rm -rf --one-file-system "$root"
    say "kept the logs in $logs"
  else
    rm -rf --one-file-system "$work"
  fi
  exit "$rc"
}
trap finish EXIT

t0=$(date +%s)
timings=()
stamp() { timings+=("$(printf '%-32s %5d s' "$1" "$(( $(date +%s) - $2 ))")"); }

# 1. The root file system: from the cache, or debootstrapped (and cached) now.
t=$(date +%s)
if [ -f "$tarball" ]; then
  tar -C "$root" --zstd -xpf "$tarball"
  stamp "root fs from the cache" "$t"
else
  say "debootstrap bookworm minbase from $mirror (cold: no $tarball)"
  if ! debootstrap --variant=minbase bookworm "$root" "$mirror" >"$logs/debootstrap.log" 2>&1; then
    tail -n 20 "$logs/debootstrap.log" >&2
    say "debootstrap failed (log: $logs/debootstrap.log); check the mirror URI '$mirror' from this machine's apt sources"
    exit 1
  fi
  rm -f "$root"/var/cache/apt/archives/*.deb
  find "$cache" -maxdepth 1 -name 'rootfs-bookworm-minbase-*.tar.zst' -delete
  tar -C "$root" --zstd -cpf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
  stamp "debootstrap (cold) + cache" "$t"
fi

# Outside what is tested, for speed and safety: no fsync per file, no services started.
echo force-unsafe-io > "$root/etc/dpkg/dpkg.cfg.d/tunbench-unsafe-io"
printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d"
chmod +x "$root/usr/sbin/policy-rc.d"
# What ties this machine to its network, as a new machine on the same network would have it:
# the resolver, the machine's own CA certificates (a TLS-inspecting proxy's, for one: the
# ca-certificates package that set-up installs adds them to the system bundle) and, when set
# here, NODE_EXTRA_CA_CERTS (Node.js does not read the system bundle by itself).
cp -L /etc/resolv.conf "$root/etc/resolv.conf"
if compgen -G '/usr/local/share/ca-certificates/*' >/dev/null; then
  mkdir -p "$root/usr/local/share/ca-certificates"
  cp -rL /usr/local/share/ca-certificates/. "$root/usr/local/share/ca-certificates/"
fi

# 2. The clone's tracked files (as they are in the working tree), not the clone itself.
t=$(date +%s)
mkdir -p "$root/root/tunbench"
git ls-files -z | while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done \
  | tar --null -T - -cf - | tar -C "$root/root/tunbench" -xf -
if [ -n "$setup_override" ]; then
  cp "$setup_override" "$root/root/tunbench/scripts/setup.sh"
  say "scripts/setup.sh inside the chroot is $setup_override"
fi
stamp "copy of the tracked files" "$t"

# 3. Inside: a private mount and PID namespace; every mount made in it goes with it.
cat > "$work/inside.sh" <<'INSIDE'
set -Eeuo pipefail
root=$1; logs=$2; cache=$3; extra_ca=$4
umount_all() {
  for m in $(findmnt -rn -o TARGET | grep -F "$root/" | sort -r); do umount -l "$m" 2>/dev/null || true; done
}
trap umount_all EXIT
mount -t proc proc "$root/proc"
mount -t sysfs sysfs "$root/sys"
mount --rbind /dev "$root/dev"
mount --bind "$cache/apt-archives" "$root/var/cache/apt/archives"
mkdir -p "$root/root/.npm"
mount --bind "$cache/npm" "$root/root/.npm"
steps=(
  "setup|bash scripts/setup.sh"
  "setup --test|bash scripts/setup.sh --test"
  "setup --test (again)|bash scripts/setup.sh --test"
  "npm run test:unit|npm run test:unit"
)
for s in "${steps[@]}"; do
  name=${s%%|*}; cmd=${s#*|}
  log="$logs/${name//[^a-z]/_}"
  t=$(date +%s)
  set +e
  chroot "$root" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    HOME=/root LANG=C.UTF-8 TERM=dumb ${extra_ca:+NODE_EXTRA_CA_CERTS=$extra_ca} bash -c "cd /root/tunbench && $cmd" >"$log.out" 2>"$log.err"
  rc=$?
  set -e
  echo "$name|$rc|$(( $(date +%s) - t ))"
  if [ "$rc" -ne 0 ]; then
    exit 0
  fi
done
chroot "$root" node --version > "$logs/node-version" 2>&1 || true
chroot "$root" qemu-system-x86_64 --version 2>/dev/null | head -n 1 > "$logs/qemu-version" || true
chroot "$root" apt-get -q autoclean >/dev/null 2>&1 || true
INSIDE
t=$(date +%s)
set +e
unshare --mount --propagation private --pid --fork --kill-child \
  bash "$work/inside.sh" "$root" "$logs" "$cache" "${NODE_EXTRA_CA_CERTS:-}" >"$logs/steps" 2>"$logs/inside.err"
inside_rc=$?
set -e

failed=""
while IFS='|' read -r name rc secs; do
  timings+=("$(printf '%-32s %5d s' "$name" "$secs")")
  [ "$rc" = 0 ] && continue
  log="$logs/${name//[^a-z]/_}"
  if [[ "$name" == setup* ]] && ! grep -q '^tunbench setup: ' "$log.err"; then
    failed="'$name' exited $rc WITHOUT A WORD (no 'tunbench setup:' line on stderr): set-up failed silently"
  else
    failed="'$name' exited $rc"
  fi
  say "$failed; its last lines:"
  tail -n 25 "$log.out" | sed 's/^/  | /' >&2
  tail -n 25 "$log.err" | sed 's/^/  ! /' >&2
done < "$logs/steps"
steps_run=$(wc -l < "$logs/steps")
if [ -z "$failed" ] && { [ "$inside_rc" -ne 0 ] || [ "$steps_run" -lt 4 ]; }; then
  failed="the chroot run stopped early (exit $inside_rc, $steps_run of 4 steps)"
  say "$failed:"; tail -n 20 "$logs/inside.err" >&2
fi
if [ -z "$failed" ]; then
  again=$(awk -F'|' '$1 == "setup --test (again)" { print $3 }' "$logs/steps")
  if [ "${again:-999}" -gt 60 ]; then failed="the second 'setup.sh --test' took ${again} s: it should change nothing"; say "$failed"; fi
  if ! grep -q '^# pass [1-9]' "$logs/npm_run_test_unit.out" || ! grep -q '^# fail 0' "$logs/npm_run_test_unit.out"; then
    failed="the unit tests did not all pass"; say "$failed"
  fi
  node_v=$(cat "$logs/node-version" 2>/dev/null || echo '?')
  timings+=("$(printf '%-32s %s' "node in the chroot" "$node_v")")
  timings+=("$(printf '%-32s %s' "qemu in the chroot" "$(cat "$logs/qemu-version" 2>/dev/null || echo '?')")")
fi
timings+=("$(printf '%-32s %5d s' "total" "$(( $(date +%s) - t0 ))")")
printf 'fresh-machine: %s\n' "${timings[@]}" >&2
if [ -n "$failed" ]; then
  say "FAILED: $failed (logs: $logs)"
  exit 1
fi
say "passed: both README set-up commands and the unit tests on a fresh Debian 12 minbase"
