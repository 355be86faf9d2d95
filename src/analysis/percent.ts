// "5%" or "0.05" -> 0.05.
import { UserError } from '../errors.ts';

export function parseFraction(flag: string, text: string): number {
  const m = /^(\d+(?:\.\d+)?)(%?)$/.exec(text.trim());
  if (!m) throw new UserError(`${flag}: expected a percentage like 5% or a fraction like 0.05, found '${text}'`);
  const v = m[2] ? Number(m[1]) / 100 : Number(m[1]);
  if (v < 0 || v >= 1) throw new UserError(`${flag}: must be between 0% and 100%, found '${text}'`);
  return v;
}
