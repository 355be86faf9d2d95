// doctor's reasons for a failed probe backend come from the kernel's own facts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { explainBackend } from '../../src/commands/doctor.ts';

const failed = { available: false, reason: 'bpftrace: ERROR: is tracefs mounted?' };

test('kprobe: CONFIG_KPROBES not set is said as such', () => {
  const a = explainBackend('kprobe', failed, { config: '# CONFIG_KPROBES is not set\nCONFIG_BPF=y\n', filterFunctionsError: '' });
  assert.match(a.reason, /^CONFIG_KPROBES is not set in this kernel/);
  assert.equal(explainBackend('kprobe', failed, { config: 'CONFIG_KPROBES=y\n', filterFunctionsError: '' }).reason, failed.reason, "bpftrace's words stand when the config has it");
});

test('fentry: EPERM on available_filter_functions, not "is tracefs mounted?"', () => {
  const a = explainBackend('fentry', failed, { config: 'CONFIG_FUNCTION_TRACER=y\n', filterFunctionsError: 'EPERM' });
  assert.match(a.reason, /available_filter_functions failed with EPERM.*tracefs itself is mounted/);
  assert.match(explainBackend('fentry', failed, { config: '', filterFunctionsError: '' }).reason, /CONFIG_FUNCTION_TRACER is not set/);
  assert.equal(explainBackend('fentry', failed, { config: null, filterFunctionsError: null }).reason, failed.reason);
  assert.equal(explainBackend('fentry', { available: true, reason: 'ok' }, { config: '', filterFunctionsError: 'EPERM' }).reason, 'ok');
});
