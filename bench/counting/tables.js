// Markdown tables of bench/count's results, printed by bench/count and
// embedded in the report (bench/report/report.mjs).
//
// A result is one count of one allocator on one benchmark and target:
//   { target, allocator, bench, measure: 'instructions', passInstructions,
//     kinds: { malloc: { calls, instructions }, ... } }
//   { target, allocator, bench, measure: 'traffic',
//     kinds: { malloc: { calls, loads, loadBytes, stores, storeBytes }, ... } }
// Kinds without calls are left out.
'use strict';

const CALL_KINDS = ['malloc', 'calloc', 'memalign', 'realloc', 'free'];
const BASELINES = ['dlmalloc', 'mimalloc'];
const INSTRUCTIONS_METHOD = {
  native: 'x86-64 instructions, callgrind',
  wasm32: 'wasm instructions of the module as wasm-ld links it, before wasm-opt',
  wasm64: 'wasm instructions of the module as wasm-ld links it, before wasm-opt',
};

const sum = (values) => values.reduce((total, value) => total + value, 0);
// Of the finite values; 0 if one is 0 (bump's free).
const geomean = (values) => {
  const good = values.filter((v) => Number.isFinite(v) && v >= 0);
  if (good.includes(0)) return 0;
  return good.length ? Math.exp(sum(good.map(Math.log)) / good.length) : NaN;
};
const fixed = (value, digits) => (Number.isFinite(value) ? value.toFixed(digits) : '–');
const perCall = (value) => (!Number.isFinite(value) ? '–' : value >= 100 ? value.toFixed(0) : value.toFixed(1));

function table(header, rows) {
  return [`| ${header.join(' | ')} |`, `|---|${header.slice(1).map(() => '---:').join('|')}|`,
    ...rows.map((row) => `| ${row.join(' | ')} |`)].join('\n');
}

const calls = (r) => sum(Object.values(r.kinds).map((k) => k.calls));
const instructions = (r) => sum(Object.values(r.kinds).map((k) => k.instructions));
const bytes = (k) => k.loadBytes + k.storeBytes;
const trafficBytes = (r) => sum(Object.values(r.kinds).map(bytes));

// Per call over all kinds, and per call of one kind.
const instructionsPerCall = (r) => instructions(r) / calls(r);
const trafficPerCall = (r) => trafficBytes(r) / calls(r);
const kindInstructions = (kind) => (r) => (r.kinds[kind] ? r.kinds[kind].instructions / r.kinds[kind].calls : NaN);
const kindTraffic = (kind) => (r) => (r.kinds[kind] ? bytes(r.kinds[kind]) / r.kinds[kind].calls : NaN);

// Rows: benchmarks; columns: allocators; value(result) per cell (with its
// ratio to the first baseline there when withRatio), then the geometric mean
// and (when ratios) its ratio to each baseline. `format` writes a value,
// `cell` a cell (default: its value).
function perCallTable(find, benches, allocators, value,
                      { withRatio = false, ratios = true, format = perCall, cell = format } = {}) {
  const of = (bench, allocator) => { const r = find(bench, allocator); return r ? value(r) : NaN; };
  const shown = benches.filter((bench) => allocators.some((a) => Number.isFinite(of(bench, a))));
  if (!shown.length) return null;
  const ratioTo = withRatio ? BASELINES.find((b) => allocators.includes(b)) : undefined;
  const text = (bench, allocator) => {
    const v = of(bench, allocator);
    if (!Number.isFinite(v)) return '–';
    return cell(v, find(bench, allocator)) + (ratioTo ? ` (${fixed(v / of(bench, ratioTo), 2)}×)` : '');
  };
  const rows = shown.map((bench) => [bench, ...allocators.map((a) => text(bench, a))]);
  rows.push(['**geomean**', ...allocators.map((a) => `**${format(geomean(shown.map((b) => of(b, a))))}**`)]);
  for (const baseline of BASELINES.filter((b) => ratios && allocators.includes(b))) {
    rows.push([`geomean × ${baseline}`, ...allocators.map((a) => {
      const ratio = geomean(shown.map((b) => of(b, a) / of(b, baseline)));
      return Number.isFinite(ratio) ? `${fixed(ratio, 2)}×` : '–';
    })]);
  }
  return table(['workload', ...allocators], rows);
}

function finder(results, target, measure) {
  const index = new Map(results.filter((r) => r.target === target && r.measure === measure)
    .map((r) => [`${r.bench}|${r.allocator}`, r]));
  return (bench, allocator) => index.get(`${bench}|${allocator}`);
}

// The sections for the given results; `heading` is the Markdown level of the
// section headings ('##' or '###').
function countTables(results, { targets, allocators, benches, heading = '##' }) {
  const out = [];
  const say = (text = '') => out.push(text);
  const present = (target, measure) => results.some((r) => r.target === target && r.measure === measure);
  const columns = (target, measure) => allocators.filter((a) => results.some((r) => r.target === target && r.measure === measure && r.allocator === a));

  for (const target of targets.filter((t) => present(t, 'instructions'))) {
    const find = finder(results, target, 'instructions');
    const shownAllocators = columns(target, 'instructions');
    const ratioTo = BASELINES.find((b) => shownAllocators.includes(b));
    say(`${heading} Allocator instructions per call, ${target}`);
    say();
    say(`Instructions inside the allocator's calls (${INSTRUCTIONS_METHOD[target]}) in one warm timed pass ÷ the calls ` +
        `the harness made; all kinds of call${ratioTo ? ` (× ${ratioTo}'s)` : ''}:`);
    say();
    say(perCallTable(find, benches, shownAllocators, instructionsPerCall, { withRatio: true }));
    for (const kind of CALL_KINDS) {
      const text = perCallTable(find, benches, shownAllocators, kindInstructions(kind));
      if (!text) continue;
      say();
      say(`${kind}:`);
      say();
      say(text);
    }
    say();
    say('Share of the pass: allocator instructions ÷ all instructions of the pass; ceiling = pass ÷ harness part, how ' +
        'much faster the pass could run if the allocator took no instructions at all (Amdahl\'s law in instructions; ' +
        'caches and branches left out):');
    say();
    say(table(['workload', ...shownAllocators], benches.filter((b) => shownAllocators.some((a) => find(b, a))).map((bench) =>
      [bench, ...shownAllocators.map((a) => {
        const r = find(bench, a);
        if (!r) return '–';
        const share = instructions(r) / r.passInstructions;
        return `${fixed(100 * share, 0)}% / ${fixed(1 / (1 - share), 2)}×`;
      })])));
    say();
  }

  for (const target of targets.filter((t) => present(t, 'traffic'))) {
    const find = finder(results, target, 'traffic');
    const shownAllocators = columns(target, 'traffic');
    const ratioTo = BASELINES.find((b) => shownAllocators.includes(b));
    say(`${heading} Memory traffic per call, ${target}`);
    say();
    say('Bytes the allocator\'s own code loads and stores per call (counted by compiling its sources with ' +
        '`-fsanitize-coverage=trace-loads,trace-stores`; bulk copies and fills such as realloc\'s memcpy are not ' +
        `counted), one warm timed pass; all kinds of call${ratioTo ? ` (× ${ratioTo}'s)` : ''}:`);
    say();
    say(perCallTable(find, benches, shownAllocators, trafficPerCall, { withRatio: true }));
    say();
    say('By kind of call, bytes loaded + stored:');
    for (const kind of CALL_KINDS) {
      const text = perCallTable(find, benches, shownAllocators, kindTraffic(kind), {
        cell: (v, r) => `${perCall(r.kinds[kind].loadBytes / r.kinds[kind].calls)} + ${perCall(r.kinds[kind].storeBytes / r.kinds[kind].calls)}`,
      });
      if (!text) continue;
      say();
      say(`${kind}:`);
      say();
      say(text);
    }
    say();
  }

  if (present('wasm32', 'traffic') && present('wasm64', 'traffic')) {
    const narrow = finder(results, 'wasm32', 'traffic'), wide = finder(results, 'wasm64', 'traffic');
    const shownAllocators = columns('wasm64', 'traffic').filter((a) => columns('wasm32', 'traffic').includes(a));
    say(`${heading} Memory traffic, wasm64 ÷ wasm32`);
    say();
    say('Bytes loaded and stored per call on wasm64 ÷ the same on wasm32 (1.00: the layout does not depend on the ' +
        'pointer width; 2.00: all of it is pointer-sized):');
    say();
    say(perCallTable((bench, allocator) => {
      const a = narrow(bench, allocator), b = wide(bench, allocator);
      return a && b ? { ratio: trafficPerCall(b) / trafficPerCall(a) } : undefined;
    }, benches, shownAllocators, (r) => r.ratio, { ratios: false, format: (v) => fixed(v, 2) }));
    say();
  }
  return out.join('\n');
}

module.exports = { CALL_KINDS, countTables, instructionsPerCall, trafficPerCall, geomean };
