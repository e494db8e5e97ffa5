/**
 * trustedProxies: behind a trusted proxy, per-address limits count the client its forwarding
 * header names; from any other peer the header is ignored.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CloseCode } from '../../src/protocol/errors.js';
import { closedOnConnect, startServer, TestClient } from '../helpers.js';

const xff = (value: string) => ({ headers: { 'x-forwarded-for': value } });

describe('trustedProxies', () => {
  it('from a trusted proxy, maxConnectionsPerIp counts the client named by X-Forwarded-For / Forwarded', async () => {
    const srv = await startServer({ trustedProxies: ['127.0.0.1'], maxConnectionsPerIp: 1 });
    try {
      const a = await TestClient.connect(srv.url(), 'proto', xff('203.0.113.5'));
      // The right-most untrusted hop is the client; what the client wrote to its left is ignored.
      const b = await TestClient.connect(srv.url(), 'proto', xff('203.0.113.5, 198.51.100.7'));
      const c = await TestClient.connect(srv.url(), 'proto', { headers: { forwarded: 'for="[2001:db8::1]:4711";proto=https' } });
      const again = await closedOnConnect(srv.url(), [], xff('10.9.9.9, 203.0.113.5, 127.0.0.1'));
      assert.equal(again.code, CloseCode.CLOSE_CODE_TRY_AGAIN_LATER);
      assert.match(again.reason, /too many connections from 203\.0\.113\.5 /);
      const v6 = await closedOnConnect(srv.url(), [], { headers: { forwarded: 'for="[2001:db8::1]"' } });
      assert.match(v6.reason, /too many connections from 2001:db8::1 /);
      // A peer that is not a trusted proxy is counted as itself, whatever its header says.
      const direct = await TestClient.connect(srv.url(), 'proto', { localAddress: '127.0.0.2', ...xff('203.0.113.99') });
      const direct2 = await closedOnConnect(srv.url(), [], { localAddress: '127.0.0.2', ...xff('203.0.113.100') });
      assert.match(direct2.reason, /too many connections from 127\.0\.0\.2 /);
      for (const x of [a, b, c, direct]) x.close();
    } finally {
      await srv.close();
    }
  });

  it('off by default: X-Forwarded-For is ignored and the proxy address is counted', async () => {
    const srv = await startServer({ maxConnectionsPerIp: 1 });
    try {
      const a = await TestClient.connect(srv.url(), 'proto', xff('203.0.113.5'));
      const b = await closedOnConnect(srv.url(), [], xff('203.0.113.6'));
      assert.equal(b.code, CloseCode.CLOSE_CODE_TRY_AGAIN_LATER);
      assert.match(b.reason, /too many connections from 127\.0\.0\.1 /);
      a.close();
    } finally {
      await srv.close();
    }
  });

  it('the connect-rate limit counts the forwarded client too', async () => {
    const srv = await startServer({ trustedProxies: ['127.0.0.0/8'], maxConnectsPerIpPerSec: 1, connectBurstPerIp: 1 });
    try {
      const a = await TestClient.connect(srv.url(), 'proto', xff('203.0.113.5'));
      const b = await TestClient.connect(srv.url(), 'proto', xff('203.0.113.6'));
      const again = await closedOnConnect(srv.url(), [], xff('203.0.113.5'));
      assert.match(again.reason, /too many new connections from 203\.0\.113\.5/);
      a.close();
      b.close();
    } finally {
      await srv.close();
    }
  });
});
