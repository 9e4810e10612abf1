/**
 * The choice of test backends (test/storage/backends.ts): a value that names no backend stops the tests
 * instead of running them against the default.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chooseBackend } from './backends.js';

describe('test backend selection', () => {
  it('takes a known name, and the default when the variable is unset or empty', () => {
    assert.equal(chooseBackend('KVSD_TEST_MEDIA', 'file', ['file'], 'file'), 'file');
    assert.equal(chooseBackend('KVSD_TEST_MEDIA', undefined, ['file'], 'file'), 'file');
    assert.equal(chooseBackend('KVSD_TEST_MEDIA', '', ['file'], 'file'), 'file');
  });

  it('refuses any other value, naming the variable and the backends it knows', () => {
    for (const value of ['s3', 'File', 'file:/tmp/media', ' file']) {
      assert.throws(() => chooseBackend('KVSD_TEST_MEDIA', value, ['file'], 'file'), {
        message: `KVSD_TEST_MEDIA=${value} names no test backend; known: file`,
      });
    }
  });
});
