// Test fixture: a Result with realistic numbers and every chartable field filled, built in
// code for report tests (clearly synthetic: it never stands in for a measurement).
import { emptyMetrics } from '../../src/metrics.ts';
import { parseProfile } from '../../src/profile/load.ts';
import { buildPlan, resolveVariants } from '../../src/profile/plan.ts';
import { RESULT_SCHEMA_VERSION, type Capabilities, type ProbeSamples, type Result, type TrialReadings, type TrialResult } from '../../src/types.ts';

const yes = { available: true, reason: 'fixture' };
const no = { available: false, reason: 'fixture: absent' };
export const fixtureCaps: Capabilities = {
  kernel: { release: '6.1.0-fixture', version: '#1', arch: 'x64' },
  host: { hostname: 'fixture', cpus: 2, cpuModel: 'Fixture CPU', memoryMiB: 1024 },
  root: true, devNetTun: yes, netns: yes, tun: { queue: 'ptr_ring', evidence: 'fixture' }, btf: yes,
  tracefs: { ...yes, path: '/sys/kernel/tracing' },
  probeBackends: { tracepoint: yes, kprobe: no, fentry: no },
  sampler: { ...yes, offsets: null },
  dropReasons: { FULL_RING: 80 },
  bpftrace: { ...yes, version: '0.17.0' }, trafgen: { ...yes, version: '0.6.8' },
  pktgen: no, vhostNet: no, kvm: no, qemu: { ...no, version: null }, sink: { ...yes, path: '/x' },
};

/** A trial's readings around its probe samples: a 2 s window at 1.2 Mpps into a ring of 1000. */
function fixtureReadings(points: number, probe: ProbeSamples): TrialReadings {
  const at = (tNs: number, packets: number) => ({ tNs, packets, bytes: packets * 64 });
  const tap = (tNs: number, tx: number, dropped: number) => ({ tNs, tx_packets: tx, tx_bytes: tx * 64, tx_dropped: dropped, tx_errors: 0 });
  const end = 2e9 + points;
  return {
    capacity: 1000, queues: 1, window: { startNs: 1e9, endNs: 1e9 + 2e9 },
    tap: { quietBefore: tap(0, 0, 0), windowStart: tap(1e9, 1_200_000, 12_000), windowEnd: tap(3e9, 3_600_000, 36_000), quietAfter: tap(end + 2e9, 4_800_000, 48_000) },
    consumer: { quietBefore: at(0, 0), windowStart: at(1e9, 1_200_000), windowEnd: at(3e9, 3_600_000), quietAfter: at(end + 2e9, 4_800_000) },
    cpuSeconds: { generator: [0, 2], consumer: [0, 1.5] }, drain: { complete: true, seconds: 0.3 },
    generator: null, generatorCounts: 'offered', probe,
  };
}

/** variants x trials; variant i's pps scaled by (1 - 0.1 i); `points` occupancy samples per trial. */
export function fixtureResult(o: { variants?: string[]; trials?: number; points?: number; full?: boolean; seed?: number } = {}): Result {
  const names = o.variants ?? ['ring', 'slow'];
  const trials = o.trials ?? 5;
  const points = o.points ?? 200;
  const yaml = `name: fixture\nrepetitions: ${trials}\nwarmupTrials: 0\nvariants:\n${names.map((n, i) => `  - { name: "${n.replace(/"/g, '\\"')}"${i === 0 ? ', baseline: true' : ''} }`).join('\n')}\n`;
  const profile = parseProfile(yaml, 'fixture.yaml');
  let s = o.seed ?? 3;
  const rnd = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
  const variants = resolveVariants(profile).map((v, vi) => ({
    ...v,
    trials: Array.from({ length: trials }, (_, k): TrialResult => {
      const pps = 1.2e6 * (1 - 0.1 * vi) * (1 + (rnd() - 0.5) * 0.02);
      const m = emptyMetrics();
      Object.assign(m, { offered_pps: pps * 1.01, xmit_pps: pps, rx_pps: pps * 0.999, drop_pps: pps * 0.01, drop_ratio: 0.01 * (1 + vi), occupancy_mean: 0.05 + 0.1 * vi, occupancy_p99: 0.5, occupancy_full_fraction: 0.01, lock_contention_count: 15000, lock_contention_xmit: 9000, lock_contention_read: 6000, lock_wait_total_ns: 1.8e7, lock_wait_p99_ns: 4095, probe_cpu_pct: 1.0 });
      if (o.full) Object.assign(m, { latency_p50_ns: 8191, latency_p99_ns: 65535 });
      const occ = Array.from({ length: points }, (_, i) => Math.round(500 * Math.abs(Math.sin(i / 7 + vi)) * rnd()));
      return {
        index: k * names.length + vi, variant: v.name, repetition: k, warmup: false, overhead: false, startedAt: '2026-11-25T00:00:00Z', status: 'ok',
        windowSeconds: 2, probeLevel: o.full ? 'full' : 'counters', probeBackend: o.full ? 'tracepoint' : null, metrics: m,
        counters: { tx_packets: 2_400_000, tx_dropped: 24_000, tx_bytes: 1, consumer_packets: 2_400_000, generator_packets: 2_424_000 },
        crossCheck: [{ name: "packets read: tap tx_packets vs the consumer's count", probe: 2_400_000, counter: 2_400_000, relativeDifference: 0, tolerance: 0, ok: true }],
        consumer: null, rawProbeFile: null,
        readings: fixtureReadings(occ.length, {
          backend: o.full ? 'tracepoint' : null, level: o.full ? 'full' : 'counters', windowSeconds: 2, queuesFound: 1, occupancySource: 'queue',
          xmit: o.full ? 2_424_000 : null, dropsTotal: 24_000, drops: { FULL_RING: 24_000 }, reads: o.full ? 2_400_000 : null,
          occupancySeries: { intervalMs: 10, values: occ }, fullSeries: occ.map((x) => (x >= 1000 ? 1 : 0)), occupancyAtStart: occ[0]!, occupancyAtEnd: occ[occ.length - 1]!,
          occupancyAtEnqueue: o.full ? { buckets: [{ min: 0, max: 15, count: 1000 }, { min: 16, max: 31, count: 300 }, { min: 992, max: 1007, count: 20 }] } : null,
          series: { intervalMs: 10, xmit: occ.map(() => 12000), drops: occ.map((x) => (x > 450 ? 50 : 0)), reads: occ.map(() => 12000) },
          lock: { xmit: { count: 18000, waitNs: 3.6e7, waitHist: { buckets: [{ min: 1024, max: 2047, count: 18000 }] } }, read: { count: 12000, waitNs: 1e7, waitHist: { buckets: [{ min: 512, max: 1023, count: 12000 }] } } },
          latencyNs: o.full ? { buckets: [{ min: 4096, max: 8191, count: 900 }, { min: 32768, max: 65535, count: 100 }] } : null,
          totals: { drops: 24_000, xmit: o.full ? 2_424_000 : null, reads: o.full ? 2_400_000 : null },
          bpf: { runTimeNs: 2e7, runCount: 50_000, programs: 5 },
          messages: [],
        }),
      };
    }),
  }));
  return {
    schemaVersion: RESULT_SCHEMA_VERSION, tool: { name: 'tunbench', version: '0.1.0' }, id: 'fixture', status: 'complete', startedAt: '2026-11-25T00:00:00Z', finishedAt: '2026-11-25T00:01:00Z',
    command: ['npm', 'run', 'bench', '--', '--profile', 'fixture'], profile, profileSource: 'fixture.yaml',
    environment: { kernel: fixtureCaps.kernel, tun: fixtureCaps.tun, host: fixtureCaps.host, target: 'host', capabilities: fixtureCaps },
    plan: buildPlan(profile), variants, warnings: [],
  };
}
