// Serves the heap map page from 127.0.0.1 and checks it in headless Chromium.
//
//   node test-browser.mjs --wasm32 <lmalloc.wasm> --wasm64 <lmalloc.wasm> --screenshot <out.png>
//   node test-browser.mjs --serve --wasm32 ... --wasm64 ...    (serve only, for a real browser)
//
// The test passes when both builds ran the workload with lm_check() clean,
// the page logged no console error, both heap maps drew used blocks, and the
// heap has a resizable buffer exactly when the browser offers one.
// Needs Debian's chromium (/usr/bin/chromium) and playwright-core installed
// next to this file (npm ci --prefix examples/browser); toolchain/setup.sh
// installs both.
import http from 'node:http';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..', '..');
const CHROMIUM = process.env.LM_CHROMIUM ?? '/usr/bin/chromium';

function parseArgs(argv) {
  const args = { serve: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--serve') args.serve = true;
    else if (['--wasm32', '--wasm64', '--screenshot'].includes(arg)) args[arg.slice(2)] = argv[++i];
    else throw new Error(`test-browser: unknown argument ${arg}`);
  }
  for (const name of ['wasm32', 'wasm64']) {
    if (!args[name]) throw new Error(`test-browser: --${name} <lmalloc.wasm> is required`);
    if (!fs.existsSync(args[name])) throw new Error(`test-browser: ${args[name]} does not exist: build it first`);
  }
  if (!args.serve && !args.screenshot) throw new Error('test-browser: --screenshot <out.png> is required');
  return args;
}

function fail(message) {
  console.error(`test-browser: FAIL: ${message}`);
  process.exit(1);
}

// Only these files are served; everything else is 404.
function serve(files) {
  const server = http.createServer((request, response) => {
    const url = new URL(request.url, 'http://127.0.0.1');
    const entry = files[url.pathname];
    if (!entry || request.method !== 'GET') {
      response.writeHead(404, { 'content-type': 'text/plain' });
      response.end('not found');
      return;
    }
    response.writeHead(200, { 'content-type': entry.type, 'cache-control': 'no-store' });
    fs.createReadStream(entry.file).pipe(response);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

const args = parseArgs(process.argv.slice(2));
const files = {
  '/': { file: path.join(here, 'index.html'), type: 'text/html; charset=utf-8' },
  '/index.html': { file: path.join(here, 'index.html'), type: 'text/html; charset=utf-8' },
  '/heapmap.js': { file: path.join(here, 'heapmap.js'), type: 'text/javascript; charset=utf-8' },
  '/lmalloc.js': { file: path.join(repo, 'targets', 'js', 'lmalloc.js'), type: 'text/javascript; charset=utf-8' },
  '/wasm32/lmalloc.wasm': { file: args.wasm32, type: 'application/wasm' },
  '/wasm64/lmalloc.wasm': { file: args.wasm64, type: 'application/wasm' },
};
const server = await serve(files);
const origin = `http://127.0.0.1:${server.address().port}`;

if (args.serve) {
  console.log(`serving the heap map at ${origin}/ (Ctrl-C to stop)`);
} else {
  let chromium;
  try {
    ({ chromium } = await import('playwright-core'));
  } catch (error) {
    fail(`playwright-core is not installed next to ${here} (${error.code ?? error.message}); run toolchain/setup.sh`);
  }
  if (!fs.existsSync(CHROMIUM)) fail(`${CHROMIUM} is missing: apt-get install chromium (toolchain/setup.sh does)`);

  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'lmalloc-chromium-'));
  let context;
  const deadline = setTimeout(() => fail('no result within 120 s'), 120_000);
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1800, height: 560 },
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    const page = context.pages()[0] ?? await context.newPage();
    const problems = [];
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
    });
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('requestfailed', (request) => problems.push(`request failed: ${request.url()}`));
    page.on('response', (response) => {
      if (response.status() >= 400) problems.push(`HTTP ${response.status()} for ${response.url()}`);
    });

    const version = context.browser()?.version() ?? 'unknown';
    await page.goto(`${origin}/`);
    await page.waitForFunction(() => document.body.dataset.status !== undefined, null, { timeout: 90_000 });
    const status = await page.evaluate(() => document.body.dataset.status);
    const results = await page.evaluate(() => window.lmallocResults);
    // Count non-background pixels of each map: proof that it rendered.
    const drawn = await page.evaluate(() => Object.fromEntries([...document.querySelectorAll('canvas')].map((canvas) => {
      const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
      let green = 0;
      for (let i = 0; i < data.length; i += 4) if (data[i + 1] > data[i] + 40) green++;   // used/free block colours
      return [canvas.dataset.build, green];
    })));
    await page.screenshot({ path: args.screenshot, fullPage: true });

    console.log(`chromium ${version}`);
    for (const name of ['wasm32', 'wasm64']) {
      const result = results?.[name];
      console.log(`${name}: ${JSON.stringify(result)} heap-map pixels: ${drawn[name]}`);
      if (!result) problems.push(`${name}: no result`);
      else if (!result.ok) problems.push(`${name}: ${result.error}`);
      else {
        if (result.pointerBits !== (name === 'wasm64' ? 64 : 32)) problems.push(`${name}: ran as wasm${result.pointerBits}`);
        if (result.check !== 0) problems.push(`${name}: lm_check() = ${result.check}`);
        if (!(result.usedCells > 0)) problems.push(`${name}: the map shows no used block`);
        // Where the browser offers resizable buffers, the library must have switched to one.
        if (result.resizableBuffer !== result.engineHasResizableBuffers) {
          problems.push(`${name}: resizableBuffer ${result.resizableBuffer}, engine offers one: ${result.engineHasResizableBuffers}`);
        }
      }
      if (!(drawn[name] > 1000)) problems.push(`${name}: the heap map did not render (${drawn[name]} block pixels)`);
    }
    if (status !== 'done') problems.push(`page status: ${status}`);
    console.log(`screenshot: ${args.screenshot}`);
    if (problems.length > 0) fail(problems.join('\n  '));
    console.log('browser heap map: both builds ran, no console errors, maps rendered');
  } finally {
    clearTimeout(deadline);
    await context?.close();
    server.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
}
