// Runs a consumer module (tests/consumer): instantiates it with the JS
// library, which provides the lmalloc.report import, calls consumer_run()
// and exits with its result.
//   node run_wasm.mjs <consumer.wasm>
import fs from 'node:fs';
import { Lmalloc } from '../../targets/js/lmalloc.js';

const heap = await Lmalloc.instantiate(fs.readFileSync(process.argv[2]));
const result = heap.wrapExport('consumer_run', [], 'i32')();
console.log(`${process.argv[2]}: consumer_run() = ${result}`);
process.exit(result);
