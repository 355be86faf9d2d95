#!/usr/bin/env bash
# tunbench set-up: installs only what is missing, then builds the C sink. Safe to run twice
# (the second run takes a few seconds). Needs root and Debian 12 (or a derivative).
#   bash scripts/setup.sh            everything a bench run needs
#   bash scripts/setup.sh --kernel   also what `tunbench kernel build` and kernel/build.sh need
#                                    (flex bison bc libelf-dev libssl-dev dwarves cpio rsync, linux-source-6.1)
#   bash scripts/setup.sh --test     also what the tests need: headless Chromium (report test), QEMU and
#                                    busybox (VM tests), debootstrap (fresh-machine test), and --kernel's set
# Every step that fails prints "tunbench setup: <step> failed: <cause>; <fix>" and exits non-zero.
set -Eeuo pipefail
cd "$(dirname "$0")/.."

want_test=0
want_kernel=0
for a in "$@"; do
  case "$a" in
    --test) want_test=1; want_kernel=1 ;;
    --kernel) want_kernel=1 ;;
    -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "tunbench setup: unknown option '$a'; use --test, --kernel or no option" >&2; exit 2 ;;
  esac
done

step="start"
fix="read the lines above, fix the cause, and run the same command again (it resumes where it stopped)"
trap 'rc=$?; echo "tunbench setup: ${step} failed: exit ${rc} at scripts/setup.sh line ${LINENO} (${BASH_COMMAND}); ${fix}" >&2; exit $rc' ERR

if [ "$(id -u)" -ne 0 ]; then
  echo "tunbench setup: run as root (it installs Debian packages; bench runs need root too)" >&2
  exit 2
fi
if ! command -v apt-get >/dev/null 2>&1 || ! command -v dpkg-query >/dev/null 2>&1; then
  echo "tunbench setup: this is not a Debian system (no apt-get/dpkg-query); install by hand what the README's 'Requirements' lists" >&2
  exit 2
fi

export DEBIAN_FRONTEND=noninteractive
# Another apt (unattended upgrades) may hold the dpkg lock: wait for it up to 5 minutes.
apt_opts=(-o DPkg::Lock::Timeout=300 -q)
apt_updated=0
apt_log=$(mktemp /tmp/tunbench-setup-apt.XXXXXX)
trap 'rm -f "$apt_log"' EXIT
# Runs an apt-get command quietly; on failure prints its last lines, then fails the step.
apt_run() {
  if ! apt-get "${apt_opts[@]}" "$@" >"$apt_log" 2>&1; then
    tail -n 15 "$apt_log" >&2
    return 1
  fi
}
apt_update() {
  if [ "$apt_updated" = 0 ]; then
    step="apt-get update"; fix="check the machine's apt sources (/etc/apt/sources.list.d/*.sources, /etc/apt/sources.list) and its network, then run again"
    apt_run update
    apt_updated=1
  fi
}
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

# Node.js itself, if the machine has none (Debian 12's nodejs is 18.19, enough for tunbench).
if ! command -v npm >/dev/null 2>&1; then
  echo "tunbench setup: installing nodejs and npm"
  apt_update
  step="installing nodejs npm"; fix="install Node.js 18.19 or newer with npm by hand, then run again"
  apt_run install -y nodejs npm
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
  sockperf            # request/response latency workloads (ping-pong) through the wire consumer
  iperf               # iperf 2: the IPv6 multicast sender of generator mcast (iperf3 has no multicast)
  ca-certificates     # npm ci over https
)
# `tunbench kernel build` and kernel/build.sh (the two-kernel tests need them).
[ "$want_kernel" = 1 ] && pkgs+=(flex bison bc libelf-dev libssl-dev dwarves cpio perl rsync linux-source-6.1 xz-utils patch git)
# report test (Chromium); VM tests (busybox initramfs); fresh-machine test (debootstrap).
[ "$want_test" = 1 ] && pkgs+=(chromium busybox-static debootstrap)

missing=()
for p in "${pkgs[@]}"; do installed "$p" || missing+=("$p"); done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "tunbench setup: installing ${missing[*]}"
  apt_update
  step="installing ${missing[*]}"; fix="install them with apt-get by hand to see why, then run again"
  apt_run install -y --no-install-recommends "${missing[@]}"
fi

# debian_uri: the Debian archive as this machine's apt sources name it.
. scripts/debian-uri.sh

# QEMU for the VM target and the VM tests: from bookworm-backports (QEMU 10). Debian 12's own
# QEMU 7.2 corrupts programs in multi-threaded TCG guests now and then (segfaults, parse errors
# of good files: ../shared/platform-notes.md); the runner falls back to single-threaded TCG on
# such a QEMU, 1.8x slower. Only with --test, or when QEMU is already wanted (TUNBENCH_QEMU=1).
if [ "$want_test" = 1 ] || [ "${TUNBENCH_QEMU:-0}" = 1 ]; then
  qemu_major=""
  if command -v qemu-system-x86_64 >/dev/null 2>&1; then
    qemu_major=$(qemu-system-x86_64 --version 2>/dev/null | sed -n 's/^QEMU emulator version \([0-9]*\).*/\1/p' || true)
  fi
  if [ -z "$qemu_major" ] || [ "$qemu_major" -lt 8 ]; then
    codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
    if [ "$codename" = bookworm ]; then
      if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
        uri=$(debian_uri)
        if [ -z "$uri" ]; then
          echo "tunbench setup: adding bookworm-backports failed: no Debian archive URI in /etc/apt/sources.list.d/*.sources or /etc/apt/sources.list; add a line 'deb <your Debian mirror> bookworm-backports main' to /etc/apt/sources.list.d/backports.list and run again" >&2
          exit 1
        fi
        printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$uri" \
          > /etc/apt/sources.list.d/tunbench-bookworm-backports.sources
        apt_updated=0
      fi
      echo "tunbench setup: installing qemu-system-x86 from bookworm-backports"
      apt_update
      step="installing qemu-system-x86 from bookworm-backports"; fix="run 'apt-get install -t bookworm-backports qemu-system-x86' by hand to see why, then run again"
      apt_run install -y --no-install-recommends -t bookworm-backports qemu-system-x86
    else
      echo "tunbench setup: installing qemu-system-x86"
      apt_update
      step="installing qemu-system-x86"; fix="install QEMU 8 or newer by hand, then run again"
      apt_run install -y --no-install-recommends qemu-system-x86
    fi
  fi
fi

# Node dependencies: only when package-lock.json changed since the last install.
stamp=node_modules/.tunbench-lock-hash
hash=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$hash" ]; then
  echo "tunbench setup: npm ci"
  step="npm ci"; fix="check that the npm registry is reachable (npm ping) and that the canvas build packages are installed, then run again"
  npm ci --no-fund --no-audit --loglevel=error
  echo "$hash" > "$stamp"
fi

# The sink consumer (C).
step="building the sink (make -C sink)"; fix="check that build-essential is installed (dpkg -s build-essential), then run again"
make -s -C sink

# tracefs for the probes.
if [ ! -d /sys/kernel/tracing/events ] && [ -d /sys/kernel/tracing ]; then
  mount -t tracefs nodev /sys/kernel/tracing || echo "tunbench setup: warning: could not mount tracefs at /sys/kernel/tracing; the probes need it (mount -t tracefs nodev /sys/kernel/tracing)" >&2
fi
echo "tunbench setup: ready"
