// One measuring run per machine: two runs at once would disturb each other's figures.
// The lock is a file holding the owner's pid; a lock whose owner is dead is taken over.
import { mkdirSync, openSync, readFileSync, rmSync, writeSync, closeSync } from 'node:fs';
import { dirname } from 'node:path';
import { UserError } from '../errors.ts';
import { pidAlive } from './reap.ts';

export const LOCK_PATH = process.env.TUNBENCH_LOCK ?? '/run/lock/tunbench.lock';

export function acquireRunLock(path = LOCK_PATH): () => void {
  mkdirSync(dirname(path), { recursive: true });
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return () => {
        try {
          if (readFileSync(path, 'utf8').trim() === String(process.pid)) rmSync(path);
        } catch {
          /* already gone */
        }
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const owner = Number(readFileSync(path, 'utf8').trim());
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && pidAlive(owner)) {
        throw new UserError(`another tunbench run (pid ${owner}) is measuring on this machine`, {
          hint: 'wait for it to finish: two runs at once would disturb each other\'s figures',
        });
      }
      rmSync(path, { force: true }); // stale: its owner is dead
    }
  }
  throw new UserError(`could not take the run lock ${path}`);
}
