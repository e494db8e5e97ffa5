/**
 * The chaos run (scripts/chaos.ts, `npm run chaos`) in short: two server processes on a real
 * Redis that is killed (-9) and restarted twice, SDK members whose sockets are cut and who roam
 * between the processes, steady publishers, a slow consumer, a flooder and a fuzzer, for about
 * 15 s. No member may miss an acknowledged event without being told (resync), and none may get
 * one twice. A second, shorter run with injected faults checks that the account catches both.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { requireTool, withTimeout } from '../helpers.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const missing = requireTool('redis-server') || requireTool('redis-cli');

interface ChaosReport {
  publishes: { acked: number; refused: number };
  redis: { kills: unknown[] };
  drained: boolean;
  servers: Array<{ name: string; alive: boolean }>;
  totals: { received: number; missingNoticed: number; missingSilent: number; duplicates: number; epochMismatch: number };
  members: Array<{
    name: string;
    received: number;
    missingSilent: number;
    duplicates: number;
    recoveredRejoins: number;
    rooms: Array<{ silentExamples: string[] }>;
  }>;
  raw: Record<string, { connections: number; closes: Record<string, number> }>;
  memoryMiB: unknown[];
}

function runChaos(args: string[], out: string): Promise<{ code: number | null; stdout: string; stderr: string; report: ChaosReport }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts/chaos.ts'), '--server', 'src', '--json', out, ...args], { cwd: ROOT });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<{ code: number | null }>((resolve) => child.on('exit', (code) => resolve({ code })));
  return withTimeout(done, 110_000, 'the chaos run to finish').then(
    ({ code }) => ({ code, stdout, stderr, report: JSON.parse(readFileSync(out, 'utf8')) as ChaosReport }),
    (err: unknown) => {
      child.kill('SIGKILL');
      throw err;
    },
  );
}

describe('npm run chaos (short)', { skip: missing }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'roomcast-chaos-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('two processes, Redis killed twice, members cut and roaming: no silent loss, no duplicate', async () => {
    const r = await runChaos(['--duration', '15', '--members', '4', '--rooms', '2', '--rate', '10', '--churn-ms', '3000'], join(dir, 'short.json'));
    const report = r.report;
    const silent = report.members.flatMap((m) => m.rooms.flatMap((x) => x.silentExamples.map((e) => `${m.name}: ${e}`)));
    assert.equal(report.totals.missingSilent, 0, `silently missed acknowledged events:\n${silent.join('\n')}\n${r.stdout}`);
    assert.equal(report.totals.duplicates, 0, `events handed to the application twice\n${r.stdout}`);
    assert.equal(r.code, 0, `exit code; stdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
    // The chaos happened: Redis went down twice (publishes were refused meanwhile), members got
    // events and recovered after cuts, the troublemakers connected, both servers lived.
    assert.equal(report.redis.kills.length, 2);
    assert.ok(report.publishes.acked > 100 && report.publishes.refused > 0, JSON.stringify(report.publishes));
    assert.ok(report.drained, 'every member caught up with the last events');
    assert.ok(report.servers.every((s) => s.alive));
    for (const m of report.members) assert.ok(m.received > 0, `${m.name} received events`);
    assert.ok(
      report.members.some((m) => m.recoveredRejoins > 0),
      'some rejoin recovered',
    );
    assert.equal(report.totals.epochMismatch, 0, 'no event was taken for one of another epoch');
    assert.ok((report.raw.flooder?.closes['4501'] ?? 0) > 0, `the flooder was closed with 4501: ${JSON.stringify(report.raw.flooder)}`);
    assert.ok((report.raw.fuzzer?.connections ?? 0) > 0 && (report.raw.slow?.connections ?? 0) > 0);
    assert.ok(report.memoryMiB.length >= 10, 'server memory sampled every second');
  });

  it('the account catches a missed event and a duplicate (injected): exit code 1', async () => {
    const r = await runChaos(
      ['--duration', '4', '--members', '2', '--rooms', '1', '--rate', '10', '--churn-ms', '0', '--redis-kills', '0', '--inject-faults'],
      join(dir, 'faults.json'),
    );
    assert.equal(r.code, 1, `exit code; stdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
    assert.equal(r.report.totals.missingSilent, 5);
    assert.equal(r.report.totals.duplicates, 1);
    assert.deepEqual(
      r.report.members.filter((m) => m.missingSilent > 0 || m.duplicates > 0).map((m) => m.name),
      ['m0'],
    );
    assert.match(r.stdout, /verdict: FAILED/);
  });
});
