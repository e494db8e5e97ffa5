/**
 * Reads a V8 `.cpuprofile` (what `node --cpu-prof` writes) and says where the time went: self
 * time by category (idle, native and kernel work outside JavaScript, GC, roomcast's code,
 * dependencies, Node internals) and the functions with the most self time.
 *
 * Runs alone on any profile: `node --import tsx bench/report/cpuprofile.ts FILE.cpuprofile`.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { columns } from './format.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Self time of one function or category. */
export interface Slice {
  name: string;
  ms: number;
  share: number;
}

/** What a profile says. */
export interface ProfileSummary {
  totalMs: number;
  categories: Slice[];
  functions: Slice[];
}

function category(f: ProfileNode['callFrame']): string {
  if (f.functionName === '(idle)') return 'idle (waiting in epoll)';
  if (f.functionName === '(program)') return 'native outside JS (uWS C++ sends, kernel, V8)';
  if (f.functionName === '(garbage collector)') return 'garbage collector';
  if (f.url.includes('/src/gen/')) return 'roomcast generated protobuf code';
  if (f.url.includes('/node_modules/protobufjs/')) return 'protobufjs runtime';
  if (f.url.includes('/node_modules/pino')) return 'pino (logging)';
  if (f.url.includes('/node_modules/')) return 'other dependencies';
  if (f.url.includes('/src/') || f.url.includes('/dist/')) return 'roomcast code';
  if (f.url.startsWith('node:')) return 'Node.js internals';
  if (f.url === '') return 'native functions called from JS (uWS publish/send/end, fs, ...)';
  return 'other';
}

function where(f: ProfileNode['callFrame']): string {
  const file = f.url.replace(/^file:\/\//, '').replace(/^.*\/(src|dist|node_modules)\//, '$1/');
  return file === '' ? '' : ` ${file}:${f.lineNumber + 1}`;
}

/** Summarises a parsed profile. */
export function summarise(profile: CpuProfile, top = 15): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  // Sample i was taken timeDeltas[i] after sample i-1; charge the interval to the sample it ends.
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const cats = new Map<string, number>();
  const fns = new Map<string, number>();
  let total = 0;
  for (const [id, t] of selfUs) {
    const node = byId.get(id);
    if (node === undefined) continue;
    total += t;
    const cat = category(node.callFrame);
    cats.set(cat, (cats.get(cat) ?? 0) + t);
    const fn = `${node.callFrame.functionName || '(anonymous)'}${where(node.callFrame)}`;
    fns.set(fn, (fns.get(fn) ?? 0) + t);
  }
  const slices = (m: Map<string, number>): Slice[] =>
    [...m].map(([name, t]) => ({ name, ms: t / 1000, share: total > 0 ? t / total : 0 })).sort((a, b) => b.ms - a.ms);
  return { totalMs: total / 1000, categories: slices(cats), functions: slices(fns).slice(0, top) };
}

/** Reads and summarises a `.cpuprofile` file. */
export function summariseFile(path: string, top = 15): ProfileSummary {
  return summarise(JSON.parse(readFileSync(path, 'utf8')) as CpuProfile, top);
}

/** The summary as text. Busy shares leave idle time out, so they add up to the work done. */
export function printProfile(s: ProfileSummary): string {
  const idle = s.categories.find((c) => c.name.startsWith('idle'))?.ms ?? 0;
  const busy = s.totalMs - idle;
  const pct = (ms: number): string => (busy > 0 ? `${((ms / busy) * 100).toFixed(1)}%` : '-');
  const cats = [
    ['where the busy time went', 'ms', 'share'],
    ...s.categories.filter((c) => !c.name.startsWith('idle')).map((c) => [c.name, c.ms.toFixed(0), pct(c.ms)]),
  ];
  const fns = [
    ['top functions by self time', 'ms', 'share'],
    ...s.functions.filter((f) => !f.name.startsWith('(idle)')).map((f) => [f.name, f.ms.toFixed(0), pct(f.ms)]),
  ];
  return `profile: ${s.totalMs.toFixed(0)} ms sampled, ${busy.toFixed(0)} ms busy\n${columns(cats)}\n\n${columns(fns)}\n`;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const file = process.argv[2];
  if (file === undefined) {
    process.stderr.write('usage: node --import tsx bench/report/cpuprofile.ts FILE.cpuprofile\n');
    process.exit(2);
  }
  process.stdout.write(printProfile(summariseFile(file, 25)));
}
