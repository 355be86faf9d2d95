// An added round-trip delay for flows (consumer wire's rttMs): sch_netem's delay as the root
// qdisc of the wire's peer tap, whose queue carries the receiver's packets (ACKs, responses)
// back towards the lab. The lab tap, the queue under test, keeps its own qdisc; the delay is
// added once per round trip. sch_netem is CONFIG_NET_SCH_NETEM (a module on Debian's kernels;
// absent on some kernels, such as this project's development host): found at run time by
// attaching it to a throw-away namespace's loopback, and a profile that needs it stops before
// any traffic with the reason.
import { execa } from 'execa';
import { UserError } from '../errors.ts';
import { onCleanup } from '../process/cleanup.ts';
import { ip } from './ip.ts';
import { assertLabNamespace } from './lab.ts';
import { newLabNames } from './names.ts';
import { deleteNetns } from './reap.ts';

/** netem's queue limit (packets held while delayed): its default, 1000, would drop a fast
 * flow's ACKs at 100 ms and more. */
export const NETEM_LIMIT = 100_000;

export const NETEM_HINT = 'run on a kernel with CONFIG_NET_SCH_NETEM (modprobe sch_netem; e.g. target: vm with vm.kernel: debian, or the patched kernel), or leave consumer.rttMs out';

async function tc(netns: string, args: string[]) {
  const r = await execa('ip', ['netns', 'exec', netns, 'tc', ...args], { reject: false, timeout: 15_000 });
  return { exitCode: r.exitCode ?? 1, stderr: String(r.stderr ?? '') };
}

/** Arguments of `tc` that give DEV a delay of delayMs (all of it one way). */
export function netemArgs(dev: string, delayMs: number): string[] {
  if (!(delayMs > 0 && delayMs <= 10_000)) throw new UserError(`netem delay ${delayMs} ms: expected 0 < ms <= 10000`);
  return ['qdisc', 'replace', 'dev', dev, 'root', 'netem', 'delay', `${delayMs}ms`, 'limit', String(NETEM_LIMIT)];
}

/** Why this kernel cannot attach netem (tc's words, with the option), or null when it can. */
export async function netemProblem(): Promise<string | null> {
  await execa('modprobe', ['-q', 'sch_netem'], { reject: false, timeout: 15_000 });
  const { netns } = newLabNames();
  const forget = onCleanup(`netem probe ${netns}`, () => deleteNetns(netns));
  try {
    await ip(['netns', 'add', netns]);
    const r = await tc(netns, netemArgs('lo', 1));
    return r.exitCode === 0 ? null : `this kernel cannot attach qdisc netem (needs CONFIG_NET_SCH_NETEM): ${r.stderr.trim().split('\n')[0] || `tc exit ${r.exitCode}`}`;
  } finally {
    forget();
    await deleteNetns(netns);
  }
}

/** Give DEV (in a namespace of the lab) a netem delay of delayMs; a UserError when the kernel cannot. */
export async function setNetemDelay(netns: string, dev: string, delayMs: number): Promise<void> {
  assertLabNamespace(netns);
  await execa('modprobe', ['-q', 'sch_netem'], { reject: false, timeout: 15_000 });
  const r = await tc(netns, netemArgs(dev, delayMs));
  if (r.exitCode !== 0) throw new UserError(`this kernel cannot attach qdisc netem to ${dev} (needs CONFIG_NET_SCH_NETEM): ${r.stderr.trim().split('\n')[0]}`, { hint: NETEM_HINT });
}
