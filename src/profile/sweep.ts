// A profile's sweep: each value of one axis becomes a variant of the same interleaved run.
//
//   sweep: { streams: [1, 2, 4, 8, 16] }   iperf3 parallel streams (-P): variants NAME-1 .. NAME-16
//   sweep: { threads: [1, 2] }              flood generator threads (trafgen cpus, pktgen threads),
//                                           each into its own queue of a multi-queue tap
//                                           (tap.queues = threads, IFF_MULTI_QUEUE; above one,
//                                           tap.steering: cpu, so thread i fills queue i)
//
// NAME is sweep.prefix, else the profile's name. How a sweep combines with explicit variants:
// the swept variants come first, then the profile's own variants, all in one plan (one
// interleaved run); names must not collide. The first swept value is the baseline unless an
// explicit variant says baseline: true; every swept variant is compared against the baseline,
// and an explicit variant may compareTo a swept one by its name (e.g. tcp-streams-8). Explicit
// variants are not swept: give them their own streams/threads. The swept values are overrides
// of the profile's workload, exactly as if written out as variants. Only src/profile/plan.ts
// resolves them (expandSweep); src/profile/load.ts validates them through sweepVariants.
import type { Profile } from './schema.ts';

type Variant = Profile['variants'][number];

export interface SweptVariants {
  variants: Variant[];
  /** Where each swept variant came from, for messages: 'sweep.streams[2]'. */
  where: string[];
  /** What is wrong with the sweep itself (empty when fine). */
  problems: string[];
}

/** The variants a profile's sweep stands for (none without a sweep). Pure. */
export function sweepVariants(profile: Profile): SweptVariants {
  const s = profile.sweep;
  const out: SweptVariants = { variants: [], where: [], problems: [] };
  if (!s) return out;
  const axes = (['streams', 'threads'] as const).filter((k) => s[k] !== undefined);
  if (axes.length === 0) {
    out.problems.push('sweep: names no axis; give streams: [1, 2, 4, 8] (iperf3) or threads: [1, 2] (trafgen, pktgen)');
    return out;
  }
  if (axes.length > 1) {
    out.problems.push('sweep: sweeps one axis at a time; found both streams and threads (streams are iperf3\'s, threads a flood generator\'s): keep one, write the other as variants');
    return out;
  }
  const axis = axes[0]!;
  const values = s[axis]!;
  const seen = new Set<number>();
  values.forEach((n, i) => {
    if (seen.has(n)) out.problems.push(`sweep.${axis}[${i}]: ${n} is listed twice; each value is one variant`);
    seen.add(n);
  });
  const g = profile.workload.generator;
  const prefix = s.prefix ?? profile.name;
  if (axis === 'streams') {
    if (g.type !== 'iperf3') {
      out.problems.push(`sweep.streams: sweeps iperf3's parallel streams, but workload.generator.type is ${g.type}; set workload.generator.type: iperf3 (with consumer: { type: wire }), or sweep threads`);
      return out;
    }
    values.forEach((n, i) => {
      out.variants.push({ name: `${prefix}-${n}`, baseline: false, description: `iperf3 ${g.protocol.toUpperCase()}, ${n} parallel stream${n === 1 ? '' : 's'} (sweep.streams)`, workload: { generator: { streams: n } } });
      out.where.push(`sweep.streams[${i}]`);
    });
  } else {
    if (g.type === 'iperf3' || g.type === 'sockperf') {
      out.problems.push(`sweep.threads: sweeps a flood generator's threads (trafgen, pktgen), but workload.generator.type is ${g.type}; ${g.type === 'iperf3' ? 'sweep streams instead' : 'write the variants out'}`);
      return out;
    }
    const c = profile.workload.consumer.type;
    if (c !== 'sink' && values.some((n) => n > 1)) {
      out.problems.push(`sweep.threads: each thread gets its own queue of a multi-queue tap, which only consumer type sink reads (found ${c}); set workload.consumer.type: sink`);
      return out;
    }
    values.forEach((n, i) => {
      const gen = g.type === 'trafgen' ? { cpus: n } : { threads: n };
      out.variants.push({ name: `${prefix}-${n}`, baseline: false, description: `${g.type}, ${n} thread${n === 1 ? '' : 's'} into a ${n}-queue tap (sweep.threads)`, workload: { generator: gen, tap: n > 1 ? { queues: n, steering: 'cpu' } : { queues: n } } });
      out.where.push(`sweep.threads[${i}]`);
    });
  }
  return out;
}
