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
// The order allocators are shown in, here and in the report.
const ALLOCATOR_ORDER = ['lmalloc', 'lmalloc_nochecks', 'lmalloc_secure', 'lmalloc_threads', 'dlmalloc', 'emmalloc', 'bump', 'glibc', 'mimalloc', 'jemalloc', 'tcmalloc'];
const sortAllocators = (list) => [...new Set(list)].sort((a, b) =>
  (ALLOCATOR_ORDER.indexOf(a) + 1 || 99) - (ALLOCATOR_ORDER.indexOf(b) + 1 || 99) || a.localeCompare(b));
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
                      { withRatio = false, ratios = true, format = perCall, cell } = {}) {
  cell ??= format;
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

// A measure's tables for one target: heading, what is counted, per call
// over all kinds (× the first baseline), and with detail one table per kind.
// Returns the lines and what the tables showed, for more lines after them.
function measureTables(results, target, measure, { allocators, benches, heading, title, what, value, kindValue, kindCell, detail }) {
  const out = [];
  const say = (text = '') => out.push(text);
  const find = finder(results, target, measure);
  const shown = allocators.filter((a) => benches.some((b) => find(b, a)));
  if (!shown.length) return { out, find, shown };
  const ratioTo = BASELINES.find((b) => shown.includes(b));
  if (heading) say(`${heading} ${title}, ${target}`), say();
  say(`${what}; all kinds of call${ratioTo ? ` (× ${ratioTo}'s)` : ''}:`);
  say();
  say(perCallTable(find, benches, shown, value, { withRatio: true }));
  for (const kind of detail ? CALL_KINDS : []) {
    const text = perCallTable(find, benches, shown, kindValue(kind), { cell: kindCell?.(kind) });
    if (!text) continue;
    say();
    say(`${kind}:`);
    say();
    say(text);
  }
  say();
  return { out, find, shown };
}

function instructionsSection(results, target, allocators, benches, heading, detail) {
  const { out, find, shown } = measureTables(results, target, 'instructions', {
    allocators, benches, heading, detail, title: 'Allocator instructions per call',
    what: `Instructions inside the allocator's calls (${INSTRUCTIONS_METHOD[target]}) in one warm timed pass ÷ the ` +
          'calls the harness made',
    value: instructionsPerCall, kindValue: kindInstructions,
  });
  if (!shown.length) return out;
  out.push('Share of the pass: allocator instructions ÷ all instructions of the pass; ceiling = pass ÷ harness part, ' +
           'how much faster the pass could run if the allocator took no instructions at all (Amdahl\'s law in ' +
           'instructions; caches and branches left out):', '');
  out.push(table(['workload', ...shown], benches.filter((b) => shown.some((a) => find(b, a))).map((bench) =>
    [bench, ...shown.map((a) => {
      const r = find(bench, a);
      if (!r) return '–';
      const share = instructions(r) / r.passInstructions;
      return `${fixed(100 * share, 0)}% / ${fixed(1 / (1 - share), 2)}×`;
    })])), '');
  return out;
}

function trafficSection(results, target, allocators, benches, heading, detail) {
  return measureTables(results, target, 'traffic', {
    allocators, benches, heading, detail, title: 'Memory traffic per call',
    what: 'Bytes the allocator\'s own code loads and stores per call (its sources compiled with ' +
          '`-fsanitize-coverage=trace-loads,trace-stores`; bulk copies and fills such as realloc\'s memcpy are not ' +
          'counted; by kind: loaded + stored), one warm timed pass',
    value: trafficPerCall, kindValue: kindTraffic,
    kindCell: (kind) => (v, r) => `${perCall(r.kinds[kind].loadBytes / r.kinds[kind].calls)} + ` +
                                  `${perCall(r.kinds[kind].storeBytes / r.kinds[kind].calls)}`,
  }).out;
}

// Per benchmark and allocator, wasm64's traffic per call ÷ wasm32's.
function widthRatios(results, allocators, benches) {
  const narrow = finder(results, 'wasm32', 'traffic'), wide = finder(results, 'wasm64', 'traffic');
  const ratios = [];
  for (const bench of benches) {
    for (const allocator of allocators) {
      const a = narrow(bench, allocator), b = wide(bench, allocator);
      if (a && b) ratios.push({ bench, allocator, ratio: trafficPerCall(b) / trafficPerCall(a) });
    }
  }
  return ratios;
}

function widthSection(results, allocators, benches, heading) {
  const ratios = widthRatios(results, allocators, benches);
  if (!ratios.length) return [];
  const shown = allocators.filter((a) => ratios.some((r) => r.allocator === a));
  const find = (bench, allocator) => ratios.find((r) => r.bench === bench && r.allocator === allocator);
  return [
    ...(heading ? [`${heading} Memory traffic, wasm64 ÷ wasm32`, ''] : []),
    'Bytes loaded and stored per call on wasm64 ÷ the same on wasm32 (1.00: the layout does not depend on the ' +
    'pointer width; 2.00: all of it is pointer-sized):',
    '',
    perCallTable(find, benches, shown, (r) => r.ratio, { ratios: false, format: (v) => fixed(v, 2) }),
    '',
  ];
}

// Everything, as bench/count prints it; `heading` is the Markdown level of
// the section headings.
function countTables(results, { targets, allocators, benches, heading = '##' }) {
  return [
    ...targets.flatMap((target) => instructionsSection(results, target, allocators, benches, heading, true)),
    ...targets.flatMap((target) => trafficSection(results, target, allocators, benches, heading, true)),
    ...widthSection(results, allocators, benches, heading),
  ].join('\n');
}

// The report's part for one target: all kinds of call, no headings.
function targetTables(results, target, { allocators, benches }) {
  return [
    ...instructionsSection(results, target, allocators, benches, null, false),
    ...trafficSection(results, target, allocators, benches, null, false),
  ].join('\n');
}

module.exports = {
  CALL_KINDS, sortAllocators, countTables, targetTables, widthSection, widthRatios, instructionsPerCall, trafficPerCall, geomean,
};
