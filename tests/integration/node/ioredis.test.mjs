// ioredis against edgekv.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import Redis from 'ioredis';

import { COMMAND_TIMEOUT_MS, TEST_TIMEOUT_MS, startServer, tenThousandKeys } from './server.mjs';

const T = { timeout: TEST_TIMEOUT_MS };

describe('ioredis', () => {
  let server;
  const clients = [];

  // Fails fast instead of reconnecting forever or queueing while offline.
  function client(opts = {}) {
    const c = new Redis({
      host: '127.0.0.1',
      port: server.port,
      lazyConnect: true,
      connectTimeout: COMMAND_TIMEOUT_MS,
      commandTimeout: COMMAND_TIMEOUT_MS,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: true,
      retryStrategy: () => null,
      ...opts,
    });
    c.on('error', () => {}); // surfaced through the rejected promises
    clients.push(c);
    return c;
  }

  async function connected(opts) {
    const c = client(opts);
    await c.connect();
    return c;
  }

  before(async () => {
    server = await startServer();
  });

  after(async () => {
    for (const c of clients) c.disconnect();
    await server.stop(); // rejects if it did not stop cleanly
  });

  beforeEach(async () => {
    const c = await connected();
    await c.flushall();
    c.disconnect();
  });

  test('connects with its handshake (CLIENT SETNAME, CLIENT SETINFO, INFO, SELECT)', T, async () => {
    const c = await connected({ connectionName: 'io-app', db: 2 });
    assert.equal(c.status, 'ready');
    assert.equal(await c.client('GETNAME'), 'io-app');
    const info = await c.client('INFO');
    assert.match(info, / name=io-app /);
    assert.match(info, / db=2 /);
    assert.match(info, / lib-name=ioredis /);
    assert.match(info, / lib-ver=\d+\.\d+\.\d+/);
    await c.set('in-db2', 'yes');
    const c0 = await connected();
    assert.equal(await c0.get('in-db2'), null);
    await c0.select(2);
    assert.equal(await c0.get('in-db2'), 'yes');
  });

  test('set/get and friends', T, async () => {
    const c = await connected();
    assert.equal(await c.set('k', 'v'), 'OK');
    assert.equal(await c.get('k'), 'v');
    assert.equal(await c.get('missing'), null);
    assert.equal(await c.set('k', 'w', 'NX'), null);
    assert.equal(await c.set('k', 'w', 'XX', 'GET'), 'v');
    assert.equal(await c.mset({ a: '1', b: '2' }), 'OK');
    assert.deepEqual(await c.mget('a', 'b', 'nope'), ['1', '2', null]);
    assert.equal(await c.incr('a'), 2);
    assert.equal(await c.incrbyfloat('a', '0.5'), '2.5');
    assert.equal(await c.append('k', '!'), 2);
    assert.equal(await c.exists('k', 'a', 'nope'), 2);
    assert.equal(await c.del('k', 'a'), 2);
    assert.equal(await c.dbsize(), 1);
    assert.equal(await c.ping(), 'PONG');
  });

  test('pipeline of 1000 commands keeps order', T, async () => {
    const c = await connected();
    const p = c.pipeline();
    for (let i = 0; i < 1000; i++) p.set(`p:${i}`, String(i)).incr('n');
    const res = await p.exec();
    assert.equal(res.length, 2000);
    for (let i = 0; i < 1000; i++) {
      assert.deepEqual(res[2 * i], [null, 'OK']);
      assert.deepEqual(res[2 * i + 1], [null, i + 1]);
    }
    // Errors stay per command.
    await c.set('s', 'text');
    const mixed = await c.pipeline().incr('s').get('p:7').exec();
    assert.match(mixed[0][0].message, /^ERR value is not an integer or out of range$/);
    assert.deepEqual(mixed[1], [null, '7']);
    // Auto-pipelined concurrent commands.
    const got = await Promise.all(Array.from({ length: 500 }, (_, i) => c.get(`p:${i}`)));
    assert.deepEqual(got, Array.from({ length: 500 }, (_, i) => String(i)));
  });

  test('multi/exec', T, async () => {
    const c = await connected();
    const res = await c.multi().set('a', '1').incr('a').get('a').exec();
    assert.deepEqual(res, [[null, 'OK'], [null, 2], [null, '2']]);
    // Queue-time error aborts the transaction.
    await assert.rejects(
      c.multi().set('x', '1').call('NOSUCHCMD').exec(),
      /EXECABORT Transaction discarded because of previous errors/);
    assert.equal(await c.get('x'), null);
  });

  test('watch: concurrent modification aborts exec, retry succeeds', T, async () => {
    const c = await connected();
    const other = await connected();
    await c.set('balance', '100');
    let attempts = 0;
    for (;;) {
      await c.watch('balance');
      const balance = Number(await c.get('balance'));
      attempts++;
      if (attempts === 1) await other.incrby('balance', 50);
      const res = await c.multi().set('balance', String(balance - 30)).exec();
      if (res !== null) break; // null: a watched key changed
      assert.ok(attempts < 5);
    }
    assert.equal(attempts, 2);
    assert.equal(await c.get('balance'), '120');
  });

  test('binary Buffers', T, async () => {
    const c = await connected();
    const value = Buffer.concat([Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
      Buffer.from('\r\n\0$3\r\n*1\r\n')]);
    const key = Buffer.from('bin\0key\r\n\xff', 'latin1');
    assert.equal(await c.set(key, value), 'OK');
    const got = await c.getBuffer(key);
    assert.ok(Buffer.isBuffer(got));
    assert.ok(got.equals(value));
    assert.equal(await c.strlen(key), value.length);
    assert.equal(await c.get('bin'), null);
    const big = Buffer.alloc(2 * 1024 * 1024, 0);
    for (let i = 0; i < big.length; i++) big[i] = (i * 13) & 0xff;
    await c.set('big', big);
    assert.ok((await c.getBuffer('big')).equals(big));
  });

  test('TTL and expiry', T, async () => {
    const c = await connected();
    assert.equal(await c.set('short', 'x', 'PX', 200), 'OK');
    const pttl = await c.pttl('short');
    assert.ok(pttl > 0 && pttl <= 200, `pttl ${pttl}`);
    await c.set('long', 'y', 'EX', 100);
    const ttl = await c.ttl('long');
    assert.ok(ttl >= 95 && ttl <= 100);
    await sleep(350);
    assert.equal(await c.get('short'), null);
    assert.equal(await c.exists('short'), 0);
    assert.equal(await c.pttl('short'), -2);
    assert.equal(await c.persist('long'), 1);
    assert.equal(await c.ttl('long'), -1);
  });

  test('scanStream over 10k keys', T, async () => {
    const c = await connected();
    const keys = tenThousandKeys();
    const p = c.pipeline();
    for (let i = 0; i < keys.length; i += 1000) {
      p.mset(...keys.slice(i, i + 1000).flatMap((k) => [k, 'v']));
    }
    await p.exec();
    assert.equal(await c.dbsize(), 10_000);

    const seen = [];
    for await (const batch of c.scanStream({ count: 100 })) seen.push(...batch);
    assert.equal(seen.length, 10_000);
    assert.deepEqual(new Set(seen), new Set(keys));

    const matched = [];
    for await (const batch of c.scanStream({ match: 'key:99*', count: 500 })) matched.push(...batch);
    assert.deepEqual(matched.sort(), keys.filter((k) => k.startsWith('key:99')).sort());
  });

  test('error replies', T, async () => {
    const c = await connected();
    await c.set('s', 'abc');
    await assert.rejects(c.incr('s'), { name: 'ReplyError', message: 'ERR value is not an integer or out of range' });
    await assert.rejects(c.call('NOSUCH', 'a'),
      { message: "ERR unknown command 'NOSUCH', with args beginning with: 'a' " });
    await assert.rejects(c.call('GET'), { message: "ERR wrong number of arguments for 'get' command" });
    await assert.rejects(c.set('k', 'v', 'EX', 0), { message: "ERR invalid expire time in 'set' command" });
    await assert.rejects(c.call('SET', 'k', 'v', 'NX', 'XX'), { message: 'ERR syntax error' });
    assert.equal(await c.ping(), 'PONG');
  });

  test('requirepass', T, async () => {
    const secured = await startServer(['--requirepass', 'io-secret']);
    try {
      const opts = { host: '127.0.0.1', port: secured.port, lazyConnect: true,
        connectTimeout: COMMAND_TIMEOUT_MS, commandTimeout: COMMAND_TIMEOUT_MS,
        maxRetriesPerRequest: 0, retryStrategy: () => null };
      const good = new Redis({ ...opts, password: 'io-secret' });
      good.on('error', () => {});
      await good.connect();
      assert.equal(await good.set('k', 'v'), 'OK');
      good.disconnect();

      // A bad password surfaces as an 'error' event; the connection fails.
      const bad = new Redis({ ...opts, password: 'wrong' });
      const errors = [];
      bad.on('error', (e) => errors.push(e.message));
      await assert.rejects(bad.connect());
      bad.disconnect();
      assert.ok(errors.some((m) => /^WRONGPASS invalid username-password pair or user is disabled\.$/.test(m)),
        `errors: ${JSON.stringify(errors)}`);

      const none = new Redis({ ...opts, enableReadyCheck: false });
      none.on('error', () => {});
      await none.connect();
      await assert.rejects(none.get('k'), /NOAUTH Authentication required/);
      none.disconnect();
    } finally {
      await secured.stop();
    }
  });
});
