// A contender for the run lock (test/unit/lock.test.ts): tries `rounds` times to take the
// lock at argv[2]; while it holds it, logs "start"/"end" lines to argv[3] around a short hold.
import { appendFileSync } from 'node:fs';
import { acquireRunLock } from '../../src/process/lock.ts';
import { UserError } from '../../src/errors.ts';

const [lock, log, roundsArg, holdArg] = process.argv.slice(2);
const rounds = Number(roundsArg ?? 20);
const holdMs = Number(holdArg ?? 3);
const sleep = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
let held = 0;
let refused = 0;
for (let i = 0; i < rounds; i++) {
  let release: (() => void) | null = null;
  try {
    release = acquireRunLock(lock!);
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
    refused++;
  }
  if (release) {
    appendFileSync(log!, `start ${process.pid}\n`);
    sleep(holdMs);
    appendFileSync(log!, `end ${process.pid}\n`);
    if (process.env.HOLD_FOREVER) sleep(1e9); // killed while holding it
    release();
    held++;
  }
  sleep(Math.random() * 3);
}
process.stdout.write(JSON.stringify({ held, refused }));
