// What a corruption case did and what it must do: the one reading of
// tests/corruption/expectations.json, shared by run.mjs (which runs the
// cases) and table.mjs (which writes the table in docs/hardening.md).
//
// An outcome is one of
//   { stops: line }    the program stopped with lmalloc's report line
//   { runs: text }     it carried on to its end; text is what it observed
//                      and lm_check()'s count ("... ; lm_check() = 0")
//   { crashes: text }  it died without a report (a signal, a wasm trap)
// An expectation has the same shape, its text a pattern: literal but for
// {ptr} (an address in hex), {n} (a decimal number) and {any} (anything).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const here = path.dirname(fileURLToPath(import.meta.url));
export const TARGETS = ['native', 'wasm32', 'wasm64'];
export const MODES = ['default', 'secure'];
export const KINDS = ['stops', 'runs', 'crashes'];
const SHOULD = ['stop', 'run', 'read nothing'];

export function loadExpectations(file = path.join(here, 'expectations.json')) {
  let data;
  try {
    data = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`cannot read the expectations ${file}: ${error.message}`);
  }
  if (typeof data.secure_mode_built !== 'boolean') {
    throw new Error(`${file}: "secure_mode_built" must be true or false`);
  }
  for (const [name, entry] of Object.entries(data.cases ?? {})) {
    const where = `${file}: case ${name}`;
    if (!SHOULD.includes(entry.should)) throw new Error(`${where}: "should" must be one of ${SHOULD.join(', ')}`);
    if (typeof entry.does !== 'string') throw new Error(`${where}: "does" must say what the case does`);
    for (const key of ['default', 'secure', 'secure_promise']) {
      if (entry[key] !== undefined) checkSpec(entry[key], `${where}: "${key}"`);
    }
    if (entry.default === undefined) throw new Error(`${where}: no "default" outcome`);
  }
  return data;
}

function checkSpec(spec, where) {
  const kinds = Object.keys(spec).filter((key) => key !== 'on');
  if (kinds.length !== 1 || !KINDS.includes(kinds[0]) || typeof spec[kinds[0]] !== 'string') {
    throw new Error(`${where}: must be one of ${KINDS.map((k) => `{"${k}": "..."}`).join(', ')}, ` +
                    'with "on": {target: ...} for a target that differs');
  }
  for (const [target, other] of Object.entries(spec.on ?? {})) {
    if (!TARGETS.includes(target)) throw new Error(`${where}: "on" names an unknown target '${target}'`);
    checkSpec(other, `${where} on ${target}`);
  }
}

/** The expectation of one case, mode and target: { kind, pattern }. */
export function expected(data, name, mode, target) {
  const entry = data.cases[name];
  let spec = entry.default;
  if (mode === 'secure') spec = data.secure_mode_built && entry.secure_promise ? entry.secure_promise : entry.secure ?? entry.default;
  spec = spec.on?.[target] ?? spec;
  const kind = KINDS.find((k) => spec[k] !== undefined);
  return { kind, pattern: spec[kind] };
}

function patternRegex(pattern) {
  const escaped = pattern.replace(/[.*+?^$()|[\]\\]/g, '\\$&')
    .replace(/\{ptr\}/g, '0x[0-9a-f]+').replace(/\{n\}/g, '[0-9]+').replace(/\{any\}/g, '.*');
  return new RegExp(`^${escaped}$`);
}

export function outcomeMatches(outcome, expectation) {
  return outcome[expectation.kind] !== undefined && patternRegex(expectation.pattern).test(outcome[expectation.kind]);
}

export function describe(outcomeOrExpectation) {
  const kind = outcomeOrExpectation.kind ?? KINDS.find((k) => outcomeOrExpectation[k] !== undefined);
  const text = outcomeOrExpectation.pattern ?? outcomeOrExpectation[kind];
  return `${kind}: ${text}`;
}

/** Does an outcome of `kind` with `text` do what the case says it should? */
export function passes(should, kind, text) {
  if (should === 'stop') return kind === 'stops';
  if (should === 'run') return kind === 'runs';
  return kind === 'runs' && /^[^:]*: 0\b/.test(text);   // 'read nothing': "<what>: 0 of N; ..."
}
