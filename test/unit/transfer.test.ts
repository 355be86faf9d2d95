// Fixed transfers and stalled readers without a lab: the profile's constraints, the
// generators' arguments, the verdict logic of runTransfer against stand-in participants (a
// real child process is stopped and resumed), and the metrics taken from its record.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { profileProblems, transferProblems } from '../../src/doctor/requirements.ts';
import { resolveVariants } from '../../src/profile/plan.ts';
import { loadProfile } from '../../src/profile/load.ts';
import { WorkloadSchema } from '../../src/profile/schema.ts';
import { emptyMetrics } from '../../src/metrics.ts';
import { transferMetrics } from '../../src/trial/metrics.ts';
import { completionNs, POLL_MS, QUIET_MS, runTransfer, senderNs, stallNs, TransferAborted, type TransferParticipants } from '../../src/trial/transfer.ts';
import type { TransferReadings } from '../../src/types.ts';
import { iperf3ClientArgs } from '../../src/workload/generators/iperf3.ts';
import { pktgenCountPerThread } from '../../src/workload/generators/start.ts';

const wl = (o: Record<string, unknown>) => WorkloadSchema.parse(o);
const nowNs = () => Number(process.hrtime.bigint());

test('transfer and stall constraints: one amount that fits the generator, a stall needs a transfer and the sink', () => {
  assert.deepEqual(transferProblems(wl({ transfer: { packets: 1000 } })), []);
  assert.match(transferProblems(wl({ transfer: {} })).join(), /exactly one of packets .* and bytes/);
  assert.match(transferProblems(wl({ transfer: { packets: 1, bytes: 1 } })).join(), /exactly one/);
  assert.match(transferProblems(wl({ transfer: { bytes: 1000 } })).join(), /a trafgen generator sends packets; use transfer.packets/);
  assert.match(transferProblems(wl({ generator: { type: 'iperf3' }, consumer: { type: 'wire' }, transfer: { packets: 10 } })).join(), /iperf3 generator sends bytes/);
  assert.deepEqual(transferProblems(wl({ generator: { type: 'iperf3' }, consumer: { type: 'wire' }, transfer: { bytes: 10 } })), []);
  assert.match(transferProblems(wl({ generator: { type: 'pktgen', threads: 2 }, transfer: { packets: 1001 } })).join(), /does not split evenly over 2 pktgen threads/);
  assert.match(transferProblems(wl({ generator: { type: 'pktgen', count: 5 }, transfer: { packets: 10 } })).join(), /generator.count: leave it 0/);
  assert.match(transferProblems(wl({ stall: { afterSeconds: 1 } })).join(), /stall: .* add workload.transfer/);
  assert.match(transferProblems(wl({ consumer: { type: 'wire' }, transfer: { packets: 10 }, stall: {} })).join(), /consumer wire is not supported/);
  assert.match(transferProblems(wl({ transfer: { packets: 10, deadlineSeconds: 2 }, stall: { afterSeconds: 2 } })).join(), /not before the transfer's 2 s deadline/);
  assert.throws(() => wl({ transfer: { packets: 10, deadlineSeconds: 0 } }));
  assert.throws(() => wl({ stall: { forSeconds: 0 } }));
  assert.throws(() => wl({ transfer: { packets: 10, typo: 1 } }));
});

test('transfer-quick is valid as shipped; a variant with a bad transfer is named in the problems', () => {
  const p = loadProfile('transfer-quick');
  assert.equal(p.profile.variants.length, 6);
  const variants = resolveVariants(p.profile);
  assert.deepEqual(profileProblems(variants, null), []);
  const bad = variants.map((v) => (v.name === 'never-read' ? { ...v, workload: { ...v.workload, transfer: undefined } } : v));
  assert.deepEqual(profileProblems(bad, null), ['variant never-read: workload.stall: a stalled reader is timed against a fixed transfer; add workload.transfer (packets or bytes, deadlineSeconds)']);
});

test('generator arguments for a transfer: iperf3 -n instead of -t and no --omit; pktgen count per thread', () => {
  const a = iperf3ClientArgs('10.0.0.2', 5201, { protocol: 'tcp', streams: 2, duration: 30, omit: 1, bytes: 20_000_000 });
  assert.ok(a.includes('--bytes') && a[a.indexOf('--bytes') + 1] === '20000000');
  assert.ok(!a.includes('--time') && !a.includes('--omit'));
  const t = iperf3ClientArgs('10.0.0.2', 5201, { protocol: 'tcp', streams: 1, duration: 3, omit: 1 });
  assert.ok(t.includes('--time') && t.includes('--omit') && !t.includes('--bytes'));
  assert.equal(pktgenCountPerThread(1000, 4), 250);
  assert.throws(() => pktgenCountPerThread(1001, 4), /does not split evenly/);
});

/** Stand-in participants: a generator that exits after exitMs (never when null), a reader
 * count that grows until readsUntilMs after the start. */
function participants(o: { exitMs: number | null; readsUntilMs: number; readerPid?: number; failAfterMs?: number }): TransferParticipants & { startedNs: () => number } {
  let t0 = 0;
  const exitNs = new Promise<number>((res) => {
    if (o.exitMs !== null) setTimeout(() => res(nowNs()), o.exitMs);
  });
  return {
    startedNs: () => t0,
    startGenerator: async () => {
      t0 = nowNs();
      return { exitedNs: exitNs };
    },
    readerPid: o.readerPid ?? 999_999_999,
    readerCount: async () => {
      const t = nowNs();
      return { tNs: t, packets: Math.floor(Math.min(t - t0, o.readsUntilMs * 1e6) / 1e6) };
    },
    failed: o.failAfterMs !== undefined ? sleep(o.failAfterMs).then(() => 'the consumer exited during the transfer') : new Promise<string>(() => undefined),
    signal: new AbortController().signal,
  };
}

test('runTransfer: complete when the sender has finished and the reader stood still; completion is the reader\'s last packet', async () => {
  const p = participants({ exitMs: 50, readsUntilMs: 150 });
  const r = await runTransfer({ transfer: { packets: 100, deadlineSeconds: 5 }, p });
  assert.equal(r.verdict, 'completed');
  assert.equal(r.packets, 100);
  const sender = senderNs(r)!;
  const done = completionNs(r)!;
  assert.ok(sender >= 45e6 && sender < 150e6, `sender ${sender}`);
  // The reader's count last moved at ~150 ms; it is seen within a poll (20 ms) or so.
  assert.ok(done >= 150e6 && done < 250e6, `completion ${done}`);
  assert.equal(stallNs(r), null);
});

test('runTransfer: a sender still sending at the deadline did not finish, and its later exit is not its end', async () => {
  const p = participants({ exitMs: 400, readsUntilMs: 400 });
  const r = await runTransfer({ transfer: { packets: 100, deadlineSeconds: 0.2 }, p });
  assert.equal(r.verdict, 'did-not-finish');
  assert.match(r.reason!, /sender had not finished at the 0.2 s deadline/);
  await sleep(300);
  assert.equal(r.senderDoneNs, null);
  const m = emptyMetrics();
  transferMetrics(r, m);
  assert.deepEqual([m.completion_ns, m.transfer_sender_ns, m.transfer_dnf], [null, null, 1]);
});

test('runTransfer: a reader still taking packets at the deadline did not finish', async () => {
  const r = await runTransfer({ transfer: { packets: 100, deadlineSeconds: 0.3 }, p: participants({ exitMs: 20, readsUntilMs: 10_000 }) });
  assert.equal(r.verdict, 'did-not-finish');
  assert.match(r.reason!, /reader was still taking packets/);
  assert.notEqual(r.senderDoneNs, null);
});

test('runTransfer: a dying reader aborts the trial (a failure, not a verdict)', async () => {
  await assert.rejects(runTransfer({ transfer: { packets: 100, deadlineSeconds: 5 }, p: participants({ exitMs: null, readsUntilMs: 0, failAfterMs: 50 }) }), (e: unknown) => e instanceof TransferAborted && /consumer exited/.test((e as Error).message));
});

const stateOf = (pid: number) => /State:\s+(\S)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1];

test('runTransfer: a stall stops the reader process for its time and resumes it; completion waits for the resumed reader', async () => {
  const child = spawn('sleep', ['30'], { stdio: 'ignore' });
  try {
    const p = participants({ exitMs: 30, readsUntilMs: 0, readerPid: child.pid! });
    const run = runTransfer({ transfer: { packets: 10, deadlineSeconds: 5 }, stall: { afterSeconds: 0.05, forSeconds: 0.3 }, p });
    await sleep(150);
    assert.equal(stateOf(child.pid!), 'T', 'the reader is stopped during the stall');
    const r = await run;
    assert.notEqual(stateOf(child.pid!), 'T', 'the reader runs again');
    assert.equal(r.verdict, 'completed');
    const s = r.stall!;
    assert.equal(s.forSeconds, 0.3);
    const stoppedAt = s.stoppedNs! - r.startNs;
    assert.ok(stoppedAt >= 45e6 && stoppedAt < 150e6, `stopped at ${stoppedAt}`);
    const held = stallNs(r)!;
    assert.ok(held >= 290e6 && held < 400e6, `stalled for ${held}`);
    // The sender ended at ~30 ms, but the transfer is not over before the reader ran again
    // and stood still for 200 ms: the completion is the sender's end (nothing moved after it).
    assert.ok(completionNs(r)! >= 25e6);
    // Standing still counts from the last read while stopped (at most a poll, 20 ms, before the resume).
    assert.ok(nowNs() - s.resumedNs! >= (QUIET_MS - 2 * POLL_MS) * 1e6, 'waited for the resumed reader to stand still');
  } finally {
    child.kill('SIGKILL');
  }
});

test('runTransfer: a reader never resumed during the transfer is woken at its end; the sender\'s end is the completion', async () => {
  const child = spawn('sleep', ['30'], { stdio: 'ignore' });
  try {
    const r = await runTransfer({ transfer: { packets: 10, deadlineSeconds: 5 }, stall: { afterSeconds: 0 }, p: participants({ exitMs: 200, readsUntilMs: 0, readerPid: child.pid! }) });
    assert.notEqual(stateOf(child.pid!), 'T', 'the reader runs again');
    assert.equal(r.verdict, 'completed');
    assert.match(r.reason!, /never read during the transfer/);
    assert.equal(r.stall!.forSeconds, null);
    // Stopped before the generator started (its start is at most the timer's turn after startNs).
    assert.ok(r.stall!.stoppedNs! - r.startNs < 100e6, `stopped ${(r.stall!.stoppedNs! - r.startNs) / 1e6} ms after the start`);
    assert.equal(completionNs(r), senderNs(r));
  } finally {
    child.kill('SIGKILL');
  }
});

test('transfer metrics from a saved record (pure)', () => {
  const t: TransferReadings = { packets: 1000, deadlineSeconds: 10, startNs: 1_000, senderDoneNs: 501_000, lastReadNs: 701_000, verdict: 'completed' };
  const m = emptyMetrics();
  transferMetrics(t, m);
  assert.deepEqual([m.completion_ns, m.transfer_sender_ns, m.transfer_dnf], [700_000, 500_000, 0]);
  // The reader's last packet before the sender's end cannot be the completion.
  assert.equal(completionNs({ ...t, lastReadNs: 101_000 }), 500_000);
});
