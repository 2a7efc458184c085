// The harness itself: stop() rejects for a server that stops badly.
// ../fake_server.py stands in for edgekv-server; it answers like an empty
// Redis and misbehaves at SIGTERM as told.
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { EdgekvServer, TEST_TIMEOUT_MS } from './server.mjs';

const FAKE = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fake_server.py');
const T = { timeout: TEST_TIMEOUT_MS };

const BROKEN = [
  ['ignore-term', /did not exit within 2 s of SIGTERM and was killed with SIGKILL/],
  ['exit1', /stopped with exit status 1 after SIGTERM/],
  ['asan', /sanitizer report: ==\d+==ERROR: AddressSanitizer: heap-use-after-free/],
  ['ubsan', /sanitizer report: src\/fake\.cc:12:5: runtime error: signed integer overflow/],
  ['leak', /sanitizer report: ==\d+==ERROR: LeakSanitizer: detected memory leaks/],
  ['die', /died by itself \(exit status 3\) before the test stopped it/],
];

describe('harness', () => {
  for (const [mode, expected] of BROKEN) {
    test(`a server that stops badly (${mode}) makes stop() reject`, T, async () => {
      const srv = await new EdgekvServer(['--fake-mode', mode], { binary: FAKE }).start();
      if (mode === 'die') await srv.exited;
      // One that ignores SIGTERM is waited for 2 s only; the others get the
      // usual time to act on it.
      await assert.rejects(srv.stop(mode === 'ignore-term' ? { timeoutMs: 2000 } : {}), expected);
    });
  }

  test('a server that stops cleanly makes stop() resolve', T, async () => {
    const srv = await new EdgekvServer(['--fake-mode', 'clean'], { binary: FAKE }).start();
    assert.deepEqual(await srv.stop(), { code: 0, signal: null });
  });
});
