// Probes on a real tap: a namespace + tap of our own, the C sink as the reader, trafgen
// through the qdisc, and the tracepoint script. Checks the probes' counts against the
// kernel's counters and the reader's own count. Needs root, bpftrace, trafgen, the sink.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { execa, type ResultPromise } from 'execa';
import { UserError } from '../../src/errors.ts';
import { detectProbeBackends } from '../../src/probes/backends.ts';
import { readDropReasons } from '../../src/probes/drop-reasons.ts';
import { startProbes, type StartProbesOptions } from '../../src/probes/start.ts';

const NS = `tbdev-probe-${process.pid}`;
const TAP = 'tbp0';
const QLEN = 64;
const SINK = new URL('../../sink/tunbench-sink', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'tbprobe-'));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const missing = (() => {
  if (process.getuid?.() !== 0) return 'needs root';
  if (!existsSync(SINK)) return 'sink/tunbench-sink not built (make -C sink)';
  for (const tool of ['/usr/bin/bpftrace', '/usr/sbin/trafgen']) if (!existsSync(tool)) return `${tool} missing`;
  return null;
})();

async function counter(name: string): Promise<number> {
  const r = await execa('ip', ['netns', 'exec', NS, 'cat', `/sys/class/net/${TAP}/statistics/${name}`]);
  return Number(r.stdout.trim());
}

/** The sink, started in the namespace; resolves once it printed its ready line. */
async function startSink(delayNs: number): Promise<{ proc: ResultPromise; pid: number; packets(): Promise<number> }> {
  const proc = execa('ip', ['netns', 'exec', NS, SINK, '--dev', TAP, '--delay-ns', String(delayNs)], { buffer: false, reject: false });
  let out = '';
  proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  const t0 = Date.now();
  while (!out.includes('"ready"')) {
    if (Date.now() - t0 > 5000) throw new Error(`sink not ready: ${out}`);
    await sleep(20);
  }
  const pid = Number(/"pid":(\d+)/.exec(out)![1]);
  return {
    proc,
    pid,
    async packets() {
      const before = out.length;
      proc.kill('SIGUSR1');
      while (!out.slice(before).includes('"snapshot"')) await sleep(10);
      return Number(/"snapshot".*?"packets":(\d+)/.exec(out.slice(before))![1]);
    },
  };
}

before(async () => {
  if (missing) return;
  await execa('ip', ['netns', 'add', NS]);
  // As in the real lab: no IPv6, so the stack sends no router solicitations or MLD reports of
  // its own into the tap at random moments (they made the exact counts differ by one).
  await execa('ip', ['netns', 'exec', NS, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
  await execa('ip', ['-n', NS, 'tuntap', 'add', 'dev', TAP, 'mode', 'tap']);
  await execa('ip', ['-n', NS, 'link', 'set', TAP, 'txqueuelen', String(QLEN), 'addrgenmode', 'none', 'up']);
  // Broadcast frame, 60 bytes.
  writeFileSync(join(dir, 'frame.cfg'), '{ fill(0xff, 6), 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x88, 0xb5, fill(0x00, 46) }\n');
});

after(async () => {
  await execa('ip', ['netns', 'del', NS], { reject: false });
  rmSync(dir, { recursive: true, force: true });
});

function options(consumerPid: number, rawName: string): StartProbesOptions {
  return {
    backend: 'tracepoint',
    level: 'counters',
    target: { tapName: TAP, consumerPid, generator: 'trafgen', capacity: QLEN, queues: 1 },
    sampleIntervalMs: 50,
    dropReasons: readDropReasons(),
    rawFile: join(dir, rawName),
  };
}

test('counts match tx_packets, tx_dropped and the reader, over the window only', { timeout: 60_000 }, async (t) => {
  if (missing) return t.skip(missing);
  const sink = await startSink(20_000); // slow reader: ~50 kpps, so a 64-packet queue overflows
  try {
    const probes = await startProbes(options(sink.pid, 'counts.jsonl'));
    // Traffic before the window must not be counted.
    await execa('ip', ['netns', 'exec', NS, 'trafgen', '--dev', TAP, '-q', '--conf', join(dir, 'frame.cfg'), '-n', '2000', '--cpu', '1']);
    await sleep(300);
    const tx0 = await counter('tx_packets');
    const drop0 = await counter('tx_dropped');
    const read0 = await sink.packets();
    await probes.markWindowStart();
    await sleep(200);
    await execa('ip', ['netns', 'exec', NS, 'trafgen', '--dev', TAP, '-q', '--conf', join(dir, 'frame.cfg'), '-n', '200000', '--cpu', '1']);
    await sleep(500); // the reader drains the queue
    const tx = (await counter('tx_packets')) - tx0;
    const drops = (await counter('tx_dropped')) - drop0;
    const reads = (await sink.packets()) - read0;
    await sleep(200);
    await probes.markWindowEnd();
    await sleep(200);
    const { window: w, total } = await probes.stop();
    t.diagnostic(`kernel tx_packets ${tx} tx_dropped ${drops}, reader ${reads}; probes xmit ${w.xmit} drops ${w.dropsTotal} ${JSON.stringify(w.drops)} reads ${w.reads}; since attach ${JSON.stringify(total)}`);
    assert.ok(drops > 0, 'the slow reader should have caused drops');
    assert.ok(Math.abs(w.xmit - tx) <= tx * 0.01, `accepted ${w.xmit} vs tx_packets ${tx}`);
    assert.equal(w.dropsTotal, drops);
    assert.equal(w.drops.FULL_RING, drops, 'every drop attributed to FULL_RING');
    assert.equal(w.reads, reads);
    assert.ok(total.xmit + total.drops >= w.xmit + w.dropsTotal + 2000, 'totals since attach include the pre-window traffic');
    const occMax = Math.max(...w.occupancySeries.values);
    assert.ok(occMax <= QLEN + 1, `occupancy ${occMax} within the ring`);
    assert.equal(w.series.xmit.reduce((s, x) => s + x, 0), w.xmit);
    assert.ok(readFileSync(join(dir, 'counts.jsonl'), 'utf8').includes('"tick '));
  } finally {
    sink.proc.kill('SIGTERM');
    await sink.proc;
  }
});

test('full level: queueing latency histogram from real packets', { timeout: 60_000 }, async (t) => {
  if (missing) return t.skip(missing);
  const sink = await startSink(0);
  try {
    const probes = await startProbes({ ...options(sink.pid, 'full.jsonl'), level: 'full' });
    await probes.markWindowStart();
    await sleep(150);
    await execa('ip', ['netns', 'exec', NS, 'trafgen', '--dev', TAP, '-q', '--conf', join(dir, 'frame.cfg'), '-n', '50000', '--cpu', '1']);
    await sleep(1200); // histograms are printed every 10th tick
    await probes.markWindowEnd();
    const { window: w } = await probes.stop();
    const lat = w.latencyNs?.buckets.reduce((s, b) => s + b.count, 0) ?? 0;
    t.diagnostic(`full: xmit ${w.xmit} reads ${w.reads} latency samples ${lat}`);
    assert.ok(w.reads > 0);
    assert.ok(lat > 0 && lat <= w.reads, `latency samples ${lat} vs reads ${w.reads}`);
  } finally {
    sink.proc.kill('SIGTERM');
    await sink.proc;
  }
});

test('bad tap name, missing script and failing bpftrace give clean UserErrors', { timeout: 30_000 }, async (t) => {
  if (missing) return t.skip(missing);
  const base = options(process.pid, 'bad.jsonl');
  await assert.rejects(startProbes({ ...base, target: { ...base.target, tapName: 'x"; system("id' } }), UserError);
  await assert.rejects(startProbes({ ...base, backend: 'kprobe' }), UserError);
  await assert.rejects(startProbes({ ...base, bpftrace: '/bin/false' }), (e: unknown) => e instanceof UserError && /could not attach/.test(e.message));
});

test('detectProbeBackends: tracepoint attaches, kprobe/fentry report why not', { timeout: 60_000 }, async (t) => {
  if (missing) return t.skip(missing);
  const b = await detectProbeBackends();
  t.diagnostic(JSON.stringify(b));
  assert.equal(b.tracepoint.available, true, b.tracepoint.reason);
  for (const k of ['kprobe', 'fentry'] as const) {
    if (b[k].available) continue; // a kernel with kprobes and a script for them
    assert.ok(b[k].reason.length > 0);
  }
});
