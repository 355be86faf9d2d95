// tunbench baseline save NAME RESULT | list
import { UserError } from '../errors.ts';
import { BASELINES_DIR, listBaselines, saveBaseline } from '../result/baselines.ts';

const USAGE = 'usage: tunbench baseline save NAME RESULT | tunbench baseline list';

export async function main(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === 'save' && rest.length === 2) {
    const m = saveBaseline(rest[0]!, rest[1]!);
    console.log(`saved baseline ${m.name} (kernel ${m.kernel}, ${m.tunQueue}, ${m.cpu})`);
    return 0;
  }
  if (sub === 'list' && rest.length === 0) {
    const { baselines, broken } = listBaselines();
    for (const m of baselines) console.log(`${m.name.padEnd(24)} ${m.savedAt}  kernel ${m.kernel}  ${m.tunQueue}  ${m.cpu}`);
    if (baselines.length === 0 && broken.length === 0) console.log(`no baselines saved in ${BASELINES_DIR} (tunbench baseline save NAME RESULT makes one)`);
    // A broken entry is named, the others still listed; exit 2 so that a script or CI step
    // that lists baselines notices one that gate --baseline NAME would refuse.
    for (const b of broken) console.error(`tunbench: broken baseline ${b.name}: ${b.problem}\n  fix: save it again (tunbench baseline save ${b.name} RESULT) or remove that folder`);
    return broken.length > 0 ? 2 : 0;
  }
  if (sub === '--help' || sub === '-h') {
    console.log(USAGE);
    return 0;
  }
  throw new UserError(USAGE);
}
