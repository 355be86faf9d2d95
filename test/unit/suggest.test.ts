// "Did you mean" for mistyped commands and flags.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { didYouMean, editDistance } from '../../src/suggest.ts';

test('edit distance counts a swap of neighbours as one edit', () => {
  assert.equal(editDistance('bnech', 'bench'), 1);
  assert.equal(editDistance('--profle', '--profile'), 1);
  assert.equal(editDistance('abc', 'abc'), 0);
  assert.equal(editDistance('', 'abc'), 3);
});

test('did you mean: the closest known word, none when nothing is close', () => {
  const cmds = ['bench', 'doctor', 'compare', 'gate', 'baseline', 'report', 'kernel', 'calibrate'];
  assert.equal(didYouMean('bnech', cmds), 'bench');
  assert.equal(didYouMean('reprot', cmds), 'report');
  assert.equal(didYouMean('xyz', cmds), null);
  assert.equal(didYouMean('--profle', ['--profile', '--out', '--repetitions']), '--profile');
  assert.equal(didYouMean('--frobnicate', ['--profile', '--out']), null);
});
