// The corruption corpus's pass/fail table in docs/hardening.md, written from
// expectations.json (which run.mjs holds every run on every target to).
//
//   table.mjs --check   fail if the table in docs/hardening.md is not current
//   table.mjs --write   rewrite it (tests/corruption/table does, after running
//                       every case on all three targets and both builds)
import fs from 'node:fs';
import path from 'node:path';
import { MODES, TARGETS, expected, here, loadExpectations, passes } from './outcomes.mjs';

const DOC = path.resolve(here, '../../docs/hardening.md');
const BEGIN = '<!-- corruption table: begin (tests/corruption/table writes this part) -->';
const END = '<!-- corruption table: end -->';

const shown = (pattern) => pattern.replace(/\{ptr\}/g, '0x…').replace(/\{n\}/g, 'N').replace(/\{any\}/g, '…');
const code = (text) => `\`${text.replace(/`/g, "'")}\``;

function outcomeText({ kind, pattern }) {
  if (kind === 'stops') return `stops: ${code(shown(pattern))}`;
  if (kind === 'runs') return `carries on: ${shown(pattern)}`;
  return `crashes: ${shown(pattern)}`;
}

// One mode's cell: the outcome with ✔ when it is what the case should get,
// per target where the targets differ.
function cell(data, name, mode) {
  const entry = data.cases[name];
  const byText = new Map();
  for (const target of TARGETS) {
    const expectation = expected(data, name, mode, target);
    const mark = passes(entry.should, expectation.kind, expectation.pattern) ? '✔' : '✘';
    const text = `${mark} ${outcomeText(expectation)}`;
    byText.set(text, [...(byText.get(text) ?? []), target]);
  }
  if (byText.size === 1) return [...byText.keys()][0];
  return [...byText].map(([text, targets]) => `${targets.join(', ')}: ${text}`).join('<br>');
}

function secureCell(data, name) {
  const entry = data.cases[name];
  const today = cell(data, name, 'secure');
  const text = today === cell(data, name, 'default') && !data.secure_mode_built ? 'as default' : today;
  if (!entry.secure_promise || data.secure_mode_built) return text;
  return `${text}; **promised**: ${outcomeText(expected({ ...data, secure_mode_built: true }, name, 'secure', 'native'))}`;
}

function summary(data, mode) {
  const counts = { stop: [0, 0], run: [0, 0], 'read nothing': [0, 0] };
  for (const [name, entry] of Object.entries(data.cases)) {
    const all = TARGETS.every((target) => {
      const { kind, pattern } = expected(data, name, mode, target);
      return passes(entry.should, kind, pattern);
    });
    counts[entry.should][0] += all;
    counts[entry.should][1]++;
  }
  const [stopped, shouldStop] = counts.stop, [ran, shouldRun] = counts.run, [clean, reads] = counts['read nothing'];
  return `- **${mode} build**: stops ${stopped} of the ${shouldStop} cases that should stop, lets ${ran} of ` +
         `${shouldRun} correct uses run, and shows no stale or outside bytes in ${clean} of the ${reads} ` +
         'read cases (on every target).';
}

function render(data) {
  const rows = Object.entries(data.cases).map(([name, entry]) =>
    `| ${code(name)} | ${entry.does} | ${entry.hardened_malloc ?? ''} | ${entry.should} | ` +
    `${cell(data, name, 'default')} | ${secureCell(data, name)} |`);
  return [
    BEGIN,
    ...MODES.map((mode) => summary(data, mode)),
    '',
    '| case | what it does | hardened_malloc | should | default build | secure build |',
    '|---|---|---|---|---|---|',
    ...rows,
    END,
  ].join('\n');
}

function current(text) {
  const begin = text.indexOf(BEGIN), end = text.indexOf(END);
  if (begin < 0 || end < begin) throw new Error(`${DOC} has no table markers (${BEGIN} ... ${END})`);
  return { before: text.slice(0, begin), table: text.slice(begin, end + END.length), after: text.slice(end + END.length) };
}

const mode = process.argv[2];
if (mode !== '--check' && mode !== '--write') {
  console.error('usage: table.mjs --check | --write');
  process.exit(2);
}
const doc = current(fs.readFileSync(DOC, 'utf8'));
const table = render(loadExpectations());
if (mode === '--write') {
  fs.writeFileSync(DOC, doc.before + table + doc.after);
  console.log(`table.mjs: wrote the table in ${DOC}`);
} else if (doc.table !== table) {
  console.log(`FAIL: the table in ${DOC} is not what tests/corruption/expectations.json says; ` +
              'run tests/corruption/table to check every target and rewrite it');
  process.exitCode = 1;
} else {
  console.log(`PASS: the table in ${DOC} is current`);
}
