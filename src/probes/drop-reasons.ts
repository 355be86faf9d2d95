// Numeric skb_drop_reason values, read from the kfree_skb tracepoint's format file: they
// change between kernels, so they are never hard-coded.
import { readFileSync } from 'node:fs';

export function parseDropReasons(formatText: string): Record<string, number> {
  const out: Record<string, number> = {};
  const sym = /__print_symbolic\(REC->reason,(.*)\)\s*$/s.exec(formatText);
  if (!sym) return out;
  for (const m of sym[1]!.matchAll(/\{\s*(\d+)\s*,\s*"([A-Z0-9_]+)"\s*\}/g)) out[m[2]!] = Number(m[1]);
  return out;
}

export function readDropReasons(tracefs = '/sys/kernel/tracing'): Record<string, number> {
  return parseDropReasons(readFileSync(`${tracefs}/events/skb/kfree_skb/format`, 'utf8'));
}

/** Reason number -> name, for reporting. */
export function reasonName(reasons: Record<string, number>, value: number): string {
  return Object.entries(reasons).find(([, v]) => v === value)?.[0] ?? `reason_${value}`;
}
