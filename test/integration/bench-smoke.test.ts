/**
 * `npm run bench` end to end with tiny numbers: every peer (the C floor included) runs the
 * one-room fan-out with a few sockets for about a second, its members held by the C receiver
 * (roomcast also the half-JSON room, and once more CPU-profiled), and the results are complete
 * and well formed, with every delivery made; a capacity run of two steps; and the fallback to
 * Node receivers where no C compiler works. Nothing here judges speed.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { BenchResults } from '../../bench/types.js';
import { requireTool, withTimeout } from '../helpers.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

const noCompiler = requireTool('cc');
const noRedis = requireTool('redis-server');

function runBench(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bench/run.ts'), ...args], { cwd: ROOT, env });
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

  it('runs every peer and writes complete results with 100 % reach', { skip: noCompiler }, async () => {
    const r = await runBench(['--profile', 'smoke', '--scenario', 'fanout,mixed', '--cpu-prof', '--out', out]);
    assert.equal(r.code, 0, `exit code; stderr:\n${r.stderr}`);

    // The first lines are roomcast's ratios to each peer.
    assert.match(
      r.stdout,
      /^roomcast vs +uws dlv\/s +uws p99 +ws dlv\/s +ws p99 +socketio dlv\/s +socketio p99 +floor dlv\/s +floor p99\nfanout-4 +\d+\.\d\dx/,
    );
    assert.match(r.stdout, /^receivers: C$/m);
    assert.match(r.stderr, /connected 4 sockets in [\d.]+ s[\s\S]*published \d+\/35/, 'progress is shown');

    const files = readdirSync(out);
    const json = files.find((f) => f.endsWith('.json'));
    const html = files.find((f) => f.endsWith('.html'));
    assert.ok(json && html, `result files in ${files.join(', ')}`);
    const results = JSON.parse(readFileSync(join(out, json), 'utf8')) as BenchResults;

    assert.equal(results.profile, 'smoke');
    assert.equal(results.receiver, 'c');
    assert.deepEqual(results.notes, []);
    assert.equal(results.capacity, undefined);
    assert.deepEqual(
      results.cases.map((c) => `${c.scenario.id} ${c.peer} ${c.status}`),
      [
        'fanout-4 roomcast ok',
        'fanout-4 uws ok',
        'fanout-4 ws ok',
        'fanout-4 socketio ok',
        'fanout-4 floor ok',
        'mixed-4 roomcast ok',
        'mixed-4 uws skipped',
        'mixed-4 ws skipped',
        'mixed-4 socketio skipped',
        'mixed-4 floor skipped',
      ],
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
        assert.ok(w.deliveriesPerSec > 0 && w.seconds > 0 && w.sustainedPerSec > 0, tag);
        assert.ok(run.server.peakRss > 0 && run.server.baselineRss > 0, `${tag}: server memory read`);
        assert.ok(run.publisher.latenessUs.count > 0, `${tag}: publisher lateness recorded`);
      }
    }

    assert.ok(results.micro.length >= 16, 'micro-benchmarks ran');
    for (const m of results.micro) assert.ok(m.opsPerSec > 0 && m.samples > 0, m.name);
    assert.ok(results.micro.some((m) => m.name.startsWith('publish path')));
    assert.match(
      r.stdout,
      /\nhistory on costs -?\d+\.\d% \/ -?\d+\.\d% on the publish path \(64 B \/ 4 KB\)/,
      'the history on/off ratio follows the micro table',
    );

    const report = readFileSync(join(out, html), 'utf8');
    assert.match(report, /<svg[^>]*>/);
    assert.doesNotMatch(report, /<script|https?:\/\/(?!www\.w3\.org\/2000\/svg)/, 'the report loads nothing from the network');

    // The CPU profile of roomcast's largest scenario was taken in an extra run and summarised.
    assert.equal(results.cpuProfile?.scenario, 'fanout-4');
    assert.equal(results.cpuProfile.run.status, 'ok');
    const profDir = files.find((f) => f.startsWith('cpuprofile-'));
    assert.ok(profDir, 'profile directory');
    assert.equal(readdirSync(join(out, profDir)).filter((f) => f.endsWith('.cpuprofile')).length, 1);
    assert.match(r.stdout, /where the busy time went/);
  });

  it('steps the offered load up in capacity mode and reports the knee', { skip: noCompiler }, async () => {
    const r = await runBench(['--profile', 'smoke', '--capacity', '--peer', 'roomcast,floor', '--no-micro', '--out', out]);
    assert.equal(r.code, 0, `exit code; stderr:\n${r.stderr}`);
    // The ratios at the knee head the output, then the knee of each peer.
    assert.match(r.stdout, /^roomcast vs \(knee\) +floor held +floor p99= +floor cpu\/M +floor mem\nfanout-4 +\d+\.\d\dx/);
    assert.match(r.stdout, /\nscenario +peer +knee dlv\/s[^\n]*\nfanout-4 +roomcast +\d+/);
    assert.match(r.stderr, /\[capacity\] fanout-4 floor step 2\/2: .*held/);

    const json = readdirSync(out)
      .filter((f) => f.endsWith('.json'))
      .sort()
      .pop();
    assert.ok(json);
    const results = JSON.parse(readFileSync(join(out, json), 'utf8')) as BenchResults;
    assert.deepEqual(results.cases, [], 'the capacity part only');
    const cap = results.capacity;
    assert.ok(cap);
    assert.deepEqual([cap.startDeliveries, cap.factor, cap.maxSteps, cap.sloMs], [200, 1.5, 2, 250]);
    assert.deepEqual(
      cap.results.map((c) => `${c.scenario.id} ${c.peer} ${c.status}`),
      ['fanout-4 roomcast ok', 'fanout-4 floor ok'],
    );
    for (const c of cap.results) {
      assert.deepEqual(
        c.steps.map((s) => [s.rate, s.offeredPerSec]),
        [
          [50, 200],
          [75, 300],
        ],
        c.peer,
      );
      for (const s of c.steps) {
        assert.equal(s.run.status, 'ok', `${c.peer}: ${String(s.run.note)}`);
        assert.equal(s.run.windows[s.run.median]?.reach, 1, c.peer);
      }
      // No speed is judged: a tiny load on a busy machine may still miss the SLO, but the knee is
      // always the last step held before the first one that was not.
      const firstMiss = c.steps.findIndex((s) => !s.held);
      assert.equal(c.knee, firstMiss === -1 ? c.steps.length - 1 : firstMiss - 1, c.peer);
    }
    const html = readFileSync(join(out, json.replace(/\.json$/, '.html')), 'utf8');
    assert.match(html, /Capacity: the knee of each peer/);
    assert.match(html, /fanout-4: one room of 4 members: delivered vs offered/);
    assert.match(html, /fanout-4: one room of 4 members: p99 vs offered/);
    assert.match(html, /knee at 300 offered deliveries\/s|knee at 200 offered deliveries\/s/, 'the knee is marked');
  });

  it('runs the recovery storm: every socket rejoins with since, nothing missing, nothing duplicated', async () => {
    // On Redis too where redis-server is installed (two roomcast processes sharing it).
    const brokers = noRedis ? 'memory' : 'memory,redis';
    const r = await runBench(['--profile', 'smoke', '--scenario', 'storm', '--broker', brokers, '--no-micro', '--out', out]);
    assert.equal(r.code, 0, `exit code; stderr:\n${r.stderr}`);
    assert.match(r.stderr, /recovery storm: roomcast only/);
    assert.match(r.stdout, /^recovery storm +status +sockets/m);
    assert.match(r.stdout, /the C receiver does not run the storm/);
    const json = readdirSync(out)
      .filter((f) => f.endsWith('.json'))
      .sort()
      .pop();
    assert.ok(json);
    const results = JSON.parse(readFileSync(join(out, json), 'utf8')) as BenchResults;
    assert.deepEqual(results.cases, [], 'the storm alone');
    const storms = results.storm ?? [];
    assert.deepEqual(
      storms.map((s) => s.id),
      brokers.split(',').map((b) => `storm-6-${b}`),
    );
    for (const s of storms) {
      assert.equal(s.status, 'ok', `${s.id}: ${s.note ?? ''}`);
      assert.equal(s.missing, 0, `${s.id}: missing`);
      assert.equal(s.duplicates, 0, `${s.id}: duplicates`);
      assert.equal(s.recovered, 6, `${s.id}: every socket recovered`);
      assert.deepEqual(s.resync, {}, s.id);
      assert.deepEqual(s.closes, {}, `${s.id}: the drop itself is not a close`);
      assert.equal(s.errors, 0, s.id);
      assert.ok(s.finalSeq > s.stormEndSeq && s.stormEndSeq > 0, `${s.id}: published before and after the storm`);
      assert.ok(s.caughtUpSeconds >= s.rejoinSeconds && s.rejoinSeconds > 0, s.id);
      assert.ok(s.publish.before.count > 0 && s.publish.errors === 0 && s.publish.unanswered === 0, s.id);
      assert.equal(s.servers, s.broker === 'redis' ? 2 : 1, s.id);
    }
    const html = readFileSync(join(out, json.replace(/\.json$/, '.html')), 'utf8');
    assert.match(html, /<h2>Recovery storm<\/h2>/);
  });

  it('falls back to the Node receivers and leaves the floor out without a C compiler', async () => {
    const env = { ...process.env, CC: '/nonexistent/cc' };
    const r = await runBench(['--profile', 'smoke', '--scenario', 'fanout', '--peer', 'uws', '--no-micro', '--out', out], env);
    assert.equal(r.code, 0, `exit code; stderr:\n${r.stderr}`);
    assert.match(r.stderr, /warning: Node receivers instead of the C receiver: cannot build bench\/native\/receiver\.c with \/nonexistent\/cc/);
    assert.match(r.stdout, /^receivers: Node$/m);
    const json = readdirSync(out)
      .filter((f) => f.endsWith('.json'))
      .sort()
      .pop();
    assert.ok(json);
    const results = JSON.parse(readFileSync(join(out, json), 'utf8')) as BenchResults;
    assert.equal(results.receiver, 'node');
    assert.equal(results.cases[0]?.runs[0]?.windows[0]?.reach, 1);

    // Asked for by name, a C program that does not build is an error, not a fallback.
    const chosen = await runBench(['--profile', 'smoke', '--scenario', 'fanout', '--peer', 'floor', '--no-micro', '--out', out], env);
    assert.equal(chosen.code, 1);
    assert.match(chosen.stderr, /bench: cannot build bench\/native\/floor\.c/);
  });
});
