// Counts the wasm instructions a benchmark module executes, and how many of
// them are the allocator's, by rewriting the module (bench/count uses it on
// bench_instructions_<allocator>.wasm, the benchmark as wasm-ld links it,
// function names included):
//
// - Every function gets a counter increment at the start of each straight
//   run of code (function start, after loop, if, else, end, br_if, br,
//   br_table, return, unreachable): one global counts every instruction
//   executed, except the structural markers block, loop, else, end and nop.
// - Each call to an allocator entry (bench_malloc, bench_calloc,
//   bench_memalign, bench_realloc, bench_free) from anything but another
//   entry, and each call to bench_measured_pass, goes through a new wrapper
//   that adds the counter's growth during the call to that kind (and counts
//   the call): the allocator's inclusive cost, as callgrind's natively.
// - bench_wasm_count(which), a stub in the harness, is given a body that
//   returns those counts: which = 0..4 instructions of malloc, calloc,
//   memalign, realloc, free; 5..9 their calls; 10 the measured passes'
//   instructions (bench/counting/wasm_count.c).
// The wrappers, the stub and the increments are not counted themselves.
'use strict';

const CALL_KINDS = ['malloc', 'calloc', 'memalign', 'realloc', 'free'];
const ENTRY_NAMES = CALL_KINDS.map((kind) => `bench_${kind}`);
const PASS_NAME = 'bench_measured_pass';
const STUB_NAME = 'bench_wasm_count';

// ------------------------------------------------------------- encoding --
function readU(bytes, at) {
  let value = 0n, shift = 0n, byte;
  do {
    byte = bytes[at++];
    value |= BigInt(byte & 0x7f) << shift;
    shift += 7n;
  } while (byte & 0x80);
  return { value: Number(value), next: at };
}
function skipLeb(bytes, at) {
  while (bytes[at++] & 0x80);
  return at;
}
function u(value) {
  const out = [];
  let v = BigInt(value);
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v !== 0n) byte |= 0x80;
    out.push(byte);
  } while (v !== 0n);
  return out;
}
function s(value) {
  const out = [];
  let v = BigInt(value);
  for (;;) {
    const byte = Number(v & 0x7fn);
    v >>= 7n;
    if ((v === 0n && !(byte & 0x40)) || (v === -1n && (byte & 0x40))) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}
// A growing byte buffer (module-sized arrays are too large to spread).
class Bytes {
  constructor() { this.buf = Buffer.alloc(1 << 16); this.length = 0; }
  push(...values) { for (const value of values) this.add(value); return this; }
  add(value) {
    if (this.length === this.buf.length) {
      const bigger = Buffer.alloc(this.buf.length * 2);
      this.buf.copy(bigger);
      this.buf = bigger;
    }
    this.buf[this.length++] = value;
  }
  append(bytes) { for (let i = 0; i < bytes.length; i++) this.add(bytes[i]); return this; }
  bytes() { return this.buf.subarray(0, this.length); }
}
const section = (out, id, content) => out.push(id).append(u(content.length)).append(content);

// ---------------------------------------------------------- instructions --
const MARKERS = new Set([0x01, 0x02, 0x03, 0x05, 0x0b]);   // nop block loop else end
const RUN_ENDS = new Set([0x00, 0x03, 0x04, 0x05, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f]);

// Returns the index just past the immediates of the instruction at `at`.
function skipImmediates(code, op, at) {
  switch (op) {
    case 0x02: case 0x03: case 0x04: {                       // block type
      const first = code[at];
      if (first === 0x40 || (first >= 0x6f && first <= 0x7f)) return at + 1;
      return skipLeb(code, at);
    }
    case 0x0c: case 0x0d: case 0x10: case 0x12:              // br, br_if, call, return_call
    case 0x20: case 0x21: case 0x22: case 0x23: case 0x24:   // local.*, global.*
    case 0x25: case 0x26: case 0xd2:                         // table.get/set, ref.func
    case 0x3f: case 0x40: case 0x41: case 0x42:              // memory.size/grow, i32/i64.const
      return skipLeb(code, at);
    case 0x0e: {                                             // br_table
      const { value: count, next } = readU(code, at);
      let p = next;
      for (let i = 0; i <= count; i++) p = skipLeb(code, p);
      return p;
    }
    case 0x11: case 0x13:                                    // call_indirect, return_call_indirect
      return skipLeb(code, skipLeb(code, at));
    case 0x1c: {                                             // select t*
      const { value: count, next } = readU(code, at);
      return next + count;
    }
    case 0x43: return at + 4;
    case 0x44: return at + 8;
    case 0xd0: return at + 1;                                // ref.null t
    case 0xfc: {
      const { value: sub, next } = readU(code, at);
      if (sub <= 7) return next;                             // trunc_sat
      if (sub === 8 || sub === 12 || sub === 14) return skipLeb(code, skipLeb(code, next));
      if (sub === 9 || sub === 11 || sub === 13 || (sub >= 15 && sub <= 17)) return skipLeb(code, next);
      if (sub === 10) return skipLeb(code, skipLeb(code, next));
      throw new Error(`unknown 0xfc instruction ${sub}`);
    }
    default:
      if (op >= 0x28 && op <= 0x3e) return skipLeb(code, skipLeb(code, at));   // memarg
      if ((op >= 0x45 && op <= 0xc4) || op === 0x00 || op === 0x01 || op === 0x05 || op === 0x0b ||
          op === 0x0f || op === 0x1a || op === 0x1b || op === 0xd1) return at;
      throw new Error(`instruction 0x${op.toString(16)} is not supported (SIMD, atomics, exceptions?)`);
  }
}

// Rewrites one function body: counter increments, and calls redirected.
function rewriteBody(body, counterGlobal, redirect) {
  let at = 0;
  const { value: localGroups, next } = readU(body, at);
  at = next;
  for (let i = 0; i < localGroups; i++) at = skipLeb(body, at) + 1;
  const out = new Bytes().append(body.subarray(0, at));
  let run = new Bytes(), counted = 0;
  const flush = () => {
    if (counted > 0) out.push(0x23).append(u(counterGlobal)).push(0x42).append(s(counted)).push(0x7c, 0x24).append(u(counterGlobal));
    out.append(run.bytes());
    run = new Bytes();
    counted = 0;
  };
  while (at < body.length) {
    const op = body[at];
    const end = skipImmediates(body, op, at + 1);
    if (op === 0x10) {
      const { value: callee } = readU(body, at + 1);
      run.push(0x10).append(u(redirect.get(callee) ?? callee));
    } else {
      run.append(body.subarray(at, end));
    }
    if (!MARKERS.has(op)) counted++;
    at = end;
    if (RUN_ENDS.has(op)) flush();
  }
  flush();
  return out.bytes();
}

// ---------------------------------------------------------------- module --
function parseSections(bytes) {
  if (bytes.readUInt32LE(0) !== 0x6d736100 || bytes.readUInt32LE(4) !== 1) throw new Error('not a wasm module');
  const sections = [];
  let at = 8;
  while (at < bytes.length) {
    const id = bytes[at];
    const { value: size, next } = readU(bytes, at + 1);
    sections.push({ id, content: bytes.subarray(next, next + size) });
    at = next + size;
  }
  return sections;
}

function customName(content) {
  const { value: length, next } = readU(content, 0);
  return { name: content.subarray(next, next + length).toString(), body: content.subarray(next + length) };
}

function functionNames(sections) {
  const names = new Map();
  const custom = sections.filter((sec) => sec.id === 0).map((sec) => customName(sec.content)).find((c) => c.name === 'name');
  if (!custom) throw new Error('the module has no name section (was it optimized by wasm-opt?)');
  let at = 0;
  const body = custom.body;
  while (at < body.length) {
    const kind = body[at];
    const { value: size, next } = readU(body, at + 1);
    if (kind === 1) {
      let p = next;
      const { value: count, next: first } = readU(body, p);
      p = first;
      for (let i = 0; i < count; i++) {
        const index = readU(body, p);
        const length = readU(body, index.next);
        names.set(body.subarray(length.next, length.next + length.value).toString(), index.value);
        p = length.next + length.value;
      }
    }
    at = next + size;
  }
  return names;
}

function vecItems(content) {
  const { value: count, next } = readU(content, 0);
  return { count, at: next };
}

function countImports(content) {
  let { count, at } = vecItems(content);
  let functions = 0, globals = 0;
  for (let i = 0; i < count; i++) {
    for (let name = 0; name < 2; name++) {
      const { value: length, next } = readU(content, at);
      at = next + length;
    }
    const kind = content[at++];
    if (kind === 0) { functions++; at = skipLeb(content, at); }
    else if (kind === 1) { at += 1; const flags = content[at++]; at = skipLeb(content, at); if (flags & 1) at = skipLeb(content, at); }
    else if (kind === 2) { const flags = content[at++]; at = skipLeb(content, at); if (flags & 1) at = skipLeb(content, at); }
    else if (kind === 3) { globals++; at += 2; }
    else throw new Error(`unknown import kind ${kind}`);
  }
  return { functions, globals };
}

function instrument(input) {
  const bytes = Buffer.from(input);
  const sections = parseSections(bytes);
  const byId = (id) => sections.find((sec) => sec.id === id);
  const names = functionNames(sections);
  const imports = byId(2) ? countImports(byId(2).content) : { functions: 0, globals: 0 };
  const functionTypes = (() => {
    const { count, at } = vecItems(byId(3).content);
    const types = [];
    let p = at;
    for (let i = 0; i < count; i++) { const r = readU(byId(3).content, p); types.push(r.value); p = r.next; }
    return types;
  })();
  if (!byId(6)) throw new Error('the module has no global section');
  const definedGlobals = vecItems(byId(6).content).count;

  // New globals: the counter, then per kind instructions and calls, then the pass.
  const firstGlobal = imports.globals + definedGlobals;
  const counter = firstGlobal;
  const kindInstructions = (k) => firstGlobal + 1 + k;
  const kindCalls = (k) => firstGlobal + 1 + CALL_KINDS.length + k;
  const passInstructions = firstGlobal + 1 + 2 * CALL_KINDS.length;
  const newGlobals = 2 + 2 * CALL_KINDS.length;

  const indexOf = (name) => names.get(name);
  const stub = indexOf(STUB_NAME);
  if (stub === undefined) throw new Error(`no function ${STUB_NAME} in the module`);
  const pass = indexOf(PASS_NAME);
  if (pass === undefined) throw new Error(`no function ${PASS_NAME} in the module`);
  const entries = new Set(ENTRY_NAMES.map(indexOf).filter((i) => i !== undefined));

  // Wrappers: [callee, kind (or -1 for the pass)].
  const wrapped = ENTRY_NAMES.map((name, k) => [indexOf(name), k]).filter(([index]) => index !== undefined);
  wrapped.push([pass, -1]);
  const firstWrapper = imports.functions + functionTypes.length;
  const wrapperOf = new Map(wrapped.map(([callee], i) => [callee, firstWrapper + i]));
  const typeSection = byId(1).content;
  const paramCounts = (() => {
    const { count, at } = vecItems(typeSection);
    const params = [];
    let p = at;
    for (let i = 0; i < count; i++) {
      if (typeSection[p++] !== 0x60) throw new Error('unexpected type form');
      const pc = readU(typeSection, p); p = pc.next + pc.value;
      const rc = readU(typeSection, p); p = rc.next + rc.value;
      params.push(pc.value);
    }
    return params;
  })();
  const typeOf = (index) => functionTypes[index - imports.functions];
  const wrapperBodies = wrapped.map(([callee, kind]) => {
    const params = paramCounts[typeOf(callee)];
    const start = params;   // the local after the parameters
    const code = [0x23, ...u(counter), 0x21, ...u(start)];
    for (let p = 0; p < params; p++) code.push(0x20, ...u(p));
    code.push(0x10, ...u(callee));
    const target = kind < 0 ? passInstructions : kindInstructions(kind);
    code.push(0x23, ...u(counter), 0x20, ...u(start), 0x7d, 0x23, ...u(target), 0x7c, 0x24, ...u(target));
    if (kind >= 0) code.push(0x23, ...u(kindCalls(kind)), 0x42, 1, 0x7c, 0x24, ...u(kindCalls(kind)));
    code.push(0x0b);
    const body = [1, 1, 0x7e, ...code];
    return [...u(body.length), ...body];
  });

  // The stub's body: which -> count.
  const stubBody = (() => {
    const code = [];
    const answers = [...CALL_KINDS.map((_, k) => kindInstructions(k)), ...CALL_KINDS.map((_, k) => kindCalls(k)), passInstructions];
    answers.forEach((global, which) => {
      code.push(0x20, 0, 0x41, ...s(which), 0x46, 0x04, 0x40, 0x23, ...u(global), 0x0f, 0x0b);
    });
    code.push(0x42, 0, 0x0b);
    const body = [0, ...code];
    return [...u(body.length), ...body];
  })();

  const out = new Bytes().append(bytes.subarray(0, 8));
  for (const sec of sections) {
    if (sec.id === 3) {
      const types = [...functionTypes, ...wrapped.map(([callee]) => typeOf(callee))];
      section(out, 3, new Bytes().append(u(types.length)).append(types.flatMap((t) => u(t))).bytes());
    } else if (sec.id === 6) {
      const { count, at } = vecItems(sec.content);
      const content = new Bytes().append(u(count + newGlobals)).append(sec.content.subarray(at));
      for (let i = 0; i < newGlobals; i++) content.push(0x7e, 0x01, 0x42, 0x00, 0x0b);
      section(out, 6, content.bytes());
    } else if (sec.id === 10) {
      const { count, at } = vecItems(sec.content);
      const content = new Bytes().append(u(count + wrapperBodies.length));
      let p = at;
      for (let i = 0; i < count; i++) {
        const { value: size, next } = readU(sec.content, p);
        const body = sec.content.subarray(next, next + size);
        const index = imports.functions + i;
        p = next + size;
        if (index === stub) {
          content.append(stubBody);
          continue;
        }
        // Calls between entries stay inside the outer call.
        const redirect = entries.has(index) ? new Map([...wrapperOf].filter(([callee]) => callee === pass)) : wrapperOf;
        const rewritten = rewriteBody(body, counter, redirect);
        content.append(u(rewritten.length)).append(rewritten);
      }
      for (const body of wrapperBodies) content.append(body);
      section(out, 10, content.bytes());
    } else if (sec.id === 0 && customName(sec.content).name.startsWith('.debug')) {
      // DWARF would describe code that moved: left out.
    } else {
      section(out, sec.id, sec.content);
    }
  }
  return Buffer.from(out.bytes());
}

module.exports = { instrument, CALL_KINDS };

// node instrument_wasm.js <in.wasm> <out.wasm>
if (require.main === module) {
  const [input, output] = process.argv.slice(2);
  if (!input || !output) {
    console.error('usage: node instrument_wasm.js <in.wasm> <out.wasm>');
    process.exit(2);
  }
  require('node:fs').writeFileSync(output, instrument(require('node:fs').readFileSync(input)));
}
