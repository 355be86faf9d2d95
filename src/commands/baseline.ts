// tunbench baseline save NAME RESULT | list
import { UserError } from '../errors.ts';
import { listBaselines, saveBaseline } from '../analysis/baselines.ts';

export async function main(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === 'save' && rest.length === 2) {
    const m = saveBaseline(rest[0]!, rest[1]!);
    console.log(`saved baseline ${m.name} (kernel ${m.kernel}, ${m.tunQueue}, ${m.cpu})`);
    return 0;
  }
  if (sub === 'list' && rest.length === 0) {
    for (const m of listBaselines()) console.log(`${m.name.padEnd(24)} ${m.savedAt}  kernel ${m.kernel}  ${m.tunQueue}  ${m.cpu}`);
    return 0;
  }
  if (sub === '--help' || sub === '-h') {
    console.log('usage: tunbench baseline save NAME RESULT | tunbench baseline list');
    return 0;
  }
  throw new UserError('usage: tunbench baseline save NAME RESULT | tunbench baseline list');
}
