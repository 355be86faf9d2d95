// A trial's readings as tunbench saves them, made from the counts at its four instants: for
// tests of the sent/lost accounting and the cross-checks (src/trial/metrics.ts).
import type { QdiscCounters, TrialReadings, TunQueueState } from '../../src/types.ts';

export type Instant = 'quietBefore' | 'windowStart' | 'windowEnd' | 'quietAfter';
export interface At { tx_packets: number; tx_dropped: number; consumer: number; q: Partial<QdiscCounters>; tun?: TunQueueState }

/** Readings of one trial from the counts at its four instants (times 0, 1, 3, 4 s). */
export function readings(kind: string, at: Record<Instant, At>, generatorSent: number | null = null, capacity = 32): TrialReadings {
  const t: Record<Instant, number> = { quietBefore: 0, windowStart: 1e9, windowEnd: 3e9, quietAfter: 4e9 };
  const inst = ['quietBefore', 'windowStart', 'windowEnd', 'quietAfter'] as const;
  const map = <T>(f: (i: Instant) => T) => Object.fromEntries(inst.map((i) => [i, f(i)])) as Record<Instant, T>;
  const tun = map((i) => at[i].tun);
  return {
    capacity, queues: 1,
    window: { startNs: 1e9, endNs: 3e9 },
    tap: map((i) => ({ tNs: t[i], tx_packets: at[i].tx_packets, tx_dropped: at[i].tx_dropped, tx_bytes: at[i].tx_packets * 60, tx_errors: 0 })),
    consumer: map((i) => ({ tNs: t[i], packets: at[i].consumer, bytes: at[i].consumer * 60 })),
    cpuSeconds: { generator: null, consumer: null },
    drain: { complete: true, seconds: 0.5 },
    generator: generatorSent === null ? null : { tool: 'trafgen', packetsSent: generatorSent, errors: 0, reportedPps: null, seconds: 2, command: [], output: '' },
    generatorCounts: 'offered',
    probe: null,
    qdisc: {
      requested: kind, kind,
      at: map((i) => ({ kind, sentPackets: 0, sentBytes: 0, drops: 0, overlimits: 0, requeues: 0, backlogPackets: 0, backlogBytes: 0, tNs: t[i], ...at[i].q })),
      samples: { intervalMs: 50, backlogPackets: [], drops: [], requeues: [] },
    },
    ...(tun.quietBefore ? { tunQueues: tun as NonNullable<TrialReadings['tunQueues']> } : {}),
  };
}

