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

export DEBIAN_FRONTEND=noninteractive
# Another apt (unattended upgrades) may hold the dpkg lock: wait for it up to 5 minutes.
apt_opts=(-o DPkg::Lock::Timeout=300 -q)
apt_updated=0
apt_update() {
  if [ "$apt_updated" = 0 ]; then apt-get "${apt_opts[@]}" update >/dev/null; apt_updated=1; fi
}

# Node.js itself, if the machine has none (Debian 12's nodejs is 18.19, enough for tunbench).
if ! command -v npm >/dev/null 2>&1; then
  echo "tunbench setup: installing nodejs and npm"
  apt_update
  apt-get "${apt_opts[@]}" install -y nodejs npm >/dev/null
fi

# Debian packages: tool -> package. Only missing ones are installed.
pkgs=(
  bpftrace            # the probes
  netsniff-ng         # trafgen, the generator where pktgen is absent
  iproute2            # ip netns / ip tuntap
  build-essential     # the C sink
  pkg-config libcairo2-dev libpango1.0-dev libjpeg-dev libgif-dev librsvg2-dev   # canvas (PNG charts) builds from source
  kmod                # modprobe/modinfo for pktgen and vhost_net detection
  bpftool             # tun's struct offsets from BTF (module BTF too), for the counters-level sampler
  iperf3              # TCP/UDP flow workloads through the wire consumer
)
[ "$want_test" = 1 ] && pkgs+=(chromium busybox-static)   # report test; VM tests (busybox initramfs)

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "tunbench setup: installing ${missing[*]}"
  apt_update
  apt-get "${apt_opts[@]}" install -y --no-install-recommends "${missing[@]}" >/dev/null
fi

# QEMU for the VM target and the VM tests: from bookworm-backports (QEMU 10). Debian 12's own
# QEMU 7.2 corrupts programs in multi-threaded TCG guests now and then (segfaults, parse errors
# of good files: ../shared/platform-notes.md); the runner falls back to single-threaded TCG on
# such a QEMU, 1.8x slower. Only with --test, or when QEMU is already wanted (TUNBENCH_QEMU=1).
if [ "$want_test" = 1 ] || [ "${TUNBENCH_QEMU:-0}" = 1 ]; then
  qemu_major=$(qemu-system-x86_64 --version 2>/dev/null | sed -n 's/^QEMU emulator version \([0-9]*\).*/\1/p')
  if [ -z "$qemu_major" ] || [ "$qemu_major" -lt 8 ]; then
    codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
    if [ "$codename" = bookworm ]; then
      src=/etc/apt/sources.list.d/tunbench-bookworm-backports.sources
      if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
        printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' > "$src"
        apt_updated=0
      fi
      echo "tunbench setup: installing qemu-system-x86 from bookworm-backports"
      apt_update
      apt-get "${apt_opts[@]}" install -y --no-install-recommends -t bookworm-backports qemu-system-x86 >/dev/null
    else
      echo "tunbench setup: installing qemu-system-x86"
      apt_update
      apt-get "${apt_opts[@]}" install -y --no-install-recommends qemu-system-x86 >/dev/null
    fi
  fi
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
