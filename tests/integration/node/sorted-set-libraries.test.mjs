// Widely used libraries from npm that keep their data in Redis sorted sets,
// run unchanged with their documented API against edgekv:
//   ratelimiter   tj's sliding-window rate limiter: one MULTI of
//                 ZREMRANGEBYSCORE, ZCARD, ZADD, ZRANGE, ZREMRANGEBYRANK and
//                 PEXPIRE per call, with ioredis
// (redis-semaphore, whose semaphores are sorted sets driven by Lua, is in
// script-libraries.test.mjs.)
//
// EDGEKV_TEST_AGAINST_REDIS=1 runs them against a stock redis-server instead
// (see script-libraries.test.mjs).
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import Redis from 'ioredis';
import Limiter from 'ratelimiter';

import { COMMAND_TIMEOUT_MS, EdgekvServer, TEST_TIMEOUT_MS, startServer } from './server.mjs';

const AGAINST_REDIS = process.env.EDGEKV_TEST_AGAINST_REDIS === '1';
const T = { timeout: TEST_TIMEOUT_MS };
// Hang guard for a window to pass: far above the windows used here.
const WAIT_MS = 30_000;

function startTarget() {
  if (AGAINST_REDIS) {
    return new EdgekvServer(['--appendonly', 'no'], { binary: 'redis-server' }).start();
  }
  return startServer();
}

// ratelimiter's callback API as a promise.
function check(limiter) {
  return new Promise((resolve, reject) => {
    limiter.get((err, info) => (err ? reject(err) : resolve(info)));
  });
}

describe('ratelimiter (sliding window in a sorted set)', () => {
  let server;
  let db;

  before(async () => {
    server = await startTarget();
    db = new Redis({
      host: '127.0.0.1',
      port: server.port,
      commandTimeout: COMMAND_TIMEOUT_MS,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
  });

  after(async () => {
    db?.disconnect();
    await server.stop(); // rejects if it did not stop cleanly
  });

  beforeEach(async () => {
    await db.flushall();
  });

  test('counts calls down to zero, keeps one member per call and expires the key', T, async () => {
    const limiter = new Limiter({ id: 'user:42', db, max: 5, duration: 60_000 });
    const remaining = [];
    for (let i = 0; i < 7; i++) remaining.push((await check(limiter)).remaining);
    assert.deepEqual(remaining, [5, 4, 3, 2, 1, 0, 0]);
    assert.equal(await db.type('limit:user:42'), 'zset');
    // Each call adds a member; past max, ZREMRANGEBYRANK keeps the newest max.
    assert.equal(await db.zcard('limit:user:42'), 5);
    const ttl = await db.pttl('limit:user:42');
    assert.ok(ttl > 0 && ttl <= 60_000, `pttl ${ttl}`);
    const info = await check(limiter);
    assert.equal(info.total, 5);
    assert.ok(info.reset * 1000 >= Date.now() - 1000, 'reset is in the window');
  });

  test('a window that passed lets calls through again', T, async () => {
    const limiter = new Limiter({ id: 'short', db, max: 2, duration: 200 });
    assert.equal((await check(limiter)).remaining, 2);
    assert.equal((await check(limiter)).remaining, 1);
    assert.equal((await check(limiter)).remaining, 0);
    // Every call, limited or not, is a member: wait without calling until the
    // key has expired with its window (PEXPIRE duration).
    const deadline = Date.now() + WAIT_MS;
    while ((await db.exists('limit:short')) && Date.now() < deadline) await sleep(20);
    assert.equal(await db.exists('limit:short'), 0, 'the window never passed');
    assert.equal((await check(limiter)).remaining, 2);
  });

  test('100 concurrent calls with max 30: exactly 30 get through', T, async () => {
    const limiter = new Limiter({ id: 'burst', db, max: 30, duration: 60_000 });
    const results = await Promise.all(Array.from({ length: 100 }, () => check(limiter)));
    assert.equal(results.filter((r) => r.remaining > 0).length, 30);
  });
});
