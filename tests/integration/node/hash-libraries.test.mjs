// Widely used libraries from npm that keep their data in Redis hashes, run
// unchanged with their documented API against edgekv:
//   redis-om   Redis's object mapper (its HASH repositories: save, fetch,
//              remove, expire; searching needs RediSearch, which neither
//              stock Redis nor edgekv has)
//
// EDGEKV_TEST_AGAINST_REDIS=1 runs them against a stock redis-server instead
// (see script-libraries.test.mjs).
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';

import { createClient } from 'redis';
import { EntityId, EntityKeyName, Repository, Schema } from 'redis-om';

import { COMMAND_TIMEOUT_MS, EdgekvServer, TEST_TIMEOUT_MS, startServer } from './server.mjs';

const AGAINST_REDIS = process.env.EDGEKV_TEST_AGAINST_REDIS === '1';
const T = { timeout: TEST_TIMEOUT_MS };

function startTarget() {
  if (AGAINST_REDIS) {
    return new EdgekvServer(['--appendonly', 'no'], { binary: 'redis-server' }).start();
  }
  return startServer();
}

describe('redis-om hash repositories', () => {
  let server;
  let client;
  // A feature flag per environment, the shape edge applications keep.
  const flagSchema = new Schema('flag', {
    name: { type: 'string' },
    enabled: { type: 'boolean' },
    rollout: { type: 'number' },
    owner: { type: 'string' },
    regions: { type: 'string[]' },
    updated: { type: 'date' },
  }, { dataStructure: 'HASH' });

  before(async () => {
    server = await startTarget();
    // redis-om 0.4 takes a node-redis 4 client: its own, from createClient.
    const { createClient: createClient4 } = await import('redis-om/node_modules/redis/dist/index.js');
    client = createClient4({
      socket: { host: '127.0.0.1', port: server.port, connectTimeout: COMMAND_TIMEOUT_MS, reconnectStrategy: false },
    });
    client.on('error', () => {});
    await client.connect();
  });

  after(async () => {
    if (client?.isOpen) await client.quit();
    await server.stop(); // rejects if it did not stop cleanly
  });

  beforeEach(async () => {
    await client.flushAll();
  });

  test('save, fetch, update, remove and expire entities stored as hashes', T, async () => {
    const flags = new Repository(flagSchema, client);
    const updated = new Date('2026-01-02T03:04:05Z');
    const saved = await flags.save('checkout-v2', {
      name: 'checkout-v2', enabled: true, rollout: 12.5, owner: 'payments',
      regions: ['eu-west', 'us-east'], updated,
    });
    assert.equal(saved[EntityId], 'checkout-v2');
    assert.equal(saved[EntityKeyName], 'flag:checkout-v2');

    // What it wrote is a hash, field by field, readable by any client.
    const raw = await createClient({ socket: { host: '127.0.0.1', port: server.port, reconnectStrategy: false } })
      .on('error', () => {}).connect();
    try {
      assert.equal(await raw.type('flag:checkout-v2'), 'hash');
      assert.equal(await raw.hGet('flag:checkout-v2', 'enabled'), '1');
      assert.equal(await raw.hGet('flag:checkout-v2', 'rollout'), '12.5');
      assert.equal(await raw.hLen('flag:checkout-v2'), 6);
    } finally {
      raw.destroy();
    }

    const fetched = await flags.fetch('checkout-v2');
    assert.equal(fetched.name, 'checkout-v2');
    assert.equal(fetched.enabled, true);
    assert.equal(fetched.rollout, 12.5);
    assert.deepEqual(fetched.regions, ['eu-west', 'us-east']);
    assert.equal(fetched.updated.getTime(), updated.getTime());

    // An update rewrites the hash (UNLINK + HSET in MULTI): a field set to
    // null is gone afterwards.
    fetched.enabled = false;
    fetched.owner = null;
    await flags.save(fetched);
    const again = await flags.fetch('checkout-v2');
    assert.equal(again.enabled, false);
    assert.equal(again.owner, undefined);

    // Many entities, fetched together.
    for (let i = 0; i < 200; i++) {
      await flags.save(`flag-${i}`, { name: `flag-${i}`, enabled: i % 2 === 0, rollout: i });
    }
    const some = await flags.fetch('flag-3', 'flag-150', 'missing');
    assert.equal(some[0].rollout, 3);
    assert.equal(some[1].enabled, true);
    assert.equal(some[2].name, undefined); // a missing hash is an empty entity

    await flags.expire('flag-3', 100);
    const ttl = await client.ttl('flag:flag-3');
    assert.ok(ttl > 0 && ttl <= 100, `TTL ${ttl}`);

    await flags.remove('flag-3', 'flag-4');
    assert.equal(await client.exists('flag:flag-3'), 0);
    assert.equal(await client.exists('flag:flag-5'), 1);
    assert.equal(await client.dbSize(), 199);
  });
});
