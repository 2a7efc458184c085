// node-redis (the "redis" package) against edgekv.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient, ErrorReply, MultiErrorReply, RESP_TYPES, WatchError } from 'redis';

import { COMMAND_TIMEOUT_MS, TEST_TIMEOUT_MS, startServer, tenThousandKeys } from './server.mjs';

const T = { timeout: TEST_TIMEOUT_MS };

// The scan iterator yields batches (arrays) in v5 and single keys in v4.
async function collect(iterator) {
  const out = [];
  for await (const item of iterator) {
    if (Array.isArray(item)) out.push(...item);
    else out.push(item);
  }
  return out;
}

describe('node-redis', () => {
  let server;
  const clients = [];

  function client(opts = {}, port = server.port) {
    const c = createClient({
      ...opts,
      // No reconnecting: a dropped connection fails the test.
      socket: { host: '127.0.0.1', port, connectTimeout: COMMAND_TIMEOUT_MS, reconnectStrategy: false },
      commandOptions: { timeout: COMMAND_TIMEOUT_MS },
    });
    c.on('error', () => {}); // surfaced through the rejected promises
    clients.push(c);
    return c;
  }

  async function connected(opts, port) {
    const c = client(opts, port);
    await c.connect();
    return c;
  }

  before(async () => {
    server = await startServer();
  });

  after(async () => {
    for (const c of clients) {
      if (c.isOpen) c.destroy();
    }
    await server.stop(); // rejects if it did not stop cleanly
  });

  beforeEach(async () => {
    const c = await connected();
    await c.flushAll();
    c.destroy();
  });

  test('connects with its RESP2 handshake (CLIENT SETNAME, SELECT, CLIENT SETINFO)', T, async () => {
    const c = await connected({ name: 'nr-app', database: 2 });
    assert.equal(await c.clientGetName(), 'nr-app');
    const info = await c.sendCommand(['CLIENT', 'INFO']);
    assert.match(info, / name=nr-app /);
    assert.match(info, / db=2 /);
    assert.match(info, / lib-name=node-redis /);
    assert.match(info, / lib-ver=\d+\.\d+\.\d+/);
    assert.match(info, / resp=2(\s|$)/);
    await c.set('in-db2', 'yes');
    const c0 = await connected();
    assert.equal(await c0.get('in-db2'), null);
  });

  test('connects with RESP3 (HELLO 3 SETNAME)', T, async () => {
    const c = await connected({ RESP: 3, name: 'nr-resp3' });
    const info = await c.sendCommand(['CLIENT', 'INFO']);
    assert.match(info, / name=nr-resp3 /);
    assert.match(info, / resp=3(\s|$)/);
    assert.equal(await c.set('k', 'v'), 'OK');
    assert.equal(await c.get('k'), 'v');
    assert.equal(await c.get('missing'), null); // RESP3 null
    assert.deepEqual({ ...await c.configGet('maxclients') }, { maxclients: '10000' }); // a map
    assert.equal(await c.incrByFloat('f', 1.5), '1.5');
    assert.equal(await c.ttl('k'), -1);
    const res = await c.multi().set('a', '1').incr('a').get('a').exec();
    assert.deepEqual(res, ['OK', 2, '2']);
  });

  test('set/get and friends', T, async () => {
    const c = await connected();
    assert.equal(await c.set('k', 'v'), 'OK');
    assert.equal(await c.get('k'), 'v');
    assert.equal(await c.set('k', 'w', { NX: true }), null);
    assert.equal(await c.set('k', 'w', { XX: true, GET: true }), 'v');
    assert.equal(await c.mSet({ a: '1', b: '2' }), 'OK');
    assert.deepEqual(await c.mGet(['a', 'b', 'nope']), ['1', '2', null]);
    assert.equal(await c.incr('a'), 2);
    assert.equal(await c.incrBy('a', 40), 42);
    assert.equal(await c.getDel('a'), '42');
    assert.equal(await c.exists(['a', 'b', 'k']), 2);
    assert.equal(await c.copy('b', 'b2'), 1);
    assert.equal(await c.rename('b2', 'b3'), 'OK');
    assert.equal(await c.dbSize(), 3);
    assert.equal(await c.ping(), 'PONG');
    const [sec] = await c.time();
    assert.ok(Math.abs(Number(sec) - Date.now() / 1000) < 5);
  });

  test('pipelines: execAsPipeline and implicit auto-pipelining', T, async () => {
    const c = await connected();
    const m = c.multi();
    for (let i = 0; i < 1000; i++) m.set(`p:${i}`, String(i)).incr('n');
    const res = await m.execAsPipeline();
    assert.equal(res.length, 2000);
    for (let i = 0; i < 1000; i++) {
      assert.equal(res[2 * i], 'OK');
      assert.equal(res[2 * i + 1], i + 1);
    }
    // Commands issued in the same tick go out as one pipeline.
    const got = await Promise.all(Array.from({ length: 1000 }, (_, i) => c.get(`p:${i}`)));
    assert.deepEqual(got, Array.from({ length: 1000 }, (_, i) => String(i)));
  });

  test('multi/exec', T, async () => {
    const c = await connected();
    assert.deepEqual(await c.multi().set('a', '1').incr('a').get('a').exec(), ['OK', 2, '2']);
    await c.set('s', 'text');
    // A runtime error inside EXEC is reported for that command only.
    await assert.rejects(c.multi().incr('s').set('b', '1').exec(), (err) => {
      assert.ok(err instanceof MultiErrorReply, `unexpected ${err}`);
      assert.deepEqual(err.errorIndexes, [0]);
      assert.equal(err.replies[0].message, 'ERR value is not an integer or out of range');
      assert.equal(err.replies[1], 'OK');
      return true;
    });
    assert.equal(await c.get('b'), '1');
  });

  test('watch: concurrent modification raises WatchError, retry succeeds', T, async () => {
    const c = await connected();
    const other = await connected();
    await c.set('balance', '100');
    let attempts = 0;
    for (;;) {
      await c.watch('balance');
      const balance = Number(await c.get('balance'));
      attempts++;
      if (attempts === 1) await other.incrBy('balance', 50);
      try {
        await c.multi().set('balance', String(balance - 30)).exec();
        break;
      } catch (err) {
        assert.ok(err instanceof WatchError, `unexpected ${err}`);
        assert.ok(attempts < 5);
      }
    }
    assert.equal(attempts, 2);
    assert.equal(await c.get('balance'), '120');
  });

  test('binary Buffers', T, async () => {
    const c = await connected();
    const bin = c.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer });
    const value = Buffer.concat([Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
      Buffer.from('\r\n\0$3\r\n*1\r\n')]);
    const key = Buffer.from('bin\0key\r\n\xff', 'latin1');
    assert.equal(await c.set(key, value), 'OK');
    const got = await bin.get(key);
    assert.ok(Buffer.isBuffer(got));
    assert.ok(got.equals(value));
    assert.equal(await c.strLen(key), value.length);
    assert.equal(await c.get('bin'), null);
    const big = Buffer.alloc(2 * 1024 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = (i * 17) & 0xff;
    await c.set('big', big);
    assert.ok((await bin.get('big')).equals(big));
  });

  test('TTL and expiry', T, async () => {
    const c = await connected();
    assert.equal(await c.set('short', 'x', { PX: 200 }), 'OK');
    const pttl = await c.pTTL('short');
    assert.ok(pttl > 0 && pttl <= 200, `pttl ${pttl}`);
    await c.set('long', 'y', { EX: 100 });
    const ttl = await c.ttl('long');
    assert.ok(ttl >= 95 && ttl <= 100);
    await sleep(350);
    assert.equal(await c.get('short'), null);
    assert.equal(await c.exists('short'), 0);
    assert.equal(await c.pTTL('short'), -2);
    assert.equal(await c.expire('long', 1), 1);
    assert.equal(await c.pExpire('long', 100), 1);
    await sleep(250);
    assert.equal(await c.get('long'), null);
  });

  test('scanIterator over 10k keys', T, async () => {
    const c = await connected();
    const keys = tenThousandKeys();
    const m = c.multi();
    for (let i = 0; i < keys.length; i += 1000) {
      m.mSet(keys.slice(i, i + 1000).map((k) => [k, 'v']));
    }
    await m.execAsPipeline();
    assert.equal(await c.dbSize(), 10_000);

    const seen = await collect(c.scanIterator({ COUNT: 100 }));
    assert.equal(seen.length, 10_000);
    assert.deepEqual(new Set(seen), new Set(keys));

    const matched = await collect(c.scanIterator({ MATCH: 'key:99*', COUNT: 500 }));
    assert.deepEqual(matched.sort(), keys.filter((k) => k.startsWith('key:99')).sort());
  });

  test('error replies', T, async () => {
    const c = await connected();
    await c.set('s', 'abc');
    const expectReply = (message) => (err) => {
      assert.ok(err instanceof ErrorReply, `not an ErrorReply: ${err}`);
      assert.equal(err.message, message);
      return true;
    };
    await assert.rejects(c.incr('s'), expectReply('ERR value is not an integer or out of range'));
    await assert.rejects(c.sendCommand(['NOSUCH', 'a']),
      expectReply("ERR unknown command 'NOSUCH', with args beginning with: 'a' "));
    await assert.rejects(c.sendCommand(['GET']), expectReply("ERR wrong number of arguments for 'get' command"));
    await assert.rejects(c.set('k', 'v', { EX: 0 }), expectReply("ERR invalid expire time in 'set' command"));
    await assert.rejects(c.sendCommand(['SET', 'k', 'v', 'NX', 'XX']), expectReply('ERR syntax error'));
    assert.equal(await c.ping(), 'PONG');
  });

  test('requirepass', T, async () => {
    const secured = await startServer(['--requirepass', 'nr-secret']);
    try {
      const good = await connected({ password: 'nr-secret' }, secured.port);
      assert.equal(await good.set('k', 'v'), 'OK');
      good.destroy();
      const good3 = await connected({ RESP: 3, password: 'nr-secret' }, secured.port); // HELLO 3 AUTH
      assert.equal(await good3.get('k'), 'v');
      good3.destroy();

      const bad = client({ password: 'wrong' }, secured.port);
      await assert.rejects(bad.connect(), /WRONGPASS invalid username-password pair or user is disabled/);

      const none = await connected({}, secured.port);
      await assert.rejects(none.get('k'), /NOAUTH Authentication required/);
      none.destroy();
    } finally {
      await secured.stop();
    }
  });
});
