// Start the profile's generator in the lab.
import { execa } from 'execa';
import { assertLabNamespace } from '../../lab/lab.ts';
import type { GeneratorOptions } from '../../profile/schema.ts';
import { startPktgen } from './pktgen.ts';
import { startTrafgen } from './trafgen.ts';
import type { RunningGenerator } from './types.ts';

export type { RunningGenerator } from './types.ts';

export interface StartGeneratorOptions {
  netns: string;
  dev: string;
  generator: GeneratorOptions;
  /** A process inside the lab namespace: pktgen is reached through /proc/<pid>/net/pktgen. */
  sinkPid: number;
}

export async function startGenerator(o: StartGeneratorOptions): Promise<RunningGenerator> {
  assertLabNamespace(o.netns);
  const g = o.generator;
  if (g.type === 'trafgen') return startTrafgen({ netns: o.netns, dev: o.dev, options: g });
  await execa('modprobe', ['pktgen'], { reject: false });
  return startPktgen({ dev: o.dev, options: g, procRoot: `/proc/${o.sinkPid}/net/pktgen`, netns: o.netns });
}
