// Builds report/ from the raw results bench/run wrote into report/raw/:
//   report/raw/<target>.json   every run of a target merged into one
//                              google-benchmark JSON (compare.py reads it)
//   report/summary.md          per-target tables, ratios to dlmalloc, the
//                              machine and versions, the goals at a glance,
//                              bench/count's counts, real clients
//   report/benchres.csv        every result in mimalloc-bench's benchres.csv
//                              shape, to merge with that suite's results
//   report/charts/*.svg        Vega-Lite charts rendered to SVG
//   report/index.html          the summary and the charts on one page
//
//   node bench/report/report.mjs <report-dir> <repo-root>
// Charts need vega and vega-lite from npm, found in $NODE_BENCH_MODULES
// (bench/run installs them into build/bench-npm); without them the report
// has its tables only.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';

const { sortAllocators, targetTables, widthSection, widthRatios, instructionsPerCall, trafficPerCall } =
  createRequire(import.meta.url)('../counting/tables.js');

const [reportDir, repoRoot] = process.argv.slice(2);
if (!reportDir || !repoRoot) {
  console.error('usage: node report.mjs <report-dir> <repo-root>');
  process.exit(2);
}
const rawDir = path.join(reportDir, 'raw');
const chartDir = path.join(reportDir, 'charts');
fs.mkdirSync(chartDir, { recursive: true });

const TARGETS = ['native', 'wasm32', 'wasm64'];
const WORKLOAD_ORDER = ['lifo_small', 'random_small', 'mixed_lifetimes', 'realloc_vectors', 'large_blocks', 'tree_list'];
const SEAM_ALLOCATORS = new Set(['lmalloc', 'lmalloc_nochecks', 'lmalloc_secure', 'dlmalloc', 'emmalloc', 'bump']);

// google-benchmark writes NaN for the coefficient of variation of a counter
// that is always 0 (0/0): not JSON, so such values become null.
const readJson = (file) => JSON.parse(fs.readFileSync(file, 'utf8')
  .replace(/:(\s*)-?(?:NaN|nan|Infinity|inf)\b/g, ':$1null'));
const exists = (file) => fs.existsSync(file);
const run = readJson(path.join(rawDir, 'run.json'));

// ------------------------------------------------------------- results --
// One record per target x allocator x benchmark: bench/run runs each job
// once per round (one file per round), and each file gives its median row
// (or its only row); the record is the round with the highest throughput,
// with the median footprint over the rounds. The fastest, not the median:
// what slows a run down comes from outside the allocator (load on the
// machine; and on wasm, node processes that run every allocator about a
// third slower, measured: 6 processes of dlmalloc on a trace, 26.8-28.7 or
// 40.7-41.0 M ops/s), and nothing makes a run faster than it is.
const cleanName = (name) => name.replace(/\/manual_time/, '');
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)];
const fastest = (records, field) => records.reduce((best, r) => (r[field] > best[field] ? r : best));
const rounds = new Map();
const merged = {};
const problems = [];
for (const target of TARGETS) {
  const targetDir = path.join(rawDir, target);
  if (!exists(targetDir)) continue;
  for (const allocator of fs.readdirSync(targetDir).sort()) {
    const allocatorDir = path.join(targetDir, allocator);
    for (const file of fs.readdirSync(allocatorDir).filter((f) => f.endsWith('.json')).sort()) {
      let data;
      try {
        data = readJson(path.join(allocatorDir, file));
      } catch (error) {
        problems.push(`${target}/${allocator}/${file}: does not parse (${error.message})`);
        continue;
      }
      const rows = data.benchmarks || [];
      merged[target] ??= { context: { ...data.context, allocator: undefined, executable: undefined }, benchmarks: [] };
      for (const row of rows) {
        merged[target].benchmarks.push({ ...row, name: cleanName(row.name), run_name: cleanName(row.run_name) });
      }
      const pick = rows.find((row) => row.run_type === 'aggregate' && row.aggregate_name === 'median')
        ?? rows.filter((row) => row.run_type === 'iteration').at(-1);
      if (!pick) {
        problems.push(`${target}/${allocator}/${file}: no result rows`);
        continue;
      }
      const runName = cleanName(pick.run_name);
      const bench = runName.slice(0, runName.lastIndexOf('/'));
      const key = `${target}|${allocator}|${bench}`;
      if (!rounds.has(key)) rounds.set(key, []);
      rounds.get(key).push({
        target, allocator, bench, row: pick,
        ops: pick.items_per_second,
        footprint: pick.footprint_ratio,
        footprintBytes: pick.footprint_bytes,
        footprintKind: pick.footprint_kind,
        peakLive: pick.peak_live_bytes,
        growCalls: pick.grow_calls_cold,
        growNs: pick.grow_ns_cold,
        growTimed: pick.grow_timed,
        coldNs: pick.cold_pass_ns,
        passNs: pick.real_time,
        cpuNs: pick.cpu_time,
        verifyFailures: pick.verify_failures,
        outOfMemory: pick.out_of_memory,
      });
    }
  }
}
const results = [...rounds.values()].map((list) => ({
  ...fastest(list, 'ops'),
  footprint: median(list.map((r) => r.footprint)),
  footprintBytes: median(list.map((r) => r.footprintBytes)),
  rounds: list.length,
  verifyFailures: list.reduce((sum, r) => sum + (r.verifyFailures ?? 0), 0),
  outOfMemory: list.reduce((sum, r) => sum + (r.outOfMemory ?? 0), 0),
}));
// The record joins the merged file as an aggregate row, as google-benchmark
// writes its own (bench/results and compare.py read it there).
for (const r of results.filter((result) => result.rounds > 1)) {
  merged[r.target].benchmarks.push({
    ...r.row, name: `${cleanName(r.row.run_name)}_best`, run_name: cleanName(r.row.run_name),
    run_type: 'aggregate', aggregate_name: 'best', repetitions: r.rounds,
    footprint_ratio: r.footprint, footprint_bytes: r.footprintBytes,
  });
}
for (const [target, data] of Object.entries(merged)) {
  data.context.allocator = 'all (see benchmark names)';
  data.context.executable = `bench_<allocator> (${target})`;
  fs.writeFileSync(path.join(rawDir, `${target}.json`), JSON.stringify(data, null, 2));
}

const byKey = new Map(results.map((r) => [`${r.target}|${r.allocator}|${r.bench}`, r]));

// mimalloc-bench's benchres.csv: space-separated, one line per result (see the
// Files section of the summary for what each column holds here).
const seconds = (ns) => (Number.isFinite(ns) ? (ns / 1e9).toFixed(6) : '0');
fs.writeFileSync(path.join(reportDir, 'benchres.csv'), [
  '# benchmark allocator elapsed rss user sys page-faults page-reclaims',
  ...results.map((r) => [`${r.target}/${r.bench}`, r.allocator, seconds(r.passNs),
    Math.round((r.footprintBytes ?? 0) / 1024), seconds(r.cpuNs), 0, 0, 0].join(' ')),
].join('\n') + '\n');

// bench/count's counts (raw/counts.json, when bench/run counted).
const countsFile = path.join(rawDir, 'counts.json');
const counts = exists(countsFile) ? readJson(countsFile).counts : [];
const countOf = (target, measure, allocator, bench) =>
  counts.find((c) => c.target === target && c.measure === measure && c.allocator === allocator && c.bench === bench);
const get = (target, allocator, bench) => byKey.get(`${target}|${allocator}|${bench}`);
const sortBenches = (list) => [...new Set(list)].sort((a, b) => {
  const rank = (name) => (WORKLOAD_ORDER.includes(name) ? WORKLOAD_ORDER.indexOf(name) : 50 + (name.startsWith('replay:') ? 0 : 1));
  return rank(a) - rank(b) || a.localeCompare(b);
});
const targetsRun = TARGETS.filter((t) => results.some((r) => r.target === t));
const allocatorsOf = (target) => sortAllocators(results.filter((r) => r.target === target).map((r) => r.allocator));
const benchesOf = (target) => sortBenches(results.filter((r) => r.target === target).map((r) => r.bench));
const geomean = (values) => {
  const good = values.filter((v) => Number.isFinite(v) && v > 0);
  return good.length ? Math.exp(good.reduce((s, v) => s + Math.log(v), 0) / good.length) : NaN;
};
const fmt = (value, digits = 2) => (Number.isFinite(value) ? value.toFixed(digits) : '–');
const mops = (ops) => (Number.isFinite(ops) ? (ops / 1e6 >= 100 ? (ops / 1e6).toFixed(0) : (ops / 1e6).toFixed(1)) : '–');

// ------------------------------------------------------------- machine --
function command(program, args) {
  try {
    return execFileSync(program, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '';
  }
}
const packageVersion = (name) => command('dpkg-query', ['-W', '-f=${Version}', name]) || 'not installed';
const node24 = path.join(repoRoot, 'toolchain/.node/bin/node');
const peersFile = ['wasm32', 'wasm64', 'native']
  .map((t) => path.join(repoRoot, 'build/bench', t, 'bench/peers-version.txt')).find(exists);
const cpuModel = os.cpus()[0]?.model ?? 'unknown CPU';
const machine = [
  ['CPU', `${cpuModel}, ${os.cpus().length} cores`],
  ['memory', `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`],
  ['OS', `${command('sh', ['-c', '. /etc/os-release && echo "$PRETTY_NAME"']) || os.type()} (kernel ${os.release()})`],
  ['compiler', `${command('clang-14', ['--version']).split('\n')[0]}, -O2, for all three targets`],
  ['wasm engines', `${exists(node24) ? `node ${command(node24, ['--version'])} with ${process.env.LM_WASM_BUFFER === 'fixed' ? 'the classic memory buffer (LM_WASM_BUFFER=fixed)' : 'a resizable memory buffer'} (workloads), ` : ''}node ${command('node', ['--version'])}${exists(node24) ? ' (growth comparison)' : ' (workloads; node 24 missing)'}`],
  ['glibc', command('sh', ['-c', 'ldd --version | head -1']).replace(/^ldd /, '')],
  ['google-benchmark', packageVersion('libbenchmark-dev')],
  ['mimalloc / jemalloc / tcmalloc', `${packageVersion('libmimalloc-dev')} / ${packageVersion('libjemalloc-dev')} / ${packageVersion('libgoogle-perftools-dev')} (Debian)`],
  ['dlmalloc, emmalloc', peersFile ? `Debian emscripten ${fs.readFileSync(peersFile, 'utf8').trim()} (system/lib)` : 'not built'],
];

// ---------------------------------------------------------------- text --
const md = [];
const line = (text = '') => md.push(text);
const table = (header, rows, align) => {
  line(`| ${header.join(' | ')} |`);
  line(`|${header.map((_, i) => (align?.[i] === 'l' || (!align && i === 0) ? '---' : '---:')).join('|')}|`);
  for (const row of rows) line(`| ${row.join(' | ')} |`);
  line();
};

line('# lmalloc benchmark report');
line();
line(`${run.mode} run of \`${run.command.trim()}\` on ${run.date}, seed ${run.seed}; ` +
     (run.rounds
       ? `every job ran in ${run.rounds} rounds, once each as its own process: a cold pass (the warm-up), then ` +
         `passes for at least ${run.min_time} s. Throughput is the fastest round's, footprint the median ` +
         '(outside load, and on wasm node processes that run every allocator about a third slower, only ever slow a run down). '
       : `every figure is the median of ${run.repetitions} repetitions of at least ${run.min_time} s after a cold pass (the warm-up). `) +
     'Throughput is allocator calls (malloc, calloc, memalign, realloc, free) per second, with every block ' +
     'written and checked before it is freed; ratios are to dlmalloc on the same target. Machines are noisy ' +
     '(±10-30% between runs): compare ratios within one report.');
line();
table(['machine', ''], machine, ['l', 'l']);

const failures = results.filter((r) => r.verifyFailures > 0);
const ooms = results.filter((r) => r.outOfMemory > 0);
const runCount = results.reduce((sum, r) => sum + r.rounds, 0);
line(`**Verification:** ${results.length} jobs` + (runCount > results.length ? ` in ${runCount} runs; ` : '; ') +
     (failures.length === 0 ? 'every block of every run verified (alignment, contents, calloc zeroes).'
                            : `${failures.length} runs with verification failures: ` +
                              failures.map((r) => `${r.target} ${r.allocator} ${r.bench}`).join(', ') + '.') +
     (ooms.length ? ` Out of memory: ${ooms.map((r) => `${r.target} ${r.allocator} ${r.bench} (${r.outOfMemory} allocations)`).join(', ')}.` : '') +
     (problems.length ? ` Unreadable results: ${problems.join('; ')}.` : ''));
line();

// The goals, as far as this run measures them.
function goals() {
  const out = [];
  const ratio = (target, allocator, base, bench) => {
    const a = get(target, allocator, bench), b = get(target, base, bench);
    return a && b ? a.ops / b.ops : NaN;
  };
  for (const target of ['wasm32', 'wasm64']) {
    if (!targetsRun.includes(target) || !get(target, 'dlmalloc', benchesOf(target)[0])) continue;
    const ratios = benchesOf(target).map((b) => [b, ratio(target, 'lmalloc', 'dlmalloc', b)]).filter(([, r]) => Number.isFinite(r));
    const worst = ratios.reduce((w, x) => (x[1] < w[1] ? x : w), ['', Infinity]);
    out.push([`1. throughput ${target}: geomean ≥ 1.5× dlmalloc, none < 1.0×`,
      `${fmt(geomean(ratios.map(([, r]) => r)))}×, worst ${fmt(worst[1])}× (${worst[0]})`]);
  }
  if (targetsRun.includes('native') && allocatorsOf('native').includes('mimalloc')) {
    const ratios = benchesOf('native').map((b) => ratio('native', 'lmalloc', 'mimalloc', b));
    out.push(['1. throughput native: geomean ≥ 1.0× mimalloc', `${fmt(geomean(ratios))}×`]);
  }
  for (const target of targetsRun) {
    const traces = benchesOf(target).filter((b) => b.startsWith('replay:'));
    const lm = traces.map((b) => get(target, 'lmalloc', b)?.footprint);
    const dl = traces.map((b) => get(target, 'dlmalloc', b)?.footprint);
    if (!traces.length || lm.some((v) => v === undefined)) continue;
    const worstIndex = lm.indexOf(Math.max(...lm));
    out.push([`2. footprint ${target}: traces' geomean ≤ dlmalloc's`,
      `${fmt(geomean(lm))} vs ${dl.some((v) => v === undefined) ? '–' : fmt(geomean(dl))}; worst ${fmt(lm[worstIndex])} (${traces[worstIndex]})`]);
  }
  if (targetsRun.includes('wasm32') && targetsRun.includes('wasm64')) {
    const traces = benchesOf('wasm64').filter((b) => b.startsWith('replay:'));
    const fp = traces.map((b) => (get('wasm64', 'lmalloc', b)?.footprint ?? NaN) / (get('wasm32', 'lmalloc', b)?.footprint ?? NaN));
    const speed = benchesOf('wasm64').map((b) => (get('wasm64', 'lmalloc', b)?.ops ?? NaN) / (get('wasm32', 'lmalloc', b)?.ops ?? NaN));
    out.push(['3. no Memory64 penalty: footprint64/32 ≤ 1.02 per trace, throughput64/32 ≥ 0.95',
      `footprint worst ${fmt(Math.max(...fp.filter(Number.isFinite)), 3)}, throughput geomean ${fmt(geomean(speed), 3)}`]);
  }
  for (const target of ['wasm32', 'wasm64']) {
    const traces = benchesOf(target).filter((b) => b.startsWith('replay:'));
    const pairs = traces.map((b) => [b, get(target, 'lmalloc', b), get(target, 'dlmalloc', b)]).filter(([, a, b]) => a && b);
    if (!pairs.length) continue;
    const callRatio = Math.max(...pairs.map(([, a, b]) => a.growCalls / Math.max(1, b.growCalls)));
    const timeShare = Math.max(...pairs.map(([, a]) => a.growNs / a.coldNs));
    out.push([`4. growth ${target}: ≤ 1/10 of dlmalloc's calls per trace, < 1% of a replay`,
      `calls ≤ ${fmt(callRatio, 3)}× dlmalloc's; growth ≤ ${fmt(timeShare * 100, 2)}% of the cold replay`]);
  }
  const sizes = exists(path.join(rawDir, 'codesize.json')) ? readJson(path.join(rawDir, 'codesize.json')) : {};
  if (sizes.wasm32?.lmalloc !== undefined) {
    out.push(['5. code size wasm32: ≤ 6144 bytes (6 KiB)', `${sizes.wasm32.lmalloc} bytes (dlmalloc ${sizes.wasm32.dlmalloc ?? '–'})`]);
  }
  const instructionRatio = (base) => geomean(benchesOf('native').map((b) => {
    const a = countOf('native', 'instructions', 'lmalloc', b), c = countOf('native', 'instructions', base, b);
    return a && c ? instructionsPerCall(a) / instructionsPerCall(c) : NaN;
  }));
  if (counts.some((c) => c.measure === 'instructions' && c.target === 'native' && c.allocator === 'lmalloc')) {
    const worst = Math.max(...benchesOf('native').map((b) => {
      const a = countOf('native', 'instructions', 'lmalloc', b), c = countOf('native', 'instructions', 'dlmalloc', b);
      return a && c ? instructionsPerCall(a) / instructionsPerCall(c) : -Infinity;
    }));
    out.push(['allocator instructions per call (native): geomean ≤ 1.25× mimalloc\'s, ≤ 1.0× dlmalloc\'s on every workload',
      `${fmt(instructionRatio('mimalloc'))}× mimalloc's, ${fmt(instructionRatio('dlmalloc'))}× dlmalloc's (worst ${fmt(worst)}×)`]);
  }
  out.push(...threadGoals(sizes));
  out.push(...ratchetGoals());
  for (const target of targetsRun) {
    if (!allocatorsOf(target).includes('lmalloc_nochecks')) continue;
    const costs = benchesOf(target).map((b) => (get(target, 'lmalloc', b)?.ops ?? NaN) / (get(target, 'lmalloc_nochecks', b)?.ops ?? NaN));
    out.push([`6. misuse checks ${target}: lmalloc ≥ 0.95× lmalloc_nochecks`,
      `${fmt(geomean(costs), 3)}× (geomean), worst ${fmt(Math.min(...costs.filter(Number.isFinite)), 3)}×`]);
  }
  return out;
}
// Thread workloads (bench_threads_<allocator>, raw/threads/): one record per
// target, allocator, workload and thread count.
// A run's rounds (one file each) give the highest throughput (see above)
// and the median footprint.
const threadsDir = path.join(rawDir, 'threads');
const threadRounds = new Map();
if (exists(threadsDir)) {
  for (const file of fs.readdirSync(threadsDir).filter((f) => f.endsWith('.json')).sort()) {
    try {
      const r = readJson(path.join(threadsDir, file));
      const key = `${r.target}|${r.allocator}|${r.workload}|${r.threads}`;
      if (!threadRounds.has(key)) threadRounds.set(key, []);
      threadRounds.get(key).push(r);
    } catch (error) {
      problems.push(`threads/${file}: ${error.message}`);
    }
  }
}
const threadResults = [...threadRounds.values()].map((list) => ({
  ...fastest(list, 'ops_per_s'),
  footprint_bytes: median(list.map((r) => r.footprint_bytes)),
  verify_failures: list.reduce((sum, r) => sum + (r.verify_failures ?? 0), 0),
}));
const THREAD_WORKLOADS = ['churn', 'larson', 'prodcons'];
const THREAD_COUNTS = [1, 2, 4];
const threadRun = (target, allocator, workload, threads) => threadResults.find((r) =>
  r.target === target && r.allocator === allocator && r.workload === workload && r.threads === threads);
const threadRatio = (target, allocator, workload, threads, field) => {
  const a = threadRun(target, allocator, workload, threads), b = threadRun(target, allocator, workload, 1);
  return a && b ? a[field] / b[field] : NaN;
};
const threadTargets = TARGETS.filter((t) => threadResults.some((r) => r.target === t));

// The ratchet (bench_ratchet_<allocator>, raw/ratchet/): footprint over
// requests with the scratch on the heap or (lmalloc) in arenas, and the
// scratch's allocation speed. One record per target, allocator, mode, scratch.
const ratchetDir = path.join(rawDir, 'ratchet');
const ratchetResults = [];
if (exists(ratchetDir)) {
  for (const file of fs.readdirSync(ratchetDir).filter((f) => f.endsWith('.json')).sort()) {
    try {
      ratchetResults.push(readJson(path.join(ratchetDir, file)));
    } catch (error) {
      problems.push(`ratchet/${file}: ${error.message}`);
    }
  }
}
const ratchetTargets = TARGETS.filter((t) => ratchetResults.some((r) => r.target === t));
const ratchetRun = (target, allocator, mode, scratch) => ratchetResults.find((r) =>
  r.target === target && r.allocator === allocator && r.mode === mode && r.scratch === scratch);
const ratchetLabel = (r) => `${r.allocator}${r.scratch === 'arena' ? ' (arenas)' : ''}${r.footprint_kind === 'rss' ? '†' : ''}`;
// Footprint at the end, after warm-up (a tenth of the requests), and ÷ the peak of live bytes.
const ratchetFootprint = (r) => {
  const last = r.samples.at(-1), warm = r.samples[Math.floor(r.samples.length / 10)];
  return { final: last[1], warm: warm[1], ratio: last[1] / r.peak_live_bytes, creep: last[1] / warm[1] };
};

function ratchetGoals() {
  const out = [];
  for (const target of ratchetTargets) {
    const arena = ratchetRun(target, 'lmalloc', 'ratchet', 'arena'), heap = ratchetRun(target, 'lmalloc', 'ratchet', 'heap');
    if (arena) {
      const f = ratchetFootprint(arena);
      out.push([`arenas ${target}: ratchet footprint ≤ 1.1× peak live, flat after warm-up`,
        `${fmt(f.ratio)}× peak live, ${fmt((f.creep - 1) * 100, 1)}% growth after warm-up` +
        (heap ? ` (scratch on lmalloc's heap: ${fmt(ratchetFootprint(heap).ratio)}×, ${fmt((ratchetFootprint(heap).creep - 1) * 100, 1)}%)` : '')]);
    }
    const speed = ratchetRun(target, 'lmalloc', 'speed', 'arena'), bump = ratchetRun(target, 'bump', 'speed', 'heap');
    if (speed && bump) {
      out.push([`arenas ${target}: allocation ≥ the bump allocator's ÷ 1.1 (≥ 0.91×)`,
        `${fmt(speed.allocs_per_s / bump.allocs_per_s)}× (${mops(speed.allocs_per_s)} vs ${mops(bump.allocs_per_s)} M allocations/s)`]);
    }
  }
  return out;
}

function threadGoals(sizes) {
  const out = [];
  if (!threadResults.length) return out;
  const noLmalloc = (target) => !threadResults.some((r) => r.target === target && r.allocator === 'lmalloc');
  for (const target of threadTargets) {
    const best = sortAllocators(threadResults.filter((r) => r.target === target).map((r) => r.allocator))
      .filter((a) => a !== 'lmalloc').map((a) => `${a} ${fmt(threadRatio(target, a, 'churn', 2, 'ops_per_s'))}×`).join(', ');
    out.push([`threads ${target}: 2 threads ≥ 1.8× one thread on independent churn`,
      noLmalloc(target) ? `no lmalloc thread runs (${best})`
        : `${fmt(threadRatio(target, 'lmalloc', 'churn', 2, 'ops_per_s'))}× (${best})`]);
  }
  if (threadTargets.includes('native')) {
    const cells = [2, 4].map((threads) => {
      const a = threadRun('native', 'lmalloc', 'prodcons', threads), b = threadRun('native', 'mimalloc', 'prodcons', threads);
      return `${threads} threads ${a && b ? `${fmt(a.ops_per_s / b.ops_per_s)}×` : '–'}`;
    });
    out.push(['threads native: producer/consumer ≥ mimalloc ÷ 1.2 (≥ 0.83× mimalloc)', cells.join(', ')]);
  }
  for (const target of threadTargets) {
    const ratios = THREAD_WORKLOADS.flatMap((workload) => [2, 4].map((threads) =>
      [`${workload} ×${threads}`, threadRatio(target, 'lmalloc', workload, threads, 'footprint_bytes')]))
      .filter(([, r]) => Number.isFinite(r));
    const worst = ratios.reduce((w, x) => (x[1] > w[1] ? x : w), ['', -Infinity]);
    out.push([`threads ${target}: footprint with threads ≤ 1.3× single-threaded`,
      ratios.length ? `worst ${fmt(worst[1])}× (${worst[0]})` : 'no lmalloc thread runs']);
  }
  if (sizes.wasm32) {
    out.push(['threads: threaded wasm32 build ≤ 10 KiB of code (single-threaded unchanged)',
      sizes.wasm32.lmalloc_threads !== undefined
        ? `${sizes.wasm32.lmalloc_threads} bytes (single-threaded ${sizes.wasm32.lmalloc ?? '–'})` : 'not measured']);
  }
  return out;
}

const goalRows = goals();
if (goalRows.length) {
  line('## Goals at a glance (lmalloc)');
  line();
  table(['goal', 'this run'], goalRows, ['l', 'l']);
}

const charts = [];
for (const target of targetsRun) {
  const allocators = allocatorsOf(target);
  const benches = benchesOf(target);
  const hasBase = allocators.includes('dlmalloc');
  line(`## ${target}`);
  line();
  line(`Throughput, M ops/s${hasBase ? ' (× dlmalloc)' : ''}:`);
  line();
  const rows = benches.map((bench) => [bench, ...allocators.map((allocator) => {
    const r = get(target, allocator, bench);
    if (!r) return '–';
    const base = get(target, 'dlmalloc', bench);
    const mark = r.verifyFailures > 0 ? ' ✗' : r.outOfMemory > 0 ? ' (oom)' : '';
    return hasBase && base ? `${mops(r.ops)} (${fmt(r.ops / base.ops)}×)${mark}` : `${mops(r.ops)}${mark}`;
  })]);
  if (hasBase) {
    rows.push(['**geomean × dlmalloc**', ...allocators.map((allocator) => `**${fmt(geomean(benches.map((bench) =>
      (get(target, allocator, bench)?.ops ?? NaN) / (get(target, 'dlmalloc', bench)?.ops ?? NaN))))}×**`)]);
  }
  table(['workload', ...allocators], rows);

  // What the allocator does per call, counted (bench/count): instructions and traffic.
  const counted = targetTables(counts, target, { allocators: sortAllocators(counts.map((c) => c.allocator)), benches });
  if (counted) {
    line(counted);
    line();
  }

  line('Footprint: memory taken past the heap start ÷ peak live bytes requested' +
       (allocators.some((a) => !SEAM_ALLOCATORS.has(a)) ? ' (system allocators†: peak resident-set growth instead)' : '') + ':');
  line();
  table(['workload', ...allocators.map((a) => (SEAM_ALLOCATORS.has(a) ? a : `${a}†`))],
    benches.map((bench) => [bench, ...allocators.map((allocator) => fmt(get(target, allocator, bench)?.footprint))]));

  const seam = allocators.filter((a) => SEAM_ALLOCATORS.has(a));
  line('Growth during the cold pass: calls to the target / time in them (share of the pass):');
  line();
  table(['workload', ...seam], benches.map((bench) => [bench, ...seam.map((allocator) => {
    const r = get(target, allocator, bench);
    if (!r) return '–';
    if (!r.growTimed) return `${r.growCalls}`;
    return `${r.growCalls} / ${fmt(r.growNs / 1e6)} ms (${fmt((100 * r.growNs) / r.coldNs, 1)}%)`;
  })]));

  charts.push(barChart(`throughput-${target}`, `${target}: throughput ÷ dlmalloc (log scale)`,
    results.filter((r) => r.target === target && get(target, 'dlmalloc', r.bench))
      .map((r) => ({ workload: r.bench, allocator: r.allocator, value: r.ops / get(target, 'dlmalloc', r.bench).ops })),
    'ops/s ÷ dlmalloc', true, allocators, benches));
  charts.push(barChart(`footprint-${target}`, `${target}: footprint ÷ peak live bytes (log scale)`,
    results.filter((r) => r.target === target && r.footprint > 0)
      .map((r) => ({ workload: r.bench, allocator: r.allocator, value: r.footprint })),
    'footprint ÷ peak live', true, allocators, benches));
}

if (threadTargets.length) {
  line('## Threads: throughput by thread count, and footprint');
  line();
  line('The same total work on 1, 2 and 4 threads (this machine has ' +
       `${threadResults[0].cpus} processors): allocator calls per second, M ops/s (× the same allocator on one ` +
       'thread), and footprint in MiB (× one thread; system allocators†: peak resident-set growth). churn: ' +
       'each thread on its own blocks; larson: a server whose threads free blocks other threads allocated; ' +
       'prodcons: every block freed by another thread than the one that allocated it. Locked‡: not ' +
       'thread-safe itself, run behind one lock.');
  line();
  for (const target of threadTargets) {
    const allocators = sortAllocators(threadResults.filter((r) => r.target === target).map((r) => r.allocator));
    const label = (a) => {
      const r = threadResults.find((x) => x.target === target && x.allocator === a);
      return `${a}${r.footprint_kind === 'rss' ? '†' : ''}${r.locked ? '‡' : ''}`;
    };
    line(`${target}:`);
    line();
    const rows = [];
    for (const workload of THREAD_WORKLOADS) {
      for (const allocator of allocators) {
        const cells = THREAD_COUNTS.map((threads) => {
          const r = threadRun(target, allocator, workload, threads);
          if (!r) return '–';
          const mark = r.verify_failures > 0 ? ' ✗' : '';
          return threads === 1 ? `${mops(r.ops_per_s)}${mark}`
            : `${mops(r.ops_per_s)} (${fmt(threadRatio(target, allocator, workload, threads, 'ops_per_s'))}×)${mark}`;
        });
        const footprints = THREAD_COUNTS.map((threads) => {
          const r = threadRun(target, allocator, workload, threads);
          if (!r) return '–';
          const mib = fmt(r.footprint_bytes / 2 ** 20, 1);
          return threads === 1 ? mib : `${mib} (${fmt(threadRatio(target, allocator, workload, threads, 'footprint_bytes'))}×)`;
        });
        rows.push([workload, label(allocator), ...cells, ...footprints]);
      }
    }
    table(['workload', 'allocator', '1 thread', '2 threads', '4 threads', 'MiB, 1', '2', '4'], rows, ['l', 'l']);
    charts.push(barChart(`threads-${target}`, `${target}: speed-up over one thread (same total work)`,
      threadResults.filter((r) => r.target === target && r.threads > 1)
        .map((r) => ({ workload: `${r.workload} ×${r.threads}`, allocator: r.allocator,
          value: threadRatio(target, r.allocator, r.workload, r.threads, 'ops_per_s') }))
        .filter((p) => Number.isFinite(p.value)),
      'ops/s ÷ one thread', false, allocators,
      THREAD_WORKLOADS.flatMap((w) => [2, 4].map((t) => `${w} ×${t}`))));
  }
}

if (ratchetTargets.length) {
  const first = ratchetResults.find((r) => r.mode === 'ratchet');
  line('## Ratchet: footprint over requests, scratch on the heap or in arenas');
  line();
  line('A server (`bench/ratchet`): 2048 long-lived objects of 16 B - 32 KiB, 8 of them replaced per request at ' +
       'points spread through it; each request\'s scratch is 16 - 256 blocks of 16 B - 256 KiB, all dropped at its ' +
       `end; ${first ? first.samples.at(-1)[0] : '–'} requests. Footprint: memory taken through the seam (system ` +
       'allocators†: peak resident-set growth, which misses the pages of large blocks the workload never touches: it ' +
       'writes only their first and last words), in MiB; warm = after a tenth of the requests; growth = end ÷ warm. ' +
       '"(arenas)": the scratch in an lm_arena reset after each request, the long-lived set on the heap. ' +
       'Speed: scratch allocations per second, requests of 16 - 256 blocks of 16 B - 16 KiB (the arena\'s bump ' +
       'path) dropped at the end (arena: reset; bump: its reset; heap: each freed).');
  line();
  for (const target of ratchetTargets) {
    const runs = ratchetResults.filter((r) => r.target === target && r.mode === 'ratchet');
    runs.sort((a, b) => (a.allocator === 'lmalloc' ? 0 : 1) - (b.allocator === 'lmalloc' ? 0 : 1) ||
      a.allocator.localeCompare(b.allocator) || (a.scratch === 'arena' ? -1 : 1));
    line(`${target}:`);
    line();
    table(['allocator', 'peak live', 'warm', 'end', 'end ÷ peak live', 'growth after warm-up'],
      runs.map((r) => {
        const f = ratchetFootprint(r);
        return [ratchetLabel(r) + (r.verify_failures ? ' ✗' : ''), fmt(r.peak_live_bytes / 2 ** 20, 1), fmt(f.warm / 2 ** 20, 1),
          fmt(f.final / 2 ** 20, 1), `${fmt(f.ratio)}×`, `${fmt((f.creep - 1) * 100, 1)}%`];
      }), ['l']);
    const speeds = ratchetResults.filter((r) => r.target === target && r.mode === 'speed');
    if (speeds.length) {
      const bump = ratchetRun(target, 'bump', 'speed', 'heap');
      table(['scratch speed', 'M allocations/s', '× bump'], speeds.map((r) => [ratchetLabel(r), mops(r.allocs_per_s),
        bump ? `${fmt(r.allocs_per_s / bump.allocs_per_s)}×` : '–']), ['l']);
    }
    const live = runs.find((r) => r.allocator === 'lmalloc') ?? runs[0];
    const series = runs.map(ratchetLabel);
    const values = runs.flatMap((r) => r.samples.map(([request, footprint]) =>
      ({ request, MiB: footprint / 2 ** 20, series: ratchetLabel(r) })));
    if (live) values.push(...live.samples.map(([request, , liveBytes]) => ({ request, MiB: liveBytes / 2 ** 20, series: 'long-lived bytes' })));
    charts.push(lineChart(`ratchet-${target}`, `${target}: footprint over requests (MiB; peak live ` +
      `${live ? fmt(live.peak_live_bytes / 2 ** 20, 1) : '–'} MiB)`, values, [...series, 'long-lived bytes']));
  }
}

if (targetsRun.includes('wasm32') && targetsRun.includes('wasm64')) {
  const allocators = allocatorsOf('wasm64').filter((a) => allocatorsOf('wasm32').includes(a));
  const benches = benchesOf('wasm64').filter((b) => benchesOf('wasm32').includes(b));
  line('## Pointer width: wasm64 ÷ wasm32');
  line();
  line('Time per operation (wasm32 ops/s ÷ wasm64 ops/s; above 1 = wasm64 slower) / footprint (wasm64 ÷ wasm32):');
  line();
  const points = [];
  table(['workload', ...allocators], benches.map((bench) => [bench, ...allocators.map((allocator) => {
    const a = get('wasm32', allocator, bench), b = get('wasm64', allocator, bench);
    if (!a || !b) return '–';
    const time = a.ops / b.ops, footprint = b.footprint / a.footprint;
    points.push({ workload: bench, allocator, value: time, measure: 'time' }, { workload: bench, allocator, value: footprint, measure: 'footprint' });
    return `${fmt(time)} / ${fmt(footprint)}`;
  })]));
  charts.push(barChart('pointer-width-time', 'wasm64 time ÷ wasm32 time per operation', points.filter((p) => p.measure === 'time'),
    'wasm64 ÷ wasm32 (time)', false, allocators, benches));
  charts.push(barChart('pointer-width-footprint', 'wasm64 footprint ÷ wasm32 footprint', points.filter((p) => p.measure === 'footprint'),
    'wasm64 ÷ wasm32 (footprint)', false, allocators, benches));
}

// Memory traffic: where a layout's dependence on the pointer width shows.
const width = widthSection(counts, sortAllocators(counts.map((c) => c.allocator)), sortBenches(counts.map((c) => c.bench)), '##');
if (width.length) {
  for (const text of width) line(text);
  const ratios = widthRatios(counts, sortAllocators(counts.map((c) => c.allocator)), sortBenches(counts.map((c) => c.bench)));
  const allocators = sortAllocators(ratios.map((r) => r.allocator));
  charts.push(barChart('traffic-width', 'memory traffic per call, wasm64 ÷ wasm32',
    ratios.map((r) => ({ workload: r.bench, allocator: r.allocator, value: r.ratio })),
    'wasm64 ÷ wasm32 (bytes per call)', false, allocators, sortBenches(ratios.map((r) => r.bench))));
}
for (const target of targetsRun) {
  const points = counts.filter((c) => c.target === target && c.measure === 'traffic')
    .map((c) => ({ workload: c.bench, allocator: c.allocator, value: trafficPerCall(c) }));
  if (points.length) {
    charts.push(barChart(`traffic-${target}`, `${target}: bytes the allocator loads and stores per call (log scale)`,
      points, 'bytes per call', true, sortAllocators(points.map((p) => p.allocator)), sortBenches(points.map((p) => p.workload))));
  }
  const instructionPoints = counts.filter((c) => c.target === target && c.measure === 'instructions')
    .map((c) => ({ workload: c.bench, allocator: c.allocator, value: instructionsPerCall(c) }));
  if (instructionPoints.length) {
    charts.push(barChart(`instructions-${target}`, `${target}: allocator instructions per call (log scale)`,
      instructionPoints, 'instructions per call', true, sortAllocators(instructionPoints.map((p) => p.allocator)),
      sortBenches(instructionPoints.map((p) => p.workload))));
  }
}

// Real clients: programs built against lmalloc and against their toolchain's
// own allocator (raw/clients.json; see bench/README.md for its shape).
const clientsFile = path.join(rawDir, 'clients.json');
if (exists(clientsFile)) {
  const runs = readJson(clientsFile).clients ?? [];
  const baseOf = (r) => runs.find((b) => b.baseline && b.client === r.client && b.target === r.target && b.engine === r.engine);
  line('## Real clients');
  line();
  line('Whole programs built once with lmalloc and once with their toolchain\'s own allocator: wall time (× the ' +
       'toolchain allocator\'s), the final `memory.buffer.byteLength`, and the calls that grew memory:');
  line();
  table(['client', 'target', 'engine', 'allocator', 'wall time', 'memory', 'growth calls'], runs.map((r) => {
    const base = baseOf(r);
    return [r.client, r.target ?? '–', r.engine ?? '–', `${r.allocator}${r.baseline ? ' (toolchain)' : ''}`,
      `${fmt(r.wall_ms, 1)} ms${base && !r.baseline ? ` (${fmt(r.wall_ms / base.wall_ms)}×)` : ''}`,
      `${fmt(r.memory_bytes / 2 ** 20, 1)} MiB${base && !r.baseline ? ` (${fmt(r.memory_bytes / base.memory_bytes)}×)` : ''}`,
      `${r.grow_calls ?? '–'}`];
  }), ['l', 'l', 'l', 'l']);
}

// Code size.
const codesizeFile = path.join(rawDir, 'codesize.json');
if (exists(codesizeFile)) {
  const sizes = readJson(codesizeFile);
  const targets = Object.keys(sizes);
  const allocators = sortAllocators(targets.flatMap((t) => Object.keys(sizes[t]).filter((k) => k !== 'baseline')));
  line('## Code size');
  line();
  line('Bytes of wasm code section a module gains by using the allocator\'s malloc, calloc, realloc and free ' +
       '(module with the allocator minus the same module with a stub), -O2:');
  line();
  table(['allocator', ...targets], allocators.map((a) => [a, ...targets.map((t) => sizes[t][a] ?? '–')]));
  charts.push(barChart('codesize', 'code added to a module (bytes)',
    targets.flatMap((t) => allocators.filter((a) => sizes[t][a] !== undefined).map((a) => ({ workload: t, allocator: a, value: sizes[t][a] }))),
    'bytes', false, allocators, targets));
}

// Growth cost.
const growthDir = path.join(rawDir, 'growth');
if (exists(growthDir)) {
  const points = [];
  const rows = [];
  for (const file of fs.readdirSync(growthDir).filter((f) => f.endsWith('.json')).sort()) {
    let data;
    try {
      data = readJson(path.join(growthDir, file));
    } catch (error) {
      problems.push(`growth/${file}: ${error.message}`);
      continue;
    }
    const series = file.replace(/\.json$/, '');
    const steps = data.benchmarks.filter((b) => b.name.startsWith('grow/'));
    const sizes = [...new Set(steps.map((b) => b.name.split('/')[1].slice(3)))];
    for (const size of sizes) {
      const cells = [1, 16, 256, 4096].map((pages) => {
        const row = steps.find((b) => b.name === `grow/at:${size}/pages:${pages}`);
        if (!row) return '–';
        if (row.failed && !row.iterations) return 'failed';
        const nominal = Number.parseFloat(size) / (size.endsWith('MiB') ? 1024 : 1);   // GiB
        points.push({ series, size, pages: String(pages), memory: nominal, us: row.real_time / 1000 });
        return `${fmt(row.real_time / 1000, row.real_time < 100000 ? 1 : 0)}${row.failed ? ' (then failed)' : ''}`;
      });
      const touch = steps.filter((b) => b.name.startsWith(`grow/at:${size}/`) && b.touch_ns_per_page > 0);
      const touchCost = touch.length ? fmt(touch.reduce((s, b) => s + b.touch_ns_per_page, 0) / touch.length / 1000, 1) : '–';
      rows.push([series, size, ...cells, touchCost]);
    }
    const failedReach = data.benchmarks.find((b) => b.name.startsWith('grow_to/') && b.failed);
    if (failedReach) rows.push([series, failedReach.name.slice(8), 'cannot grow there', '', '', '', '']);
  }
  line('## Growth cost');
  line();
  line('Median µs per growth call (memory.grow natively: mprotect of the reservation) by increment, at a memory ' +
       'size; first touch = µs per 64 KiB page to write the new memory once (increments ≤ 256 pages). ' +
       '"max"/"nomax": module declares a maximum or not. On Node 24, "max" runs with a resizable buffer ' +
       '(`memory.toResizableBuffer()`, flag --experimental-wasm-rab-integration) and "max-fixed" with the classic ' +
       'one, which V8 replaces by a new ArrayBuffer for the whole memory on every grow, with GC work once memory ' +
       'passes ~64 MiB; node 20 and "nomax" (no maximum) always use the classic buffer.');
  line();
  table(['engine', 'memory', '+1 page', '+16', '+256', '+4096', 'first touch'], rows, ['l', 'l']);
  if (points.length) charts.push(growthChart(points));
}
if (problems.length) {
  line('## Problems');
  line();
  for (const problem of problems) line(`- ${problem}`);
  line();
}
line('## Files');
line();
line('- `raw/<target>.json`: every run of a target in one google-benchmark JSON file; compare two with ' +
     '`/usr/bin/python3 /usr/share/benchmark/compare.py benchmarks raw/wasm32.json raw/wasm64.json`, or two allocators ' +
     'with `compare.py filters raw/wasm32.json random_small/dlmalloc random_small/lmalloc`.');
line('- `raw/<target>/<allocator>/<workload>.json`: the individual runs; `raw/logs/`: their output; ' +
     '`raw/growth/`, `raw/codesize.json`, `raw/run.json`.');
line('- `raw/counts.md`, `raw/counts.json`: bench/count\'s counts, per kind of call.');
line('- `raw/threads/<target>-<allocator>-<workload>-<threads>.json`: the thread workloads, one run each.');
line('- `raw/ratchet/<target>-<allocator>-<ratchet|speed>-<heap|arena>.json`: the ratchet runs, footprint and live ' +
     'bytes every 20 requests (`samples`: [request, footprint, live]).');
line('- `benchres.csv`: every result in mimalloc-bench\'s `benchres.csv` shape (benchmark allocator elapsed rss ' +
     'user sys page-faults page-reclaims): benchmark `<target>/<workload>`, elapsed and user = seconds per pass ' +
     '(user: CPU time natively, wall time on wasm), rss = footprint in KiB (peak memory taken through the seam, ' +
     'or peak resident-set growth for the system allocators); sys and the page counts are not measured (0).');
line('- Workloads and measurements are described in `bench/README.md`.');
line();

// -------------------------------------------------------------- charts --
function barChart(name, title, values, yTitle, logScale, allocators, groups) {
  return {
    name, title,
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
      title, width: { step: 14 * Math.max(4, allocators.length) }, height: 260,
      data: { values },
      mark: { type: 'bar', tooltip: true },
      encoding: {
        x: { field: 'workload', type: 'nominal', sort: groups, title: null, axis: { labelAngle: -35, labelLimit: 220 } },
        xOffset: { field: 'allocator', sort: allocators },
        y: { field: 'value', type: 'quantitative', title: yTitle, stack: null,
             scale: logScale ? { type: 'log' } : { zero: true } },
        color: { field: 'allocator', sort: allocators, scale: { scheme: 'tableau10' } },
      },
    },
  };
}

function lineChart(name, title, values, series) {
  return {
    name, title,
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
      title, width: 640, height: 300,
      data: { values },
      mark: { type: 'line', tooltip: true },
      encoding: {
        x: { field: 'request', type: 'quantitative', title: 'requests' },
        y: { field: 'MiB', type: 'quantitative', title: 'MiB', scale: { zero: false } },
        color: { field: 'series', type: 'nominal', sort: series, title: null, scale: { scheme: 'tableau10' } },
        strokeDash: { condition: { test: "datum.series === 'long-lived bytes'", value: [4, 3] }, value: [1, 0] },
      },
    },
  };
}

function growthChart(points) {
  return {
    name: 'growth', title: 'cost of one growth call',
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
      title: 'cost of one growth call (median µs, log) by memory size before it',
      data: { values: points },
      facet: { field: 'series', type: 'nominal', title: null },
      columns: 4,
      spec: {
        width: 170, height: 150,
        mark: { type: 'line', point: true, tooltip: true },
        encoding: {
          x: { field: 'memory', type: 'quantitative', title: 'memory (GiB)' },
          y: { field: 'us', type: 'quantitative', scale: { type: 'log' }, title: 'µs per call' },
          color: { field: 'pages', type: 'nominal', sort: ['1', '16', '256', '4096'], title: 'pages added',
                   scale: { scheme: 'category10' } },
        },
      },
    },
  };
}

async function loadVega() {
  const base = process.env.NODE_BENCH_MODULES;
  if (!base) return null;
  const require = createRequire(path.join(path.resolve(base), 'package.json'));
  const load = async (name) => {
    try {
      return require(name);
    } catch {
      return import(require.resolve(name));
    }
  };
  try {
    return { vega: await load('vega'), vl: await load('vega-lite') };
  } catch (error) {
    console.log(`charts skipped: vega/vega-lite not loadable from ${base} (${error.message})`);
    return null;
  }
}

const libs = await loadVega();
const rendered = [];
if (libs) {
  for (const chart of charts) {
    try {
      const view = new libs.vega.View(libs.vega.parse(libs.vl.compile(chart.spec).spec), { renderer: 'none' });
      const svg = await view.toSVG();
      fs.writeFileSync(path.join(chartDir, `${chart.name}.svg`), svg);
      fs.writeFileSync(path.join(chartDir, `${chart.name}.vl.json`), JSON.stringify(chart.spec, null, 1));
      rendered.push(chart);
    } catch (error) {
      console.log(`chart ${chart.name} failed: ${error.message}`);
    }
  }
} else if (!process.env.NODE_BENCH_MODULES) {
  console.log('charts skipped: NODE_BENCH_MODULES is not set (bench/run sets it)');
}
if (rendered.length) {
  md.splice(md.indexOf('## Files'), 0, '## Charts', '',
    ...rendered.map((c) => `![${c.title}](charts/${c.name}.svg)`), '');
}

const summary = md.join('\n');
fs.writeFileSync(path.join(reportDir, 'summary.md'), summary);

// ---------------------------------------------------------------- html --
// The summary's own small Markdown subset: headings, tables, lists, images,
// bold and code.
const escape = (text) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const inline = (text) => escape(text)
  .replace(/!\[([^\]]*)\]\(([^)]+)\)/g, '<figure><img src="$2" alt="$1"></figure>')
  .replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>')
  .replace(/`([^`]+)`/g, '<code>$1</code>');
const html = [];
const lines = summary.split('\n');
for (let i = 0; i < lines.length; i++) {
  const text = lines[i];
  if (text.startsWith('#')) {
    const level = text.match(/^#+/)[0].length;
    html.push(`<h${level}>${inline(text.slice(level).trim())}</h${level}>`);
  } else if (text.startsWith('|')) {
    const cells = (row) => row.slice(1, -1).split(' | ').map((c) => c.trim());
    // Alignment from the separator row: "---:" right, "---" left.
    const align = lines[i + 1].slice(1, -1).split('|').map((c) => (c.trim().endsWith(':') ? 'right' : 'left'));
    const cell = (tag, c, index) => `<${tag} style="text-align:${align[index] ?? 'left'}">${inline(c)}</${tag}>`;
    html.push('<table><thead><tr>' + cells(text).map((c, index) => cell('th', c, index)).join('') + '</tr></thead><tbody>');
    i += 2;
    for (; i < lines.length && lines[i].startsWith('|'); i++) {
      html.push('<tr>' + cells(lines[i]).map((c, index) => cell('td', c, index)).join('') + '</tr>');
    }
    html.push('</tbody></table>');
    i--;
  } else if (text.startsWith('- ')) {
    html.push(`<ul><li>${inline(text.slice(2))}</li></ul>`);
  } else if (text.trim()) {
    html.push(`<p>${inline(text)}</p>`);
  }
}
fs.writeFileSync(path.join(reportDir, 'index.html'), `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>lmalloc benchmark report</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1200px; padding: 0 1em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.2em; }
th, td { border: 1px solid #ccc; padding: 3px 8px; white-space: nowrap; }
thead { background: #f2f2f2; }
figure { margin: 1em 0; } img { max-width: 100%; }
code { background: #f4f4f4; padding: 0 3px; }
</style></head><body>
${html.join('\n')}
</body></html>
`);
console.log(`${results.length} results, ${rendered.length} charts -> ${path.join(reportDir, 'summary.md')}, index.html`);
