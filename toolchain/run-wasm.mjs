// Runs one lmalloc wasm program (built by lm_add_program) under node:
//   node run-wasm.mjs <module.wasm> [args...]
// It provides the "host" imports of targets/wasm/host.c and the allocator's
// "lmalloc.report" hook, calls _start, and exits with main's return value.
// A fatal misuse report throws an LmallocError: its line is printed and the
// process exits with 134, as a native abort() would.
//
// wasm64: pointers and sizes are i64, so they arrive and must be returned as
// BigInt. The module's memory type decides, read once from its binary.
//
// Threaded programs (lm_add_program THREADS) import a shared memory, which
// the runner creates. Each lm_host_thread_start becomes a worker running
// this same file: it instantiates the module on that memory, sets the
// instance's __stack_pointer to the stack the program chose for the thread,
// and calls the export lm_host_thread_entry. A thread that fails (exit code,
// fatal report, trap) ends the program at its join, with that code.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { Worker, isMainThread, workerData } from 'node:worker_threads';
import { createMemory, readMemoryShape, switchToResizableBuffer } from '../targets/js/lmalloc.js';

const EXIT_ABORT = 134;

export class LmallocError extends Error {
  constructor(kind, ptr, size, message) {
    super(message);
    this.name = 'LmallocError';
    this.kind = kind;
    this.ptr = ptr;
    this.size = size;
  }
}

class ExitRequest {
  constructor(code) { this.code = code; }
}

function writeAll(fd, data) {
  let done = 0;
  while (done < data.length) {
    try {
      done += fs.writeSync(fd, data, done, data.length - done);
    } catch (error) {
      if (error.code !== 'EAGAIN') throw error;
    }
  }
}

// In a thread's worker, what the main thread found out and decided.
const thread = isMainThread ? null : workerData;

// Threads: per slot, [state, exit code] in one SharedArrayBuffer that every
// worker is given. The slots are the program's (targets/wasm/threads.c).
const THREAD_RUNNING = 1, THREAD_ENDED = 2;
const threadStatus = thread ? new Int32Array(thread.status) : new Int32Array(new SharedArrayBuffer(8 * 1024));

// Tells the thread's join (blocked in Atomics.wait) that it ended, and how.
function threadEnded(code) {
  Atomics.store(threadStatus, 2 * thread.slot + 1, code);
  Atomics.store(threadStatus, 2 * thread.slot, THREAD_ENDED);
  Atomics.notify(threadStatus, 2 * thread.slot);
}

function fail(message) {
  process.stderr.write(`run-wasm: ${message}\n`);
  if (thread) threadEnded(2);
  process.exit(2);
}
const [modulePath, ...programArgs] = thread ? [thread.modulePath, ...thread.programArgs] : process.argv.slice(2);
if (!modulePath) fail('usage: run-wasm <module.wasm> [args...]');
let bytes;
try {
  bytes = fs.readFileSync(modulePath);
} catch (error) {
  fail(`cannot read ${modulePath}: ${error.message}`);
}

const shape = readMemoryShape(bytes);
const is64 = shape?.is64 ?? false;
const toPtr = is64 ? (n) => BigInt(n) : (n) => n;       // JS number -> uptr
// uptr -> JS number. An i32 arrives signed: addresses from 2 GiB up would be
// negative without the unsigned shift.
const fromPtr = is64 ? (v) => Number(v) : (v) => v >>> 0;

// The engine, as lm_host_getenv("LM_WASM_ENGINE") tells the program: the
// runner knows it for certain, so it is not taken from the environment.
const engine = `node ${process.versions.node}`;

let memory;
const view = () => new Uint8Array(memory.buffer);
const cString = (ptr) => {
  const all = view();
  const start = fromPtr(ptr);
  const end = all.indexOf(0, start);
  if (end < 0) throw new Error(`unterminated string at ${start}`);
  return Buffer.from(all.buffer, start, end - start).toString('utf8');
};

// Handles >= 3, shared by files opened for reading and created for writing
// (each thread has its own).
const files = new Map();
let nextHandle = 3;

const args = [path.basename(modulePath), ...programArgs].map((a) => Buffer.from(`${a}\0`));
const argBytes = args.reduce((sum, a) => sum + a.length, 0);

let module;

const host = {
  write(fd, buf, len) {
    const data = Buffer.from(memory.buffer, fromPtr(buf), fromPtr(len));
    if (fd === 1 || fd === 2) {
      writeAll(fd, data);
      return;
    }
    const file = files.get(fd);
    if (file && file.kind === 'write') writeAll(file.fd, data);
  },
  now_ns() {
    return process.hrtime.bigint();
  },
  open(pathPtr) {
    const name = cString(pathPtr);
    try {
      let data = null, fd = -1;
      if (name.endsWith('.gz')) data = zlib.gunzipSync(fs.readFileSync(name));
      else fd = fs.openSync(name, 'r');
      const handle = nextHandle++;
      files.set(handle, { kind: 'read', fd, data, offset: 0 });
      return handle;
    } catch {
      return -1;
    }
  },
  read(handle, buf, len) {
    const file = files.get(handle);
    if (!file || file.kind !== 'read') return toPtr(-1);
    const target = Buffer.from(memory.buffer, fromPtr(buf), fromPtr(len));
    if (file.data) {
      const count = file.data.copy(target, 0, file.offset);
      file.offset += count;
      return toPtr(count);
    }
    try {
      return toPtr(fs.readSync(file.fd, target, 0, target.length, null));
    } catch {
      return toPtr(-1);
    }
  },
  close(handle) {
    const file = files.get(handle);
    if (!file) return;
    if (file.fd >= 0) fs.closeSync(file.fd);
    files.delete(handle);
  },
  create(pathPtr) {
    try {
      const fd = fs.openSync(cString(pathPtr), 'w');
      const handle = nextHandle++;
      files.set(handle, { kind: 'write', fd });
      return handle;
    } catch {
      return -1;
    }
  },
  getenv(namePtr, buf, cap) {
    const name = cString(namePtr);
    const value = name === 'LM_WASM_ENGINE' ? engine : process.env[name];
    if (value === undefined) return toPtr(-1);
    const encoded = Buffer.from(value, 'utf8');
    const room = fromPtr(cap);
    if (room > 0) {
      const copied = Math.min(encoded.length, room - 1);
      const target = view();
      encoded.copy(target, fromPtr(buf), 0, copied);
      target[fromPtr(buf) + copied] = 0;
    }
    return toPtr(encoded.length);
  },
  exit(code) {
    throw new ExitRequest(code);
  },
  arg_count() {
    return args.length;
  },
  arg_bytes() {
    return toPtr(argBytes);
  },
  args_get(argvPtr, bufPtr) {
    const memoryView = new DataView(memory.buffer);
    let stringAt = fromPtr(bufPtr);
    args.forEach((arg, index) => {
      if (is64) memoryView.setBigUint64(fromPtr(argvPtr) + 8 * index, BigInt(stringAt), true);
      else memoryView.setUint32(fromPtr(argvPtr) + 4 * index, stringAt, true);
      arg.copy(view(), stringAt);
      stringAt += arg.length;
    });
  },
  cpu_count() {
    return os.availableParallelism();
  },
  thread_spawn(slot, stackTop, fn, arg) {
    if (!shape?.shared) return -1;     // a module without shared memory has no threads
    Atomics.store(threadStatus, 2 * slot, THREAD_RUNNING);
    try {
      new Worker(new URL(import.meta.url), {
        workerData: { modulePath, programArgs, module, memory, status: threadStatus.buffer, slot, stackTop, fn, arg },
      }).unref();
      return 0;
    } catch (error) {
      process.stderr.write(`run-wasm: cannot start a thread: ${error.message}\n`);
      Atomics.store(threadStatus, 2 * slot, 0);
      return -1;
    }
  },
  thread_join(slot) {
    while (Atomics.load(threadStatus, 2 * slot) === THREAD_RUNNING) Atomics.wait(threadStatus, 2 * slot, THREAD_RUNNING);
    const code = Atomics.load(threadStatus, 2 * slot + 1);
    Atomics.store(threadStatus, 2 * slot, 0);
    if (code !== 0) throw new ExitRequest(code);
  },
};

const lmalloc = {
  report(kind, ptr, size, linePtr, lineLen, fatal) {
    const line = Buffer.from(memory.buffer, fromPtr(linePtr), fromPtr(lineLen)).toString('utf8');
    writeAll(2, Buffer.from(`${line}\n`));
    if (fatal) throw new LmallocError(kind, BigInt(ptr), BigInt(size), line);
  },
};

// The memory a module importing one gets: shared for a threaded module, its
// declared limits; node 20 caps memory64 at 4 GiB, so it gets that.
function memoryFor(memoryShape) {
  const options = { is64, initialPages: memoryShape.initial, maximumPages: memoryShape.maximum, shared: memoryShape.shared };
  try {
    return createMemory(options);
  } catch (error) {
    if (!(error instanceof RangeError) || memoryShape.maximum <= 65536) throw error;
    return createMemory({ ...options, maximumPages: 65536 });
  }
}

// Runs `call` (which runs the program's code) and returns the exit code it
// ends with.
function runToExit(call) {
  try {
    call();
    fail(`${modulePath}: the program returned without calling exit`);
  } catch (error) {
    if (error instanceof ExitRequest) return error.code;
    // A report's line was already printed by the report hook.
    if (!(error instanceof LmallocError)) {
      process.stderr.write(`run-wasm: ${modulePath}: ${error && error.stack ? error.stack : error}\n`);
    }
    return EXIT_ABORT;
  }
}

let exitCode;
if (thread) {
  memory = thread.memory;
  module = thread.module;
  exitCode = runToExit(() => {
    const instance = new WebAssembly.Instance(module, { host, lmalloc, [shape.module]: { [shape.field]: memory } });
    if (process.env.LM_WASM_BUFFER !== 'fixed') switchToResizableBuffer(memory);
    instance.exports.__stack_pointer.value = thread.stackTop;
    instance.exports.lm_host_thread_entry(thread.slot, thread.fn, thread.arg);
    throw new ExitRequest(0);
  });
  for (const file of files.values()) if (file.fd >= 0) fs.closeSync(file.fd);
  threadEnded(exitCode);
} else {
  exitCode = runToExit(() => {
    module = new WebAssembly.Module(bytes);
    const imports = { host, lmalloc };
    if (shape?.imported) {
      memory = memoryFor(shape);
      imports[shape.module] = { [shape.field]: memory };
    }
    const instance = new WebAssembly.Instance(module, imports);
    memory ??= instance.exports.memory;
    // A resizable buffer keeps memory.grow cheap (why: targets/js/lmalloc.js).
    // LM_WASM_BUFFER=fixed keeps the classic one, to measure growth without it.
    if (process.env.LM_WASM_BUFFER !== 'fixed') switchToResizableBuffer(memory);
    if (typeof instance.exports._start !== 'function') fail(`${modulePath} exports no _start`);
    instance.exports._start();
  });
  for (const file of files.values()) if (file.fd >= 0) fs.closeSync(file.fd);
  // Threads not joined must not keep the program alive.
  process.exit(exitCode);
}
