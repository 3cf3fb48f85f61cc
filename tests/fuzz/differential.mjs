// Differential fuzzing of lmalloc's wasm module: the byte language of
// tests/fuzz/ops.c, interpreted here in JavaScript against lmalloc.wasm
// through the JS library (targets/js/lmalloc.js), every step checked against
// a shadow model, and the same inputs replayed by the C interpreter
// (fuzz_replay --trace, native or wasm): both must make the same misuse
// reports, op by op, and end each input with the same counts.
//
//   differential.mjs --module lmalloc.wasm --reference fuzz_replay[.wasm]
//                    [--random COUNT] [--seed N] [--seconds S] [FILE...]
//
//   --module     the lmalloc module (wasm32 or wasm64) the JS side drives
//   --reference  the C interpreter's program: a native fuzz_replay, or a
//                fuzz_replay.wasm (run in this process)
//   --random     COUNT seeded random inputs (default 0), from --seed (default 1)
//   --seconds    keep making random inputs, in batches of COUNT (default
//                500), for this long
//   FILE...      inputs to replay first (the committed corpus)
//
// After every op the JS side checks what that op touched (alignment, usable
// size, no overlap with a live block, contents kept, calloc zeroed, NULL for
// impossible requests), lm_stats against the model (live blocks and bytes,
// failed allocations, misuse reports) and lm_check() == 0; every block's
// contents at each full-check op and at the end. Misuse ops run under the
// 'continue' policy and must give exactly one LmallocError of the kind, pointer
// and size the model expects; any other report stops the instance (policy
// 'abort') and is a finding. A finding prints the input's path (random
// inputs are kept in a folder named in the output) and the op.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Lmalloc, LmallocError, MisuseKind } from '../../targets/js/lmalloc.js';
import { moduleIs64, runWasmProgram } from '../../toolchain/wasm-program.mjs';

const SLOT_COUNT = 64;
const ALIGNMENT = 16;
const SAMPLE_EDGE = 128;
const SAMPLE_STRIDE = 61;

function usage(message) {
  console.error(`differential: ${message}\nusage: differential.mjs --module lmalloc.wasm --reference ` +
                'fuzz_replay[.wasm] [--random COUNT] [--seed N] [--seconds S] [FILE...]');
  process.exit(2);
}

function parseArgs(argv) {
  const options = { files: [], random: 0, seed: 1, seconds: 0 };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) usage(`${flag} needs a value`);
      return argv[++i];
    };
    const count = (name) => {
      const text = value();
      if (!/^[0-9]+$/.test(text)) usage(`${name} must be a whole number, not '${text}'`);
      return Number(text);
    };
    if (flag === '--module') options.module = value();
    else if (flag === '--reference') options.reference = value();
    else if (flag === '--random') options.random = count('--random');
    else if (flag === '--seed') options.seed = count('--seed');
    else if (flag === '--seconds') options.seconds = count('--seconds');
    else if (flag.startsWith('--')) usage(`unknown option '${flag}'`);
    else options.files.push(flag);
  }
  for (const [name, file] of [['--module', options.module], ['--reference', options.reference]]) {
    if (!file) usage(`${name} is missing`);
    if (!fs.existsSync(file)) usage(`${name} ${file} does not exist (build it first)`);
  }
  for (const file of options.files) if (!fs.existsSync(file)) usage(`no input file ${file}`);
  if (options.seconds > 0 && options.random === 0) options.random = 500;
  if (options.files.length === 0 && options.random === 0) usage('no inputs: give FILEs, --random or --seconds');
  return options;
}

// ------------------------------------------------------------ the model --

class Finding extends Error {}

// A block's pattern: one 32-bit word per 4 bytes, from its id and the word's
// index (the C side uses testlib's; the two sides never compare contents).
const patternWord = (id, index) => (Math.imul(id, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca77)) >>> 0;
const patternByte = (id, offset) => (patternWord(id, offset >>> 2) >>> (8 * (offset & 3))) & 0xff;

// Interprets one input against one heap, as ops.c does (same opcodes, same
// argument bytes, same model), and returns its trace: the misuse op lines and
// the closing counts line, in fuzz_replay --trace's words.
class Interpreter {
  constructor(heap) {
    this.heap = heap;
    this.is64 = heap.is64;
    this.sizeMax = heap.is64 ? (1n << 64n) - 1n : (1n << 32n) - 1n;
    this.freeAlignedSized = heap.wrapExport('lm_free_aligned_sized', ['ptr', 'size', 'size']);
    this.slots = new Array(SLOT_COUNT).fill(null);
    this.nextId = 1;
  }

  run(bytes) {
    this.bytes = bytes;
    this.at = 0;
    this.trace = [];
    this.baseline = this.heap.stats();
    this.liveCount = 0;
    this.liveUsable = 0;
    this.nulls = 0;
    this.misuses = 0;
    for (this.op = 0; this.at < bytes.length; this.op++) {
      this.runOne();
      this.stepCheck();
    }
    this.fullCheck();
    for (let s = 0; s < SLOT_COUNT; s++) this.empty(s);
    const end = this.heap.stats();
    this.expect(end.liveBlocks === this.baseline.liveBlocks && end.liveBytes === this.baseline.liveBytes,
                `live blocks/bytes at the end ${end.liveBlocks}/${end.liveBytes}, ` +
                `at the start ${this.baseline.liveBlocks}/${this.baseline.liveBytes}`);
    this.expect(this.heap.check() === 0, 'lm_check() != 0 at the end');
    this.trace.push(`  ${this.op} ops, ${this.nulls} NULLs, ${this.misuses} misuses`);
    return this.trace;
  }

  expect(condition, what) {
    if (!condition) throw new Finding(`op ${this.op}: ${what}`);
  }

  // ---- reading
  byte() { return this.at < this.bytes.length ? this.bytes[this.at++] : 0; }
  slot() { return this.byte() % SLOT_COUNT; }
  size() {
    const magnitude = this.byte();
    const bits = magnitude >= 0xe0 ? 14 + (magnitude - 0xe0) % 7 : magnitude % 14;
    const value = this.byte() | this.byte() << 8 | this.byte() << 16;
    return value & ((1 << bits) - 1);
  }

  // ---- blocks
  fill(ptr, usable, id) {
    const words = usable >>> 2;
    const array = this.heap.array(Uint32Array, ptr, words);
    for (let w = 0; w < words; w++) array[w] = patternWord(id, w);
    const bytes = this.heap.u8(ptr, usable);
    for (let offset = words * 4; offset < usable; offset++) bytes[offset] = patternByte(id, offset);
  }

  // Every byte of a small block; head, tail and a prime stride of a big one.
  blockCheck({ ptr, usable, id }) {
    const bytes = this.heap.u8(ptr, usable);
    for (let offset = 0; offset < usable;) {
      if (bytes[offset] !== patternByte(id, offset)) {
        throw new Finding(`op ${this.op}: block 0x${ptr.toString(16)} (${usable} usable bytes) differs ` +
                          `at offset ${offset}: 0x${bytes[offset].toString(16)}, expected ` +
                          `0x${patternByte(id, offset).toString(16)}`);
      }
      if (usable <= 4 * SAMPLE_EDGE || offset < SAMPLE_EDGE || offset + SAMPLE_EDGE >= usable) offset++;
      else if (offset + SAMPLE_STRIDE + SAMPLE_EDGE < usable) offset += SAMPLE_STRIDE;
      else offset = usable - SAMPLE_EDGE;
    }
  }

  release(s) {
    this.liveCount--;
    this.liveUsable -= this.slots[s].usable;
    this.slots[s] = null;
  }

  empty(s) {
    const block = this.slots[s];
    if (block === null) return;
    this.blockCheck(block);
    this.heap.free(block.ptr);
    this.release(s);
  }

  adopt(s, ptr, size, alignment = ALIGNMENT) {
    alignment = Math.max(alignment, ALIGNMENT);
    this.expect(ptr % alignment === 0, `0x${ptr.toString(16)} is not ${alignment}-byte aligned`);
    let usable = this.heap.usableSize(ptr);
    this.expect(usable >= size, `usable size ${usable} of 0x${ptr.toString(16)} is below the ${size} bytes asked`);
    usable = Math.max(usable, size);
    for (const other of this.slots) {
      if (other === null || other === this.slots[s]) continue;
      const a = Math.max(usable, 1), b = Math.max(other.usable, 1);
      this.expect(!(ptr < other.ptr + b && other.ptr < ptr + a),
                  `new block 0x${ptr.toString(16)} (+${usable}) overlaps 0x${other.ptr.toString(16)} (+${other.usable})`);
    }
    const id = this.nextId++;
    this.slots[s] = { ptr, size, alignment, usable, id };
    this.fill(ptr, usable, id);
    this.liveCount++;
    this.liveUsable += usable;
  }

  expectNull(ptr, call) {
    this.expect(ptr === 0, `${call} returned 0x${ptr.toString(16)}, expected NULL`);
    this.nulls++;
  }

  required(ptr, call) {
    this.expect(ptr !== 0, `${call} returned NULL`);
    return ptr;
  }

  // What every step ends with: lm_stats agrees with the model, lm_check() == 0.
  stepCheck() {
    const stats = this.heap.stats();
    const want = {
      liveBlocks: this.baseline.liveBlocks + this.liveCount, liveBytes: this.baseline.liveBytes + this.liveUsable,
      failedAllocs: this.baseline.failedAllocs + this.nulls, misuseCount: this.baseline.misuseCount + this.misuses,
    };
    for (const [field, value] of Object.entries(want)) {
      this.expect(stats[field] === value, `lm_stats ${field} is ${stats[field]}, the model says ${value}`);
    }
    this.expect(stats.footprint <= stats.peakFootprint, 'footprint above peak footprint');
    const problems = this.heap.check();
    this.expect(problems === 0, `lm_check() counts ${problems} problem(s)`);
  }

  fullCheck() {
    for (const block of this.slots) {
      if (block === null) continue;
      this.blockCheck(block);
      const usable = this.heap.usableSize(block.ptr);
      this.expect(usable === block.usable, `usable size of 0x${block.ptr.toString(16)} changed to ${usable}`);
    }
  }

  // ---- misuse: exactly one report, of this kind, pointer and size (size
  // null: not checked), under the 'continue' policy
  misuse(call, kind, ptr, size) {
    const before = this.heap.misuses.length;
    this.heap.setPolicy('continue');
    let result;
    try {
      result = call();
    } finally {
      this.heap.setPolicy('abort');
    }
    const reports = this.heap.misuses.slice(before);
    const kindName = this.heap.kindName(kind);
    this.expect(reports.length === 1, `expected one '${kindName}' report, got ${reports.length}: ` +
                reports.map((e) => e.message).join(' | '));
    const [error] = reports;
    this.expect(error instanceof LmallocError && !error.fatal && error.message.startsWith('lmalloc: '),
                `the report is not a non-fatal LmallocError with lmalloc's line: ${error}`);
    this.expect(error.kind === kind && error.kindName === kindName, `expected a '${kindName}' report, got '${error.kindName}': ${error.message}`);
    this.expect(error.ptr === ptr, `the report names 0x${error.ptr.toString(16)}, not 0x${ptr.toString(16)}`);
    this.expect(size === null || error.size === size, `the report's size is ${error.size}, expected ${size}`);
    const last = this.heap.lastMisuse();
    this.expect(last.kind === kind && last.ptr === ptr && last.size === error.size,
                `lm_last_misuse disagrees with the report: ${JSON.stringify(last)}`);
    this.misuses++;
    this.trace.push(`  op ${this.op}: ${kindName}`);
    return result;
  }

  misuseLive(block, how, k) {
    const granules = Math.floor(block.size / ALIGNMENT);
    const interior = granules >= 2 ? block.ptr + ALIGNMENT * (1 + k % (granules - 1)) : null;
    if (how >= 1 && how <= 3 && interior === null) return;
    const misaligned = block.ptr + 1 + k % 15;
    const { ptr, usable } = block;
    if (how === 0) {
      this.misuse(() => this.heap.freeSized(ptr, usable + 1 + k), MisuseKind.WRONG_SIZE, ptr, usable);
    } else if (how === 1) {
      this.misuse(() => this.heap.free(interior), MisuseKind.NOT_A_BLOCK, interior, usable);
    } else if (how === 2) {
      this.expect(this.misuse(() => this.heap.realloc(interior, 1), MisuseKind.NOT_A_BLOCK, interior, usable) === 0,
                  'realloc of an interior pointer returned a block');
    } else if (how === 3) {
      this.expect(this.misuse(() => this.heap.usableSize(interior), MisuseKind.NOT_A_BLOCK, interior, usable) === 0,
                  'usable_size of an interior pointer was not 0');
    } else if (how === 4) {
      this.misuse(() => this.heap.free(misaligned), MisuseKind.MISALIGNED, misaligned, 0);
    } else {
      this.expect(this.misuse(() => this.heap.realloc(misaligned, 1), MisuseKind.MISALIGNED, misaligned, 0) === 0,
                  'realloc of a misaligned pointer returned a block');
    }
    this.expect(this.heap.usableSize(ptr) === usable, 'a refused call changed the usable size');
    this.blockCheck(block);
  }

  misuseFreed(s, how) {
    const block = this.slots[s];
    if (block === null) {
      this.misuse(() => this.heap.free(ALIGNMENT), MisuseKind.NOT_IN_HEAP, ALIGNMENT, 0);
      return;
    }
    const { ptr, size } = block;
    this.empty(s);
    const calls = [() => this.heap.free(ptr), () => this.heap.freeSized(ptr, size),
                   () => this.heap.realloc(ptr, 1), () => this.heap.usableSize(ptr)];
    const result = this.misuse(calls[how], MisuseKind.DOUBLE_FREE, ptr, null);
    this.expect(how < 2 || result === 0, 'a call on a freed block returned something');
  }

  runOne() {
    const heap = this.heap;
    const opcode = this.byte() % 14;
    switch (opcode) {
      case 0: case 1: {
        const s = this.slot(), size = this.size();
        this.empty(s);
        this.adopt(s, this.required(heap.malloc(size), `malloc(${size})`), size);
        break;
      }
      case 2: {
        const s = this.slot(), count = this.byte() % 17, each = this.size() >>> 4;
        this.empty(s);
        const ptr = this.required(heap.calloc(count, each), `calloc(${count}, ${each})`);
        const bad = heap.u8(ptr, count * each).findIndex((byte) => byte !== 0);
        this.expect(bad < 0, `calloc(${count}, ${each}) = 0x${ptr.toString(16)}: byte ${bad} is not zero`);
        this.adopt(s, ptr, count * each);
        break;
      }
      case 3: {
        const max = this.sizeMax, half = 1n << BigInt(this.is64 ? 32 : 16);
        const pairs = [[max / 2n + 1n, 2n], [2n, max / 2n + 1n], [max, max], [max / 3n + 1n, 3n], [half, half]];
        const [count, each] = pairs[this.byte() % 5];
        this.expectNull(heap.calloc(count, each), `calloc(${count}, ${each})`);
        break;
      }
      case 4: case 5: {
        const s = this.slot(), size = this.size() || 1;   // realloc(p, 0) is opcode 9
        const old = this.slots[s];
        if (old !== null) this.blockCheck(old);
        const ptr = this.required(heap.realloc(old?.ptr ?? 0, size), `realloc(${old?.ptr ?? 0}, ${size})`);
        if (old !== null) {
          this.release(s);
          const kept = Math.min(old.size, size);
          this.blockCheck({ ptr, usable: kept, id: old.id });
        }
        this.adopt(s, ptr, size);
        break;
      }
      case 6: {
        const s = this.slot(), a = this.byte(), size = this.size();
        this.empty(s);
        if (a >= 0xf0) {
          const alignment = (a & 0x0f) * 3 + 3;     // never a power of two: refused
          this.expectNull(heap.alignedAlloc(alignment, size), `aligned_alloc(${alignment}, ${size})`);
          break;
        }
        const alignment = 2 ** (a % 21);
        this.adopt(s, this.required(heap.alignedAlloc(alignment, size), `aligned_alloc(${alignment}, ${size})`),
                   size, alignment);
        break;
      }
      case 7:
        this.empty(this.slot());
        break;
      case 8: {
        const s = this.slot(), block = this.slots[s];
        if (block !== null) {
          this.blockCheck(block);
          if (block.alignment > ALIGNMENT) this.freeAlignedSized(block.ptr, block.alignment, block.size);
          else heap.freeSized(block.ptr, block.size);
          this.release(s);
        }
        break;
      }
      case 9: {
        const s = this.slot(), block = this.slots[s];
        if (block !== null) {
          this.blockCheck(block);
          this.expect(heap.realloc(block.ptr, 0) === 0, 'realloc(p, 0) returned a block');
          this.release(s);
        }
        break;
      }
      case 10: {
        const kind = this.byte() % 3, distance = this.byte();
        const size = this.sizeMax - BigInt(distance * 16 + (distance & 15));
        if (kind === 0) {
          this.expectNull(heap.malloc(size), `malloc(${size})`);
        } else if (kind === 1) {
          const alignment = 64 * 2 ** (distance % 8);
          this.expectNull(heap.alignedAlloc(alignment, size), `aligned_alloc(${alignment}, ${size})`);
        } else {
          const block = this.slots[distance % SLOT_COUNT];
          if (block !== null) {
            this.expectNull(heap.realloc(block.ptr, size), `realloc(0x${block.ptr.toString(16)}, ${size})`);
            this.blockCheck(block);
          }
        }
        break;
      }
      case 11:
        this.fullCheck();
        break;
      case 12: {
        const s = this.slot(), how = this.byte() % 6, k = this.byte();
        if (this.slots[s] !== null) this.misuseLive(this.slots[s], how, k);
        break;
      }
      default: {
        const s = this.slot();
        this.misuseFreed(s, this.byte() % 4);
        break;
      }
    }
  }
}

// ---------------------------------------------------- the C interpreter --

// fuzz_replay --trace over `files`: each file's trace lines, by path.
function referenceTraces(program, files) {
  const args = ['--trace', ...files];
  let stdout, status;
  if (program.endsWith('.wasm')) {
    const bytes = fs.readFileSync(program);
    const chunks = [];
    ({ exitCode: status } = runWasmProgram(new WebAssembly.Module(bytes), {
      is64: moduleIs64(bytes), args: [path.basename(program), ...args],
      write: (fd, data) => { if (fd === 1) chunks.push(Buffer.from(data)); },
    }));
    stdout = Buffer.concat(chunks).toString('utf8');
  } else {
    const result = spawnSync(program, args, { encoding: 'utf8', maxBuffer: 1 << 28 });
    if (result.error) throw new Error(`cannot run ${program}: ${result.error.message}`);
    ({ stdout, status } = result);
  }
  if (status !== 0) throw new Finding(`the C interpreter failed (exit ${status}):\n${stdout.split('\n').slice(-30).join('\n')}`);
  const traces = new Map();
  let current = null;
  for (const line of stdout.split('\n')) {
    if (line.startsWith('input ')) traces.set(current = line.slice('input '.length), []);
    else if (current !== null && /^ {2}(op [0-9]+: |[0-9]+ ops, )/.test(line)) traces.get(current).push(line);
  }
  return traces;
}

// ---------------------------------------------------------------- inputs --

// splitmix64, as testlib's tl_rng: every seed is good.
function rng(seed) {
  let state = BigInt(seed);
  return () => {
    state = (state + 0x9e3779b97f4a7c15n) & 0xffffffffffffffffn;
    let z = state;
    z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & 0xffffffffffffffffn;
    z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & 0xffffffffffffffffn;
    return z ^ (z >> 31n);
  };
}

// COUNT random inputs of 64 to 1087 bytes, written to `folder`.
function randomInputs(next, count, folder, first) {
  const files = [];
  for (let n = 0; n < count; n++) {
    const bytes = new Uint8Array(64 + Number(next() % 1024n));
    for (let i = 0; i < bytes.length; i++) bytes[i] = Number(next() & 0xffn);
    const file = path.join(folder, `random-${first + n}`);
    fs.writeFileSync(file, bytes);
    files.push(file);
  }
  return files;
}

// ------------------------------------------------------------------ main --

const options = parseArgs(process.argv.slice(2));
const moduleBytes = fs.readFileSync(options.module);
const heap = await Lmalloc.instantiate(moduleBytes, { policy: 'abort' });
const interpreter = new Interpreter(heap);
const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'lmalloc-differential-'));
const next = rng(options.seed);
console.log(`differential: ${path.basename(options.module)} (wasm${heap.pointerBits}) through the JS library ` +
            `against ${options.reference}; random inputs from seed ${options.seed} in ${folder}`);

// One batch: the JS side runs every input, then the C side replays them all.
function batch(files) {
  const traces = [];
  for (const file of files) {
    try {
      traces.push(interpreter.run(fs.readFileSync(file)));
    } catch (error) {
      if (error instanceof LmallocError) throw new Finding(`${file}: an unexpected report stopped the heap: ${error.message}`);
      if (error instanceof Finding) throw new Finding(`${file}: ${error.message}`);
      throw error;
    }
  }
  const reference = referenceTraces(options.reference, files);
  files.forEach((file, index) => {
    const theirs = reference.get(file);
    if (theirs === undefined) throw new Finding(`${file}: the C interpreter printed no trace for it`);
    const ours = traces[index];
    const differs = ours.findIndex((line, i) => line !== theirs[i]);
    if (differs >= 0 || ours.length !== theirs.length) {
      const at = differs >= 0 ? differs : Math.min(ours.length, theirs.length);
      throw new Finding(`${file}: the interpreters differ at trace line ${at + 1}: JS '${ours[at] ?? '(end)'}', ` +
                        `C '${theirs[at] ?? '(end)'}'`);
    }
  });
  return traces.reduce((sum, trace) => sum + trace.length - 1, 0);
}

const started = Date.now();
let inputs = 0, reports = 0;
try {
  if (options.files.length) {
    reports += batch(options.files);
    inputs += options.files.length;
  }
  while (options.random > 0) {
    const files = randomInputs(next, options.random, folder, inputs);
    reports += batch(files);
    inputs += files.length;
    for (const file of files) fs.rmSync(file);
    if (Date.now() - started >= options.seconds * 1000) break;
  }
} catch (error) {
  if (!(error instanceof Finding)) throw error;
  console.log(`differential: FINDING: ${error.message}`);
  console.log(`differential: replay: differential.mjs --module ${options.module} --reference ${options.reference} <file>`);
  process.exit(1);
}
fs.rmSync(folder, { recursive: true });
console.log(`differential: PASS: ${inputs} inputs, ${reports} misuse reports, the same from both interpreters ` +
            `(${((Date.now() - started) / 1000).toFixed(1)} s)`);
