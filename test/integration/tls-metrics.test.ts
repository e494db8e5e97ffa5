/**
 * wss:// with a self-signed certificate made here, and /metrics moving as traffic flows.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { hsToken, httpRequest, requireTool, startServer, TestClient } from '../helpers.js';

describe('TLS', () => {
  const missing = requireTool('openssl', ['version']);
  it('serves wss:// and https:// with --tls-cert/--tls-key', { skip: missing }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'roomcast-tls-'));
    const cert = join(dir, 'cert.pem');
    const key = join(dir, 'key.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        key,
        '-out',
        cert,
      ],
      { stdio: 'ignore' },
    );
    const srv = await startServer({ tlsCert: cert, tlsKey: key });
    try {
      assert.equal(srv.server.tls, true);
      const ca = readFileSync(cert);
      const url = `wss://127.0.0.1:${srv.port}/rooms/secure`;
      const a = await TestClient.connect(url, 'proto', { ca });
      const b = await TestClient.connect(url, 'json', { ca });
      await a.request({ publish: { room: 'secure', text: 'over TLS' } });
      assert.equal((await b.events('secure', 1))[0]?.text, 'over TLS');
      const health = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = httpsRequest(`https://127.0.0.1:${srv.port}/healthz`, { ca }, (res) => {
          let body = '';
          res.on('data', (d: Buffer) => (body += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on('error', reject);
        req.end();
      });
      assert.equal(health.status, 200);
      assert.match(health.body, /"status":"ok"/);
      a.close();
      b.close();
    } finally {
      await srv.close();
    }
  });
});

/** Parses the Prometheus text format into "name{labels}" -> value. */
function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

describe('/metrics', () => {
  it('reports connections, rooms, messages, bytes, fan-out, errors and auth failures as they change', async () => {
    const secret = 'metrics-secret-0123456789abcdef-xyz';
    const srv = await startServer({ authSecret: secret, anonymous: 'allow', apiKey: 'metrics-api-key-0123' });
    const scrape = async () => {
      const res = await httpRequest(srv.http, 'GET', '/metrics', { headers: { authorization: 'Bearer metrics-api-key-0123' } });
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /text\/plain/);
      return parseMetrics(res.body.toString());
    };
    try {
      const before = await scrape();
      assert.equal(before.get('roomcast_connections'), 0);
      assert.ok(before.has('process_cpu_seconds_total'), 'default process metrics are there');
      const members = await Promise.all([0, 1, 2].map(() => TestClient.connect(srv.url('/rooms/m'), 'proto')));
      const [first] = members;
      await first?.request({ publish: { room: 'm', text: 'x'.repeat(100) } });
      await first?.request({ publish: { room: 'nope', text: 'x' } });
      for (const m of members) await m.events('m', 1);
      const bad = await TestClient.connect(srv.url(), 'proto');
      await bad.request({ connect: { token: await hsToken('a-different-secret-0123456789abcdefgh', { sub: 'x' }) } });
      const after = await scrape();
      assert.equal(after.get('roomcast_connections'), 4);
      assert.equal(after.get('roomcast_rooms'), 1);
      assert.equal(after.get('roomcast_publications_total'), 1);
      assert.equal(after.get('roomcast_messages_out_total'), 3);
      assert.ok((after.get('roomcast_bytes_out_total') ?? 0) > 300, 'three copies of a 100-byte payload');
      assert.ok((after.get('roomcast_messages_in_total') ?? 0) >= 3);
      assert.equal(after.get('roomcast_errors_total{code="ERROR_CODE_NOT_A_MEMBER"}'), 1);
      assert.equal(after.get('roomcast_errors_total{code="ERROR_CODE_UNAUTHENTICATED"}'), 1);
      assert.equal(after.get('roomcast_auth_failures_total{reason="invalid"}'), 1);
      assert.equal(after.get('roomcast_fanout_recipients_bucket{le="10"}'), 1);
      assert.equal(after.get('roomcast_fanout_recipients_bucket{le="1"}'), 0);
      assert.equal(after.get('roomcast_fanout_recipients_bucket{le="+Inf"}'), 1);
      assert.equal(after.get('roomcast_fanout_recipients_count'), 1);
      assert.equal(after.get('roomcast_fanout_recipients_sum'), 3);
      const closedBefore = after.get('roomcast_closed_total{reason="admin"}');
      assert.equal(closedBefore, 0);
      const unauthorized = await httpRequest(srv.http, 'GET', '/metrics');
      assert.equal(unauthorized.status, 401, '/metrics takes the same credentials as /api');
      for (const m of [...members, bad]) m.close();
      await Promise.all([...members, bad].map((m) => m.closed));
      let last = await scrape();
      for (let i = 0; i < 50 && last.get('roomcast_connections') !== 0; i++) last = await scrape();
      assert.equal(last.get('roomcast_disconnects_total{code="1005"}'), 4, 'ws closes without a code: 1005 at the server');
    } finally {
      await srv.close();
    }
  });
});
