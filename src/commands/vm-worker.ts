// tunbench vm-worker (internal): the guest side of the VM executor (src/run/worker.ts), started
// inside each VM of a target: vm run.
import { parseArgs } from 'node:util';
import { UserError } from '../errors.ts';
import { insideVm } from '../in-vm.ts';
import { serveTrials } from '../run/worker.ts';

export async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { channel: { type: 'string' }, profile: { type: 'string' }, out: { type: 'string' } } });
  if (!values.channel || !values.profile || !values.out) throw new UserError('vm-worker needs --channel, --profile and --out (a target: vm run starts it inside its VM)');
  if (!insideVm()) throw new UserError('vm-worker runs inside a worker VM only (a target: vm run starts it)');
  return serveTrials({ channel: values.channel, profileFile: values.profile, out: values.out });
}
