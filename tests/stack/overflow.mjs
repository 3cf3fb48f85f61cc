// Deep recursion against both stack layouts (tests/stack/overflow.c):
//   node overflow.mjs <stack-first.wasm> <data-first.wasm>
// stack-first (the project's layout): a recursion one frame deeper than the
//   stack traps, the JS library raises LmallocStackOverflowError naming the
//   stack size, every byte of static data and heap is as before, and the
//   instance goes on (the heap block is freed, lm_check() finds it sound).
// data-first (wasm-ld's default): the same depth runs into the static data
//   below the stack and returns as if nothing happened, the canary
//   overwritten: the silent corruption --stack-first prevents.
import fs from 'node:fs';
import { Lmalloc, LmallocStackOverflowError } from '../../targets/js/lmalloc.js';

const [stackFirstPath, dataFirstPath] = process.argv.slice(2);
let failed = false;
function expect(what, ok, detail) {
  console.log(`${ok ? 'ok' : 'FAILED'}: ${what}${detail ? ` (${detail})` : ''}`);
  failed ||= !ok;
}

async function load(path) {
  const heap = await Lmalloc.instantiate(fs.readFileSync(path));
  const call = {
    recurse: heap.wrapExport('recurse', ['u32'], 'u32'),
    lowest: heap.wrapExport('stack_lowest', [], 'ptr'),
    canary: heap.wrapExport('canary_address', [], 'ptr'),
    canarySize: heap.wrapExport('canary_size', [], 'size'),
  };
  const stackTop = Number(heap.instance.exports.__stack_pointer.value);
  // Bytes per level, measured: 10 levels from the top.
  call.recurse(10);
  const frame = Math.ceil((stackTop - call.lowest()) / 11);
  return { heap, call, stackTop, frame };
}

{
  const { heap, call, stackTop, frame } = await load(stackFirstPath);
  const canary = call.canary();
  expect('stack-first: the stack lies below the static data', stackTop <= canary, `stack top ${stackTop}, data at ${canary}`);
  const block = heap.alloc(5000);
  heap.u8(block, 5000).fill(0x3C);
  const memoryBefore = heap.u8(stackTop, heap.memory.buffer.byteLength - stackTop).slice();
  let error = null;
  try {
    call.recurse(Math.ceil(stackTop / frame) + 4);
  } catch (caught) {
    error = caught;
  }
  expect('stack-first: the overflow is a LmallocStackOverflowError', error instanceof LmallocStackOverflowError,
         error ? error.message : 'the call returned');
  expect('stack-first: the error names the stack size', error?.message.includes(`${stackTop}-byte stack`), error?.message);
  const memoryAfter = heap.u8(stackTop, memoryBefore.length);
  const changed = memoryAfter.findIndex((byte, index) => byte !== memoryBefore[index]);
  expect('stack-first: static data and heap bytes unchanged', changed === -1,
         changed === -1 ? `${memoryBefore.length} bytes compared` : `byte at ${stackTop + changed} changed`);
  heap.dealloc(block, 5000);
  expect('stack-first: the instance goes on, its heap sound', heap.check() === 0 && heap.stats().liveBlocks === 0);
  expect('stack-first: and can recurse again', call.recurse(20) > 0);
}
{
  const { heap, call, stackTop, frame } = await load(dataFirstPath);
  const canary = call.canary(), size = call.canarySize();
  expect('data-first: the static data lies below the stack', canary + size <= stackTop - frame * 11);
  const depth = Math.ceil((stackTop - canary - size) / frame) + 2;   // just into the data, not to 0
  let outcome;
  try {
    call.recurse(depth);
    outcome = 'returned normally';
  } catch (error) {
    outcome = `trapped: ${error.message}`;
  }
  const bytes = heap.u8(canary, size);
  const overwritten = bytes.filter((byte) => byte !== 0xA5).length;
  console.log(`data-first: recurse(${depth}) ${outcome}; ${overwritten} of the ${size} canary bytes overwritten`);
  expect('data-first: the same overflow silently overwrites static data', outcome === 'returned normally' && overwritten > 0);
}
process.exit(failed ? 1 : 0);
