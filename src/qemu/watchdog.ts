// The VM's inactivity watchdog: how long a guest may print nothing before QEMU is killed.
// Instead of one wall-clock limit for a whole run (which a long run outgrows and a hung one
// waits out), the limit is per stretch of silence: the guest prints at every trial's start
// and end, so the longest silence of a healthy guest is boot plus capability detection, or
// one trial (ramp-up, window, drain and lab set-up) slowed down by emulation, plus a nested
// guest's boot when the consumer is a QEMU guest inside the VM.
import type { Profile } from '../profile/schema.ts';
import type { ResolvedVariant } from '../types.ts';

/** Seconds of set-up and tear-down around a trial's ramp-up and window, before slowdown. */
const TRIAL_SETUP_SECONDS = 10;
/** A nested guest's boot under TCG. */
const NESTED_GUEST_SECONDS = 150;

export function watchdogSeconds(profile: Profile, variants: ResolvedVariant[]): number {
  const nested = variants.some((v) => v.workload.consumer.type === 'guest') ? NESTED_GUEST_SECONDS : 0;
  const slowdown = Math.max(profile.vm.slowdown, ...variants.map((v) => v.vm?.slowdown ?? 0));
  const trial = (profile.duration + profile.rampUp + TRIAL_SETUP_SECONDS) * slowdown + nested;
  return Math.ceil(Math.max(profile.vm.bootTimeoutSeconds, trial));
}
