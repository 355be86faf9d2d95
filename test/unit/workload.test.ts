// Generators without a kernel: pktgen's file protocol against a stand-in /proc/net/pktgen,
// and trafgen's packet config.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { UserError } from '../../src/errors.ts';
import { PktgenSchema } from '../../src/profile/schema.ts';
import { parsePktgenDevice, pktgenCommands, startPktgen } from '../../src/workload/generators/pktgen.ts';
import { parseTrafgenSummary, perWorkerRate, trafgenConfig } from '../../src/workload/generators/trafgen.ts';

const opts = (o: Record<string, unknown> = {}) => PktgenSchema.parse({ type: 'pktgen', ...o });

// A device file as net/core/pktgen.c prints it after a run (pktgen_if_show).
const RESULT = `Params: count 0  min_pkt_size: 64  max_pkt_size: 64
     frags: 0  delay: 0  clone_skb: 0  ifname: tb1x0
Current:
     pkts-sofar: 1500000  errors: 2300
     started: 1000us  stopped: 2000us idle: 0us
Result: OK: 1851234(c1851000+d234) usec, 1500000 (64byte,0frags)
  810270pps 414Mb/sec (414858240bps) errors: 2300
`;

test('pktgen: the command sequence of the kernel samples, one device per thread', () => {
  const cmds = pktgenCommands('tb1x0', opts({ threads: 2, rate: 100000 }));
  assert.deepEqual(cmds[0], { file: 'pgctrl', command: 'reset' });
  assert.deepEqual(cmds.slice(1, 3), [{ file: 'kpktgend_0', command: 'rem_device_all' }, { file: 'kpktgend_0', command: 'add_device tb1x0@0' }]);
  const dev0 = cmds.filter((c) => c.file === 'tb1x0@0').map((c) => c.command);
  assert.ok(dev0.includes('count 0') && dev0.includes('pkt_size 64') && dev0.includes('burst 1') && dev0.includes('clone_skb 0') && dev0.includes('xmit_mode queue_xmit') && dev0.includes('ratep 100000'));
  assert.ok(cmds.some((c) => c.file === 'kpktgend_1' && c.command === 'add_device tb1x0@1'));
  assert.ok(pktgenCommands('tb1x0', opts()).some((c) => c.file === 'tb1x0' && c.command === 'delay 0'), 'one thread: plain device name, unlimited rate');
});

test('pktgen: the Result line is parsed', () => {
  const r = parsePktgenDevice('tb1x0', RESULT);
  assert.deepEqual({ packets: r.packets, pps: r.pps, errors: r.errors, usec: r.usec, ok: r.ok }, { packets: 1500000, pps: 810270, errors: 2300, usec: 1851234, ok: true });
  const running = parsePktgenDevice('tb1x0', 'Current:\n     pkts-sofar: 42  errors: 0\n');
  assert.equal(running.packets, 42);
  assert.equal(running.ok, false);
});

test('pktgen: a run against a stand-in /proc/net/pktgen writes the sequence, starts, stops and reports', async () => {
  const root = mkdtempSync(join(tmpdir(), 'pktgen-'));
  mkdirSync(root, { recursive: true });
  const written: string[] = [];
  let stopped!: () => void;
  const gen = await startPktgen({
    dev: 'tb1x0', options: opts(), procRoot: root,
    write: (p, t) => {
      written.push(`${p.slice(root.length + 1)}: ${t}`);
      if (p.endsWith('pgctrl') && t === 'stop') {
        writeFileSync(join(root, 'tb1x0'), RESULT);
        stopped();
      }
    },
    startWriter: () => new Promise<void>((res) => { stopped = res; }),
  });
  const report = await gen.stop();
  assert.equal(written[0], 'pgctrl: reset');
  assert.equal(written[written.length - 1], 'pgctrl: stop');
  assert.equal(report.tool, 'pktgen');
  assert.equal(report.packetsSent, 1500000);
  assert.equal(report.errors, 2300);
  assert.equal(report.reportedPps, 810270);
  assert.ok(Math.abs(report.seconds! - 1.851234) < 1e-9);
  assert.match(readFileSync(join(root, 'tb1x0'), 'utf8'), /Result: OK/);
});

test('pktgen: options a tap refuses are rejected before anything is written', async () => {
  await assert.rejects(startPktgen({ dev: 'x', options: opts({ burst: 32 }), procRoot: '/nonexistent', write: () => assert.fail('wrote') }), (e: unknown) => e instanceof UserError && /burst 32/.test(e.message));
  await assert.rejects(startPktgen({ dev: 'x', options: opts({ clone_skb: 10 }), procRoot: '/nonexistent', write: () => assert.fail('wrote') }), /IFF_TX_SKB_SHARING/);
});

test('trafgen: a frame of exactly packetSize bytes with correct IPv4/UDP lengths', () => {
  for (const size of [60, 64, 1514]) {
    const cfg = trafgenConfig(size);
    const fixed = 6 + 6 + 2 /* c16 */ + 2 + 2 + 2 + 2 + 2 + 2 /* ver..csum */ + 4 + 4 + 8;
    const fill = Number(/fill\(0x00, (\d+)\)/.exec(cfg)?.[1] ?? 0);
    assert.equal(fixed + fill, size, `frame of ${size}`);
    assert.match(cfg, new RegExp(`c16\\(${size - 14}\\)`), 'IPv4 total length');
    assert.match(cfg, new RegExp(`c16\\(${size - 34}\\), c16\\(0\\)`), 'UDP length');
    assert.doesNotMatch(cfg.slice(cfg.indexOf('{')), /\/\*/, 'no comments inside the braces (trafgen rejects them)');
  }
  assert.throws(() => trafgenConfig(40), UserError);
});

test('trafgen: rate split between workers and summary parsing', () => {
  assert.equal(perWorkerRate(0, 2), null);
  assert.equal(perWorkerRate(300000, 2), '150000pps');
  const s = parseTrafgenSummary('\r           1374208 packets outgoing\n\r          87949312 bytes outgoing\n\r           2 sec, 132443 usec on CPU0 (1374208 packets)\n');
  assert.deepEqual(s, { packets: 1374208, bytes: 87949312, seconds: 2.132443 });
  assert.deepEqual(parseTrafgenSummary('Running! Hang up with ^C!'), { packets: null, bytes: null, seconds: null });
});
