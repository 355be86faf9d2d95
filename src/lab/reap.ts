// Reaping: namespaces left behind by a run that was killed (owner pid dead) are removed,
// with any process still inside them.
import { execa } from 'execa';
import { ip, listNetns } from './ip.ts';
import { ownerOf } from './names.ts';
import { pidAlive } from '../process/pids.ts';

/** Kill every process inside a namespace, then delete it. */
export async function deleteNetns(netns: string): Promise<void> {
  const pids = (await execa('ip', ['netns', 'pids', netns], { reject: false })).stdout
    .split('\n')
    .map((s) => Number(s.trim()))
    .filter((n) => Number.isInteger(n) && n > 0);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  await ip(['netns', 'delete', netns], { reject: false });
}

/** Remove lab namespaces whose owner is dead. Returns the names removed. */
export async function reapStaleLabs(): Promise<string[]> {
  const removed: string[] = [];
  for (const ns of await listNetns()) {
    const owner = ownerOf(ns);
    if (owner === null || pidAlive(owner)) continue;
    await deleteNetns(ns);
    removed.push(ns);
  }
  return removed;
}
