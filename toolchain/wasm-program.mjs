// Runs one lmalloc wasm program (built by lm_add_program) in this process:
// it provides the "host" imports of targets/wasm/host.c and the allocator's
// "lmalloc.report" hook, calls _start, and returns main's exit code. A fatal
// misuse report ends the program like a native abort(): its line is written
// to stderr and the exit code is 134. toolchain/run-wasm.mjs runs one program
// as a command; tests/corruption/run.mjs runs many cases of one module.
//
// wasm64: pointers and sizes are i64, so they arrive and must be returned as
// BigInt. The module's memory type decides, read once from its binary.
//
// Threaded programs (lm_add_program THREADS) import a shared memory, which
// the runner creates. Each lm_host_thread_start becomes a worker running
// run-wasm.mjs, which calls runWasmThread: it instantiates the module on
// that memory, sets the instance's __stack_pointer to the stack the program
// chose for the thread, and calls the export lm_host_thread_entry. A thread
// that fails (exit code, fatal report, trap) ends the program at its join,
// with that code.
import fs from 'node:fs';
import os from 'node:os';
import zlib from 'node:zlib';
import { Worker } from 'node:worker_threads';
import { createMemory, readMemoryShape, switchToResizableBuffer } from '../targets/js/lmalloc.js';

// Threads: per slot, [state, exit code] in one SharedArrayBuffer that every
// worker is given. The slots are the program's (targets/wasm/threads.c).
const THREAD_RUNNING = 1, THREAD_ENDED = 2, THREAD_SLOTS = 1024;

export const EXIT_ABORT = 134;

class LmallocAbort extends Error {
  constructor(line) {
    super(line);
    this.name = 'LmallocAbort';
  }
}

class ExitRequest {
  constructor(code) { this.code = code; }
}

export function writeAll(fd, data) {
  let done = 0;
  while (done < data.length) {
    try {
      done += fs.writeSync(fd, data, done, data.length - done);
    } catch (error) {
      if (error.code !== 'EAGAIN') throw error;
    }
  }
}

/** The memory width of a module's bytes: true for wasm64. */
export function moduleIs64(bytes) {
  return readMemoryShape(bytes)?.is64 ?? false;
}

// The memory a module importing one gets: shared for a threaded module, its
// declared limits; node 20 caps memory64 at 4 GiB, so it gets that.
function memoryFor(shape) {
  const options = { is64: shape.is64, initialPages: shape.initial, maximumPages: shape.maximum, shared: shape.shared };
  try {
    return createMemory(options);
  } catch (error) {
    if (!(error instanceof RangeError) || shape.maximum <= 65536) throw error;
    return createMemory({ ...options, maximumPages: 65536 });
  }
}

/**
 * Runs a program to its end.
 * @param module a compiled WebAssembly.Module (compile once, run many times)
 * @param options.is64 the module's width (moduleIs64 of its bytes)
 * @param options.args argv, program name first
 * @param options.write (fd, Buffer) for stdout (1) and stderr (2)
 * @param options.resizableBuffer false keeps the classic buffer
 * @param options.bytes the module's bytes: needed to run a threaded program
 * @param options.thread (runWasmThread) the thread this instance runs
 * @returns { exitCode, crash }: crash is the exception that ended the program
 *   other than exit() and a fatal misuse report (a trap, a host error), or null
 */
export function runWasmProgram(module, { is64, args, write, resizableBuffer = true, bytes = null, thread = null }) {
  const shape = thread ? thread.shape : bytes ? readMemoryShape(bytes) : null;
  const status = thread ? new Int32Array(thread.status) : new Int32Array(new SharedArrayBuffer(8 * THREAD_SLOTS));
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

  // Handles >= 3, shared by files opened for reading and created for writing.
  const files = new Map();
  let nextHandle = 3;

  const argBuffers = args.map((a) => Buffer.from(`${a}\0`));
  const argBytes = argBuffers.reduce((sum, a) => sum + a.length, 0);

  const host = {
    write(fd, buf, len) {
      const data = Buffer.from(memory.buffer, fromPtr(buf), fromPtr(len));
      if (fd === 1 || fd === 2) {
        write(fd, data);
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
      return argBuffers.length;
    },
    arg_bytes() {
      return toPtr(argBytes);
    },
    args_get(argvPtr, bufPtr) {
      const memoryView = new DataView(memory.buffer);
      let stringAt = fromPtr(bufPtr);
      argBuffers.forEach((arg, index) => {
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
      Atomics.store(status, 2 * slot, THREAD_RUNNING);
      try {
        new Worker(new URL('./run-wasm.mjs', import.meta.url), {
          workerData: { module, memory, shape, args, resizableBuffer, status: status.buffer, slot, stackTop, fn, arg },
        }).unref();
        return 0;
      } catch (error) {
        write(2, Buffer.from(`run-wasm: cannot start a thread: ${error.message}\n`));
        Atomics.store(status, 2 * slot, 0);
        return -1;
      }
    },
    thread_join(slot) {
      while (Atomics.load(status, 2 * slot) === THREAD_RUNNING) Atomics.wait(status, 2 * slot, THREAD_RUNNING);
      const code = Atomics.load(status, 2 * slot + 1);
      Atomics.store(status, 2 * slot, 0);
      if (code !== 0) throw new ExitRequest(code);
    },
  };

  const lmalloc = {
    report(kind, ptr, size, linePtr, lineLen, fatal) {
      const line = Buffer.from(memory.buffer, fromPtr(linePtr), fromPtr(lineLen)).toString('utf8');
      write(2, Buffer.from(`${line}\n`));
      if (fatal) throw new LmallocAbort(line);
    },
    // Secret bytes for the heap's keys (targets/wasm/target.c).
    random(ptr, len) {
      const bytes = new Uint8Array(fromPtr(len));
      globalThis.crypto.getRandomValues(bytes);
      new Uint8Array(memory.buffer, fromPtr(ptr), bytes.length).set(bytes);
      return 1;
    },
  };

  let exitCode, crash = null;
  try {
    const imports = { host, lmalloc };
    if (thread) memory = thread.memory;
    else if (shape?.imported) memory = memoryFor(shape);
    if (memory) imports[shape.module] = { [shape.field]: memory };
    const instance = new WebAssembly.Instance(module, imports);
    memory ??= instance.exports.memory;
    // A resizable buffer keeps memory.grow cheap (why: targets/js/lmalloc.js).
    if (resizableBuffer) switchToResizableBuffer(memory);
    if (thread) {
      instance.exports.__stack_pointer.value = thread.stackTop;
      instance.exports.lm_host_thread_entry(thread.slot, thread.fn, thread.arg);
      throw new ExitRequest(0);
    }
    if (typeof instance.exports._start !== 'function') throw new Error('the module exports no _start');
    instance.exports._start();
    throw new Error('_start returned without calling exit');
  } catch (error) {
    if (error instanceof ExitRequest) {
      exitCode = error.code;
    } else if (error instanceof LmallocAbort) {
      // The line itself was already written by the report hook.
      exitCode = EXIT_ABORT;
    } else {
      crash = error;
      exitCode = EXIT_ABORT;
    }
  } finally {
    for (const file of files.values()) if (file.fd >= 0) fs.closeSync(file.fd);
  }
  return { exitCode, crash };
}

/**
 * In a worker that thread_spawn started: runs the thread to its end and
 * tells its join (blocked in Atomics.wait) how it ended.
 * @param data the worker's workerData
 */
export function runWasmThread(data) {
  const { exitCode, crash } = runWasmProgram(data.module, {
    is64: data.shape.is64, args: data.args, write: writeAll, resizableBuffer: data.resizableBuffer, thread: data,
  });
  if (crash !== null) writeAll(2, Buffer.from(`run-wasm: thread ${data.slot}: ${crash && crash.stack ? crash.stack : crash}\n`));
  const status = new Int32Array(data.status);
  Atomics.store(status, 2 * data.slot + 1, exitCode);
  Atomics.store(status, 2 * data.slot, THREAD_ENDED);
  Atomics.notify(status, 2 * data.slot);
}
