import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { metricsTable } from '../../scripts/metrics-table.ts';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

test('README carries the metrics table generated from src/metrics.ts (npm run docs:metrics)', () => {
  assert.ok(readme.includes(metricsTable()), 'README metrics table is out of date: paste the output of npm run docs:metrics');
});

test('README states the two commands, and .ci/run runs the test one', () => {
  const ci = readFileSync(new URL('../../.ci/run', import.meta.url), 'utf8');
  assert.ok(readme.includes('bash scripts/setup.sh && npm run bench'));
  assert.ok(readme.includes('bash scripts/setup.sh --test && npm test'));
  assert.ok(ci.includes('bash scripts/setup.sh --test && npm test'));
});

test('README lists every shipped profile', async () => {
  const { listProfiles } = await import('../../src/profile/load.ts');
  for (const name of listProfiles()) assert.ok(readme.includes(`| \`${name}\` |`), `profiles/${name}.yaml is not in the README's profile table`);
});
