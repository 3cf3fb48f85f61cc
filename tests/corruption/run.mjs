// Runs the corruption corpus (tests/corruption/cases.c, built as one program
// per target and build) case by case, and holds every outcome to
// expectations.json: a promised report that does not come fails, and so does
// a report, or a crash, where none is promised.
//
//   run.mjs --target native|wasm32|wasm64 --mode default|secure --program FILE
//           [--case NAME]... [--print]
//
//   --program   the corruption program (wasm: the .wasm module, run in this
//               process, one fresh instance per case)
//   --case      only these cases (default: every case the program lists)
//   --print     print each outcome and do not compare (to investigate)
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { runWasmProgram, moduleIs64 } from '../../toolchain/wasm-program.mjs';
import { MODES, TARGETS, describe, expected, loadExpectations, outcomeMatches } from './outcomes.mjs';

function usage(message) {
  console.error(`run.mjs: ${message}\n` +
    'usage: run.mjs --target native|wasm32|wasm64 --mode default|secure --program FILE ' +
    '[--case NAME]... [--print]');
  process.exit(2);
}

function parseArgs(argv) {
  const options = { cases: [], print: false };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) usage(`${flag} needs a value`);
      return argv[++i];
    };
    if (flag === '--target') options.target = value();
    else if (flag === '--mode') options.mode = value();
    else if (flag === '--program') options.program = value();
    else if (flag === '--case') options.cases.push(value());
    else if (flag === '--print') options.print = true;
    else usage(`unknown argument '${flag}'`);
  }
  if (!TARGETS.includes(options.target)) usage(`--target must be one of ${TARGETS.join(', ')}`);
  if (!MODES.includes(options.mode)) usage(`--mode must be one of ${MODES.join(', ')}`);
  if (!options.program) usage('--program is missing');
  if (!fs.existsSync(options.program)) usage(`no program at ${options.program} (build it first)`);
  return options;
}

// Runs the program with `args`: { status, signal, stdout, stderr, crash }.
// Under ASan a crashing case dies by its signal too, not by ASan's report.
function nativeRunner(program) {
  const asanOptions = [process.env.ASAN_OPTIONS, 'handle_segv=0'].filter(Boolean).join(':');
  const env = { ...process.env, ASAN_OPTIONS: asanOptions };
  return (args) => {
    const result = spawnSync(program, args, { encoding: 'utf8', maxBuffer: 1 << 24, env });
    if (result.error) throw new Error(`cannot run ${program}: ${result.error.message}`);
    return { status: result.status, signal: result.signal, stdout: result.stdout, stderr: result.stderr, crash: null };
  };
}

function wasmRunner(program) {
  const bytes = fs.readFileSync(program);
  const module = new WebAssembly.Module(bytes);
  const is64 = moduleIs64(bytes);
  return (args) => {
    const streams = { 1: [], 2: [] };
    const { exitCode, crash } = runWasmProgram(module, {
      is64, args: [path.basename(program), ...args],
      write: (fd, data) => streams[fd].push(Buffer.from(data)),
    });
    return { status: exitCode, signal: null, crash,
             stdout: Buffer.concat(streams[1]).toString('utf8'), stderr: Buffer.concat(streams[2]).toString('utf8') };
  };
}

// What one run of a case did (see outcomes.mjs), or { error } when the run
// is no outcome at all (the program failed before the corruption).
function classify(run) {
  const lines = `${run.stdout}\n${run.stderr}`.split('\n');
  const reports = lines.filter((line) => line.startsWith('lmalloc: '));
  const observed = lines.filter((line) => line.startsWith('corruption: observed: '))
    .map((line) => line.slice('corruption: observed: '.length));
  const end = lines.find((line) => line.startsWith('corruption: carried on: '));
  if (run.status === 0 && reports.length === 0 && end !== undefined) {
    return { runs: [...observed, end.slice('corruption: carried on: '.length)].join('; ') };
  }
  if (run.status !== 0 && reports.length > 0) return { stops: reports.at(-1) };
  if (run.crash !== null || run.signal !== null) {
    const what = run.crash !== null ? `${run.crash.name}: ${run.crash.message}` : run.signal;
    if (end === undefined) return { crashes: what };
  }
  return { error: `exit status ${run.status ?? run.signal}, output:\n${run.stdout}${run.stderr}` };
}

const options = parseArgs(process.argv.slice(2));
const data = options.print ? null : loadExpectations();
const run = options.target === 'native' ? nativeRunner(options.program) : wasmRunner(options.program);

const listing = run(['--list']);
if (listing.status !== 0) throw new Error(`${options.program} --list failed:\n${listing.stdout}${listing.stderr}`);
const programCases = listing.stdout.split('\n').filter(Boolean);
if (data !== null) {
  const missing = programCases.filter((name) => !(name in data.cases));
  const extra = Object.keys(data.cases).filter((name) => !programCases.includes(name));
  if (missing.length || extra.length) {
    console.error(`run.mjs: expectations.json and ${path.basename(options.program)} disagree on the cases:` +
      (missing.length ? `\n  no expectation for: ${missing.join(', ')}` : '') +
      (extra.length ? `\n  not in the program: ${extra.join(', ')}` : ''));
    process.exit(1);
  }
}
for (const name of options.cases) {
  if (!programCases.includes(name)) usage(`unknown case '${name}' (the program has ${programCases.join(', ')})`);
}

const names = options.cases.length ? options.cases : programCases;
let failures = 0;
console.log(`corruption corpus: ${names.length} cases, ${options.target}, ${options.mode} build`);
for (const name of names) {
  const outcome = classify(run(['--case', name]));
  if (options.print) {
    console.log(`${name}\n  ${outcome.error !== undefined ? `error: ${outcome.error}` : describe(outcome)}`);
    continue;
  }
  const expectation = expected(data, name, options.mode, options.target);
  if (outcome.error === undefined && outcomeMatches(outcome, expectation)) {
    console.log(`ok    ${name}: ${describe(outcome)}`);
    continue;
  }
  failures++;
  console.log(`FAIL  ${name}\n      expected ${describe(expectation)}\n      got      ` +
              (outcome.error !== undefined ? `no outcome: ${outcome.error}` : describe(outcome)));
}
if (!options.print) {
  console.log(failures === 0 ? `PASS corruption corpus (${options.target}, ${options.mode})`
                             : `FAIL corruption corpus (${options.target}, ${options.mode}): ${failures} case(s) differ`);
}
process.exitCode = failures === 0 ? 0 : 1;
