// Probe: one route of the revocation app at a fixed open-loop rate, with the app's event-loop
// delay and GC pauses over the same window (loop-monitor.cjs preloaded into revocation).
//   node bench/probes/http-tail.mjs   (ROUTE=/v1/bench/baseline RATE=1000 SECS=8)
// Extra node flags for the apps go in BENCH_NODE_ARGS, e.g. --max-semi-space-size=32;
// MONITOR_SCRIPT=alloc-monitor.cjs swaps the monitor for a sampled allocation profile.
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuMeter, openLoop, sleep, startBenchSystem } from '../harness.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const route = process.env.ROUTE ?? '/v1/bench/baseline';
const rate = Number(process.env.RATE ?? 1000);
const seconds = Number(process.env.SECS ?? 8);
const monitorFile = path.join(os.tmpdir(), `tl-loop-monitor-${process.pid}.json`);
const ports = { issuance: 14001, revocation: 14002 };
process.env.BENCH_NODE_ARGS = `${process.env.BENCH_NODE_ARGS ?? ''} --require ${path.resolve(here, process.env.MONITOR_SCRIPT ?? 'loop-monitor.cjs')}`;
const system = await startBenchSystem({
  apps: ports,
  env: {
    BENCH_BASELINE_ROUTE: 'true',
    MONITOR_FILE: monitorFile,
    MONITOR_PORT: String(ports.revocation),
  },
});
try {
  const auth = { authorization: `Bearer ${system.rootToken}` };
  const issued = await fetch(`${system.url('issuance')}/v1/tokens`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({
      owner: { type: 'service', id: 'probe' },
      name: 'probe',
      scopes: ['probe:read'],
      ttlSeconds: 3600,
    }),
  }).then((r) => r.json());
  await sleep(500);
  const load = {
    url: `${system.url('revocation')}${route}`,
    headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token: issued.token }).toString(),
    rate,
  };
  await openLoop({ ...load, seconds: 2 }); // warm-up
  writeFileSync(`${monitorFile}.start`, '');
  const cpu = cpuMeter(system.pids);
  const threads = threadCpu(system.pids.revocation);
  const result = await openLoop({ ...load, seconds });
  const used = cpu();
  const perThread = threads();
  writeFileSync(`${monitorFile}.stop`, '');
  for (let i = 0; i < 40 && !existsSync(monitorFile); i++) await sleep(50);
  console.log(
    `${route} at ${rate} req/s for ${seconds} s: p50 ${result.p50.toFixed(2)} ms, p99 ${result.p99.toFixed(2)} ms, max ${result.max.toFixed(1)} ms, errors ${result.errors} ${JSON.stringify(result.failures)}, generator lag max ${result.maxLag.toFixed(1)} ms`,
  );
  const share = (ms) => `${((ms / (seconds * 1000)) * 100).toFixed(0)}%`;
  console.log(
    `CPU over the load, in % of one core: ${Object.entries(used)
      .map(([k, ms]) => `${k} ${share(ms)}`)
      .join(', ')}; revocation by thread: ${Object.entries(perThread)
      .filter(([, ms]) => ms >= 10)
      .map(([k, ms]) => `${k} ${share(ms)}`)
      .join(', ')}`,
  );
  console.log(
    existsSync(monitorFile)
      ? `revocation during the load: ${readFileSync(monitorFile, 'utf8')}`
      : '(no report from the loop monitor)',
  );
} finally {
  await system.stop();
  for (const f of [monitorFile, `${monitorFile}.start`, `${monitorFile}.stop`])
    rmSync(f, { force: true });
}

/** CPU (ms) used by each thread of a process between two calls, by thread name, from /proc. */
function threadCpu(pid) {
  const read = () => {
    const out = {};
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        const name = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
        const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
        const f = stat
          .slice(stat.lastIndexOf(')') + 2)
          .split(' ')
          .map(Number);
        const key = `${name}#${tid}`;
        out[key] = ((f[11] + f[12]) * 1000) / 100;
      } catch {
        // gone meanwhile
      }
    }
    return out;
  };
  const start = read();
  return () => {
    const end = read();
    return Object.fromEntries(Object.keys(end).map((k) => [k, end[k] - (start[k] ?? 0)]));
  };
}
