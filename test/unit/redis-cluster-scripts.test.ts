/**
 * The cluster variants of the Redis scripts (SPUBLISH, SHARDNUMSUB, the node check) and the
 * parsing of cluster seed nodes.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseNodes } from '../../src/broker/redis-access.js';
import { controlChannel, PUBLISH_SCRIPT, publishScript, roomKeys, STREAM_SCRIPT, streamScript } from '../../src/broker/redis-scripts.js';

describe('Redis scripts on a cluster', () => {
  it('one Redis keeps PUBLISH and NUMSUB and never asks for CLUSTER', () => {
    assert.equal(publishScript(false), PUBLISH_SCRIPT);
    assert.equal(streamScript(false), STREAM_SCRIPT);
    assert.ok(!PUBLISH_SCRIPT.includes('CLUSTER') && !STREAM_SCRIPT.includes('CLUSTER'));
  });

  it('the cluster publish script uses sharded pub/sub and starts a new epoch on another master', () => {
    const s = publishScript(true);
    assert.ok(s.includes("redis.call('SPUBLISH', KEYS[4]"));
    assert.ok(s.includes("'PUBSUB', 'SHARDNUMSUB', KEYS[4]"));
    assert.ok(!s.includes("redis.call('PUBLISH'"));
    // The check comes before the seq is used, the new epoch records this master, the TTL follows.
    assert.ok(s.indexOf("redis.call('CLUSTER', 'MYID')") < s.indexOf("redis.call('INCR'"));
    assert.ok(s.includes("redis.call('SET', KEYS[5], me, 'EX', ttl)"));
    assert.ok(s.includes("redis.call('EXPIRE', KEYS[5], ttl)"));
  });

  it('the cluster position script checks the master too (node key is its fourth key)', () => {
    const s = streamScript(true);
    assert.ok(s.includes("redis.call('GET', KEYS[4]) ~= me"));
    assert.ok(s.includes("redis.call('SET', KEYS[4], me, 'EX', ARGV[2])"));
  });

  it('every key and the channel of a room share its hash tag; the admin channel has its own', () => {
    const k = roomKeys('p:', 'lobby');
    for (const name of [k.seq, k.epoch, k.stream, k.node, k.channel]) assert.ok(name.startsWith('p:{lobby}:'), name);
    assert.equal(controlChannel('p:'), 'p:{control}:admin');
    assert.notEqual(controlChannel('p:'), roomKeys('p:', 'control').channel);
  });
});

describe('cluster seed nodes', () => {
  it('parses host:port and redis:// entries, credentials from the first that has them', () => {
    assert.deepEqual(parseNodes(['10.0.0.1:7000', ' redis://app:s%40cret@10.0.0.2:7001 ', 'redis://:other@h3:7002']), {
      hosts: [
        { host: '10.0.0.1', port: 7000 },
        { host: '10.0.0.2', port: 7001 },
        { host: 'h3', port: 7002 },
      ],
      username: 'app',
      password: 's@cret',
    });
    assert.deepEqual(parseNodes(['h:6380']), { hosts: [{ host: 'h', port: 6380 }] });
    assert.deepEqual(parseNodes(['h']).hosts, [{ host: 'h', port: 6379 }]);
  });

  it('refuses an empty list and bad entries with a message', () => {
    assert.throws(() => parseNodes([]), /redisNodes is empty/);
    assert.throws(() => parseNodes(['', ' ']), /redisNodes is empty/);
    assert.throws(() => parseNodes(['a b:1']), /bad Redis node "a b:1"/);
    assert.throws(() => parseNodes(['h:99999']), /bad Redis node "h:99999": expected host:port/);
  });
});
