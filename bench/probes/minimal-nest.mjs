// Probe: how low the open-loop tail can be for Nest + Express on this machine. Runs
// minimal-nest-app.cjs (PINO=1 adds nestjs-pino's request logger) and a bare node:http server,
// each at RATE req/s for SECS seconds, twice.   node bench/probes/minimal-nest.mjs
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bareServerArgs, openLoop, sleep } from '../harness.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const rate = Number(process.env.RATE ?? 1000);
const seconds = Number(process.env.SECS ?? 8);
const servers = [
  ['bare node:http', bareServerArgs, {}],
  ['minimal Nest + Express + guard', [path.join(here, 'minimal-nest-app.cjs')], {}],
  [
    'the same + nestjs-pino request logger',
    [path.join(here, 'minimal-nest-app.cjs')],
    { PINO: '1' },
  ],
];
for (const [name, args, env] of servers) {
  const server = spawn(process.execPath, args, {
    env: { ...process.env, ...env, PORT: '14998' },
    stdio: 'inherit',
  });
  try {
    while (
      !(await fetch('http://127.0.0.1:14998/').then(
        () => true,
        () => false,
      ))
    )
      await sleep(50);
    const load = {
      url: 'http://127.0.0.1:14998/v1/introspect',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: 'Bearer probe',
      },
      body: 'token=probe',
      rate,
    };
    await openLoop({ ...load, seconds: 2 });
    for (let i = 0; i < 2; i++) {
      const r = await openLoop({ ...load, seconds });
      console.log(
        `${name} at ${rate} req/s: p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms, max ${r.max.toFixed(1)} ms, errors ${r.errors}, generator lag max ${r.maxLag.toFixed(1)} ms`,
      );
    }
  } finally {
    server.kill();
    await new Promise((r) => server.once('exit', r));
  }
}
