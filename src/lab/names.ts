// Names of lab objects. Every namespace the harness creates is named
// tunbench-<owner pid>-<n>, so a later run can tell whose it is and reap it when the owner
// is dead. Tap names are unique across namespaces too (tb<pid>x<n>), because tracepoints
// report a device by name and the probes must not count another namespace's tap.

export const NETNS_PREFIX = 'tunbench-';

let counter = 0;

export function newLabNames(pid = process.pid): { netns: string; tap: string } {
  const n = counter++;
  return { netns: `${NETNS_PREFIX}${pid}-${n}`, tap: `tb${pid}x${n}`.slice(0, 15) };
}

/** The owner pid of a lab namespace name, or null if the name is not one of ours. */
export function ownerOf(netns: string): number | null {
  const m = /^tunbench-(\d+)-\d+$/.exec(netns);
  return m ? Number(m[1]) : null;
}

/** Only names the harness made itself may carry traffic. */
export function isLabName(netns: string): boolean {
  return ownerOf(netns) !== null;
}
