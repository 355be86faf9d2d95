#!/usr/bin/env bash
# tunbench set-up: installs only what is missing, then builds the C sink. Safe to run twice
# (the second run takes a few seconds). Needs root and Debian 12 (or a derivative).
#   bash scripts/setup.sh          everything a bench run needs
#   bash scripts/setup.sh --test   also what the tests need (headless Chromium for the report test,
#                                  QEMU and busybox for the kernel patch test)
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
[ "${1:-}" = "--test" ] && want_test=1

if [ "$(id -u)" -ne 0 ]; then
  echo "tunbench setup: run as root (it installs Debian packages; bench runs need root too)" >&2
  exit 2
fi

# Node.js itself, if the machine has none (Debian 12's nodejs is 18.19, enough for tunbench).
if ! command -v npm >/dev/null 2>&1; then
  echo "tunbench setup: installing nodejs and npm"
  DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q nodejs npm >/dev/null
fi

# Debian packages: tool -> package. Only missing ones are installed.
pkgs=(
  bpftrace            # the probes
  netsniff-ng         # trafgen, the generator where pktgen is absent
  iproute2            # ip netns / ip tuntap
  build-essential     # the C sink
  pkg-config libcairo2-dev libpango1.0-dev libjpeg-dev libgif-dev librsvg2-dev   # canvas (PNG charts) builds from source
  kmod                # modprobe/modinfo for pktgen and vhost_net detection
)
[ "$want_test" = 1 ] && pkgs+=(chromium qemu-system-x86 busybox-static)   # report test; kernel patch test in a TCG VM

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "tunbench setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi

# Node dependencies: only when package-lock.json changed since the last install.
stamp=node_modules/.tunbench-lock-hash
hash=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$hash" ]; then
  echo "tunbench setup: npm ci"
  npm ci --no-fund --no-audit --loglevel=error
  echo "$hash" > "$stamp"
fi

# The sink consumer (C).
make -s -C sink

# tracefs for the probes.
if [ ! -d /sys/kernel/tracing/events ] && [ -d /sys/kernel/tracing ]; then
  mount -t tracefs nodev /sys/kernel/tracing || echo "tunbench setup: warning: could not mount tracefs" >&2
fi
echo "tunbench setup: ready"
