// The host executor: trials run on this machine's kernel, in labs this process builds.
import { detectCapabilities } from '../../doctor/capabilities.ts';
import { reapStaleLabs } from '../../lab/reap.ts';
import { runTrial } from '../../trial/run-trial.ts';
import type { Capabilities, ProbeBackend } from '../../types.ts';
import type { Executor, RunContext, Started } from '../loop.ts';
import { chooseBackends } from '../../doctor/requirements.ts';
import { checkRequirements } from '../preflight.ts';

export async function startHostExecutor(c: RunContext): Promise<Started> {
  const caps: Capabilities = await detectCapabilities();
  const backends = chooseBackends(c.variants, c.plan, () => caps, [caps]);
  checkRequirements(c.profile, c.variants, backends, () => ({ caps, label: null }));
  const reaped = await reapStaleLabs();
  const { dir } = c.resultDir();
  const backendOf = (v: string): ProbeBackend | null => backends.get(v) ?? null;
  const executor: Executor = {
    environment: () => ({ run: { kernel: caps.kernel, tun: caps.tun, host: caps.host, target: 'host', capabilities: caps }, variants: null }),
    execute: (planned, variant, signal) => runTrial(planned, variant, { profile: c.profile, caps, backend: backendOf(variant.name), resultDir: dir, progress: c.progress, signal }),
    finish: async () => undefined,
  };
  return { executor, caps: [caps], backends, warnings: reaped.length > 0 ? [`removed lab namespaces left by killed runs: ${reaped.join(', ')}`] : [], close: async () => undefined };
}
