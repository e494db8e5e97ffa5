/**
 * `npm run bench` end to end with tiny numbers: every peer runs the one-room fan-out with a few
 * sockets for about a second (roomcast also the half-JSON room, and once more CPU-profiled), and the results
 * are complete and well formed, with every delivery made. Nothing here judges speed.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { BenchResults } from '../../bench/types.js';
import { withTimeout } from '../helpers.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function runBench(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bench/run.ts'), ...args], { cwd: ROOT });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })));
  return withTimeout(done, 100_000, 'the bench to finish').catch((err: unknown) => {
    child.kill('SIGKILL');
    throw err;
  });
}

describe('npm run bench (smoke profile)', () => {
  const out = mkdtempSync(join(tmpdir(), 'roomcast-bench-'));
  after(() => rmSync(out, { recursive: true, force: true }));

  it('runs every peer and writes complete results with 100 % reach', async () => {
    const r = await runBench(['--profile', 'smoke', '--scenario', 'fanout,mixed', '--cpu-prof', '--out', out]);
    assert.equal(r.code, 0, `exit code; stderr:\n${r.stderr}`);

    // The first lines are roomcast's ratios to each peer.
    assert.match(r.stdout, /^roomcast vs +uws dlv\/s +uws p99 +ws dlv\/s +ws p99 +socketio dlv\/s +socketio p99\nfanout-4 +\d+\.\d\dx/);
    assert.match(r.stderr, /connected 4 sockets in [\d.]+ s[\s\S]*published \d+\/35/, 'progress is shown');

    const files = readdirSync(out);
    const json = files.find((f) => f.endsWith('.json'));
    const html = files.find((f) => f.endsWith('.html'));
    assert.ok(json && html, `result files in ${files.join(', ')}`);
    const results = JSON.parse(readFileSync(join(out, json), 'utf8')) as BenchResults;

    assert.equal(results.profile, 'smoke');
    assert.deepEqual(
      results.cases.map((c) => `${c.scenario.id} ${c.peer} ${c.status}`),
      ['fanout-4 roomcast ok', 'fanout-4 uws ok', 'fanout-4 ws ok', 'fanout-4 socketio ok', 'mixed-4 roomcast ok', 'mixed-4 uws skipped', 'mixed-4 ws skipped', 'mixed-4 socketio skipped'],
    );
    for (const c of results.cases.filter((x) => x.status === 'ok')) {
      const tag = `${c.scenario.id} ${c.peer}`;
      const sockets = c.scenario.rooms * c.scenario.membersPerRoom;
      assert.equal(c.runs.length, c.timing.runs, tag);
      assert.equal(c.median, 0, `${tag}: the one run is the median run`);
      for (const run of c.runs) {
        assert.equal(run.status, 'ok', tag);
        assert.equal(run.sockets, sockets, tag);
        assert.equal(run.windows.length, c.timing.windows, tag);
        const w = run.windows[run.median];
        assert.ok(w, `${tag}: median window`);
        assert.equal(w.reach, 1, `${tag}: reach`);
        assert.equal(run.lost, 0, `${tag}: lost`);
        assert.deepEqual(run.closes, {}, `${tag}: closes`);
        assert.equal(w.expected, w.publishes * sockets, `${tag}: one room, every member`);
        assert.equal(w.delivered, w.expected, tag);
        assert.equal(w.latencyUs.count, w.delivered, `${tag}: every delivery is in the histogram`);
        assert.equal(w.completionUs.count, w.publishes, `${tag}: every publish completed`);
        assert.equal(w.incompletePublishes, 0, tag);
        const l = w.latencyUs;
        assert.ok(l.p50 > 0 && l.p50 <= l.p90 && l.p90 <= l.p99 && l.p99 <= l.p999 && l.p999 <= l.max, `${tag}: percentiles in order ${JSON.stringify(l)}`);
        assert.ok(w.deliveriesPerSec > 0 && w.seconds > 0, tag);
        assert.ok(run.server.peakRss > 0 && run.server.baselineRss > 0, `${tag}: server memory read`);
        assert.ok(run.publisher.latenessUs.count > 0, `${tag}: publisher lateness recorded`);
      }
    }

    assert.ok(results.micro.length >= 16, 'micro-benchmarks ran');
    for (const m of results.micro) assert.ok(m.opsPerSec > 0 && m.samples > 0, m.name);
    assert.ok(results.micro.some((m) => m.name.startsWith('publish path')));

    const report = readFileSync(join(out, html), 'utf8');
    assert.match(report, /<svg[^>]*>/);
    assert.doesNotMatch(report, /<script|https?:\/\/(?!www\.w3\.org\/2000\/svg)/, 'the report loads nothing from the network');

    // The CPU profile of roomcast's largest scenario was taken in an extra run and summarised.
    assert.equal(results.cpuProfile?.scenario, 'fanout-4');
    assert.equal(results.cpuProfile?.run.status, 'ok');
    const profDir = files.find((f) => f.startsWith('cpuprofile-'));
    assert.ok(profDir, 'profile directory');
    assert.equal(readdirSync(join(out, profDir)).filter((f) => f.endsWith('.cpuprofile')).length, 1);
    assert.match(r.stdout, /where the busy time went/);
  });
});
