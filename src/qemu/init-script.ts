// The guest's /init (busybox sh). It loads the given modules, mounts the host's / (9p, read-only)
// under an overlay with a tmpfs upper, the job share (run.sh, outdir) and the output dir (9p,
// read-write, same path as on the host), then runs run.sh chrooted as root, prints the exit
// status as a marker line, writes it to the job share and powers off.

/** Console markers the host parses. */
export const marker = { booted: 'TBVM-BOOTED', exit: 'TBVM-EXIT', error: 'TBVM-ERROR' } as const;

/** The start every busybox /init shares: applets, /proc /sys /dev, the modules in load order. */
export function initPrologue(moduleFiles: string[], tag: string): string {
  return `#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in ${moduleFiles.join(' ')}; do insmod /modules/$m || echo "${tag}: insmod $m failed"; done
`;
}

export function initScript(moduleFiles: string[]): string {
  return `${initPrologue(moduleFiles, 'tbvm')}fail() { echo "${marker.error} $*"; echo o > /proc/sysrq-trigger; poweroff -f; }
M9=trans=virtio,version=9p2000.L,msize=512000
mount -t 9p -o $M9,ro,cache=loose hostroot /ro || fail "9p mount of the host root failed"
mount -t tmpfs -o mode=0755 tbvm-rw /rw
mkdir -p /rw/upper /rw/work
if mount -t overlay -o lowerdir=/ro,upperdir=/rw/upper,workdir=/rw/work tbvm-root /newroot; then
  echo "tbvm: root overlay on 9p"
else
  echo "tbvm: overlay failed; 9p root with tmpfs on /tmp /run /var"
  mount --bind /ro /newroot
  for d in tmp run var; do mount -t tmpfs tmpfs /newroot/$d; done
fi
R=/newroot
mount -t proc proc $R/proc
mount -t sysfs sys $R/sys
mount -t devtmpfs dev $R/dev
mkdir -p $R/dev/pts $R/dev/shm $R/dev/net; mount -t devpts devpts $R/dev/pts; mount -t tmpfs tmpfs $R/dev/shm
[ -e $R/dev/net/tun ] || mknod $R/dev/net/tun c 10 200
mount -t tracefs nodev $R/sys/kernel/tracing
mount -t debugfs nodev $R/sys/kernel/debug 2>/dev/null
mount -t bpf bpf $R/sys/fs/bpf
# The guest is another machine: its own run lock, not the host's (the host's VM target holds
# that one, and taking over a lock through the overlay would rename directories across layers).
mkdir -p $R/run/lock && mount -t tmpfs -o mode=1777 tbvm-lock $R/run/lock
# No tmpfs over /tmp: the overlay already makes it writable, and the repository or the
# result folder may live under the host's /tmp (CI clones there).
mkdir -p $R/run/tbjob
mount -t 9p -o $M9 tbjob $R/run/tbjob || fail "9p mount of the job share failed"
OUT=$(cat $R/run/tbjob/outdir)
mkdir -p "$R$OUT" && mount -t 9p -o $M9 tbout "$R$OUT" || fail "9p mount of the output dir failed"
if [ -s $R/run/tbjob/modules ]; then
  MD=$(cat $R/run/tbjob/modules); REL=$(uname -r)
  mkdir -p $R/lib/modules/$REL && mount --bind "$R$MD" $R/lib/modules/$REL
fi
hostname tbvm
chroot $R /bin/ip link set lo up
echo "${marker.booted} $(uname -r)"
chroot $R /bin/sh /run/tbjob/run.sh
rc=$?
echo $rc > $R/run/tbjob/exit
sync
echo "${marker.exit} rc=$rc"
umount "$R$OUT" $R/run/tbjob 2>/dev/null
echo o > /proc/sysrq-trigger
poweroff -f
`;
}
