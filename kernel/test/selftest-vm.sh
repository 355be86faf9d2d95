#!/usr/bin/env bash
# Boot the kernel built by kernel/build.sh under QEMU TCG with a busybox
# initramfs and run, once with tun.queue_mode=ring and once with skq:
#   - the kernel's own tun selftest (tools/testing/selftests/net/tun.c),
#   - kernel/test/tunq.c (the switch selects the queue; drops, poll, reads);
# then, in ring mode, kernel/test/tunbp.c with tun.backpressure on and off under noqueue,
# pfifo_fast and fq_codel (stop at a full ring, wake on drain, drops by place, exact
# accounting; iproute2's tc from the host, with its libraries, as /bin/iptc).
# Prints one PASS/FAIL line per check and a summary; exit 0 only if all pass.
# Usage: kernel/test/selftest-vm.sh [BZIMAGE]   (default: kernel/build.sh output)
# Env: VM_TIMEOUT seconds (default 300). Console log: .cache/kernel/vm/console.log
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bz=${1:-$("$root/kernel/build.sh" | tail -n1)}
[[ -f $bz ]] || { echo "error: no bzImage at $bz" >&2; exit 1; }
bz=$(realpath "$bz")
build=$(dirname "$bz")
src=$(ls -d "$root"/.cache/kernel/src-*/ | head -n1)
work="$root/.cache/kernel/vm"
timeout_s=${VM_TIMEOUT:-300}

for p in busybox-static qemu-system-x86; do
  dpkg -s "$p" >/dev/null 2>&1 || DEBIAN_FRONTEND=noninteractive apt-get install -y "$p" >&2
done

rm -rf "$work" && mkdir -p "$work/root"/{bin,proc,sys,dev,tmp}
cd "$work/root"
cp /bin/busybox bin/busybox
hdr="$build/headers/include"
gcc -static -O2 -Wall -isystem "$hdr" -o bin/tunq "$here/tunq.c"
gcc -static -O2 -Wall -isystem "$hdr" -o bin/tunbp "$here/tunbp.c"
# iproute2's tc (busybox's cannot set a qdisc) and the libraries it links, at their host paths.
tcbin=$(command -v tc || true)
[[ -n $tcbin ]] || { echo "error: tc (iproute2) missing on the host: apt-get install iproute2" >&2; exit 1; }
cp "$tcbin" bin/iptc
for lib in $(ldd "$tcbin" | grep -o '/[^ ]*'); do
  mkdir -p ".$(dirname "$lib")" && cp -L "$lib" ".$lib"
done
gcc -static -O2 -isystem "$hdr" -I "$src/tools/testing/selftests" \
  -o bin/tun-selftest "$src/tools/testing/selftests/net/tun.c"
cat > init <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
mount -t tmpfs tmp /tmp
echo "TUNBENCH-VM booted: $(uname -r)"
ip link set lo up
mount -t tracefs nodev /sys/kernel/tracing
missing=""
for ev in lock/contention_begin lock/contention_end skb/kfree_skb skb/consume_skb skb/skb_copy_datagram_iovec net/net_dev_start_xmit net/net_dev_xmit; do
  [ -d "/sys/kernel/tracing/events/$ev" ] || missing="$missing $ev"
done
[ -z "$missing" ]; echo "RESULT tracepoints any rc=$? missing:${missing:- none}"
for mode in ring skq; do
  echo "$mode" > /sys/module/tun/parameters/queue_mode
  /bin/tun-selftest > /tmp/selftest.log 2>&1; rc=$?
  cat /tmp/selftest.log
  echo "RESULT tun-selftest $mode rc=$rc $(grep -E '^# (PASSED|FAILED|Totals)' /tmp/selftest.log | tr '\n' ' ')"
  /bin/tunq "$mode"; rc=$?
  echo "RESULT tunq $mode rc=$rc"
done
for qd in noqueue pfifo_fast fq_codel; do
  for bp in on off; do
    /bin/tunbp $qd $bp; rc=$?
    echo "RESULT tunbp $qd $bp rc=$rc"
  done
done
echo "TUNBENCH-VM done"
reboot -f
INIT
chmod +x init
find . | cpio -o -H newc --quiet | gzip -1 > "$work/initramfs.gz"
cd "$work"

start=$(date +%s)
set +e
timeout "$timeout_s" qemu-system-x86_64 -accel tcg -m 512 -smp 1 -nographic -no-reboot \
  -kernel "$bz" -initrd "$work/initramfs.gz" \
  -append 'console=ttyS0 panic=-1 quiet' > "$work/console.log" 2>&1
qrc=$?
set -e
tr -d '\r' < "$work/console.log" > "$work/console.txt"
echo "VM ran $(( $(date +%s) - start )) s (qemu exit $qrc), console log: $work/console.log"

fails=0
for check in "tracepoints any" "tun-selftest ring" "tunq ring" "tun-selftest skq" "tunq skq" \
  "tunbp noqueue on" "tunbp noqueue off" "tunbp pfifo_fast on" "tunbp pfifo_fast off" "tunbp fq_codel on" "tunbp fq_codel off"; do
  line=$(grep -m1 "^RESULT $check rc=" "$work/console.txt" || true)
  if [[ $line == "RESULT $check rc=0"* ]]; then
    echo "PASS $check: ${line#RESULT $check }"
  else
    echo "FAIL $check: ${line:-no result (VM crashed or timed out; see console log)}"
    fails=$((fails + 1))
  fi
done
grep -E "^(PASS|FAIL|FIGURES)" "$work/console.txt" || true
grep -q "^TUNBENCH-VM done" "$work/console.txt" || { echo "FAIL: the VM did not finish"; fails=$((fails + 1)); }
if ((fails)); then echo "SUMMARY: FAIL ($fails)"; exit 1; fi
echo "SUMMARY: PASS (tun selftest and tunq in ring and skq modes; tunbp: backpressure on and off under noqueue, pfifo_fast, fq_codel)"
