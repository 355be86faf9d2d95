// Placeholder while the command is being built (replaced by its implementation).
import { UserError } from '../errors.ts';
export async function main(_args: string[]): Promise<number> {
  throw new UserError('the bench command is not built yet');
}
