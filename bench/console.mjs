// `npm run bench:console`: the console's bundle (bytes raw and gzip, from apps/console/dist/web)
// and its first load in Debian's headless chromium (playwright-core): the sign-in page from the
// console server on loopback, cold cache, median of RUNS. Baseline in the same run: a page of
// the same server that loads no script (/health/live, JSON). No services needed. Prints Markdown.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(path.join(root, 'e2e', 'package.json'));
const { chromium } = require('playwright-core');
const RUNS = Number(process.env.BENCH_CONSOLE_RUNS ?? 7);
const PORT = Number(process.env.BENCH_CONSOLE_PORT ?? 4990);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const web = path.join(root, 'apps', 'console', 'dist', 'web');
const files = [];
const walk = (dir) => {
  for (const name of readdirSync(dir)) {
    const file = path.join(dir, name);
    if (statSync(file).isDirectory()) walk(file);
    else files.push(file);
  }
};
walk(web);
const sizes = files.map((f) => {
  const bytes = readFileSync(f);
  return {
    file: path.relative(web, f),
    raw: bytes.length,
    gzip: gzipSync(bytes, { level: 9 }).length,
  };
});

const server = spawn(
  process.execPath,
  [path.join(root, 'apps', 'console', 'dist', 'server', 'main.js')],
  {
    env: { PATH: process.env.PATH ?? '', CONSOLE_PORT: String(PORT) },
    stdio: ['ignore', 'pipe', 'inherit'],
  },
);
await new Promise((resolve) => server.stdout.once('data', resolve));
const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const browser = await chromium.launch({ executablePath, headless: true, args: ['--no-sandbox'] });
const measure = async (url, waitFor) => {
  const times = [];
  for (let i = 0; i < RUNS; i++) {
    const context = await browser.newContext();
    const page = await context.newPage();
    const start = performance.now();
    await page.goto(url, { waitUntil: 'load' });
    if (waitFor) await page.getByLabel(waitFor).waitFor();
    times.push(performance.now() - start);
    await context.close();
  }
  return median(times);
};
const base = `http://127.0.0.1:${PORT}`;
const consoleMs = await measure(`${base}/`, 'Operator token');
const baselineMs = await measure(`${base}/health/live`);
await browser.close();
server.kill('SIGTERM');

console.log(`| file | bytes | gzip |\n|---|---:|---:|`);
for (const s of sizes) console.log(`| ${s.file} | ${s.raw} | ${s.gzip} |`);
const total = sizes.reduce((a, s) => ({ raw: a.raw + s.raw, gzip: a.gzip + s.gzip }), {
  raw: 0,
  gzip: 0,
});
console.log(`| total | ${total.raw} | ${total.gzip} |\n`);
console.log(`| first load (cold cache, median of ${RUNS}) | ms |\n|---|---:|`);
console.log(`| console sign-in page, until the token field is shown | ${consoleMs.toFixed(0)} |`);
console.log(`| baseline: /health/live of the same server (no script) | ${baselineMs.toFixed(0)} |`);
