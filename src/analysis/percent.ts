// "5%" or "0.05" -> 0.05.
import { UserError } from '../errors.ts';

/**
 * A fraction in [0, 1) written as a percentage or a fraction; `o.positive` refuses 0 too (a
 * significance level of 0 can never be reached by any number of trials).
 */
export function parseFraction(flag: string, text: string, o: { positive?: boolean } = {}): number {
  const m = /^(\d+(?:\.\d+)?)(%?)$/.exec(text.trim());
  if (!m) throw new UserError(`${flag}: expected a percentage like 5% or a fraction like 0.05, found '${text}'`, { hint: 'a number from 0 up to (not including) 100%, with % or as a fraction' });
  const v = m[2] ? Number(m[1]) / 100 : Number(m[1]);
  const low = o.positive ? 'above 0%' : 'at least 0%';
  if (!(v >= 0 && v < 1) || (o.positive && v === 0)) throw new UserError(`${flag}: must be ${low} and below 100%, found '${text}'`, { hint: o.positive ? `e.g. ${flag} 5% (the usual significance level); 0 can never be reached` : `e.g. ${flag} 5%` });
  return v;
}
