// Probe: where a POST /v1/tokens spends its time. Starts the four apps (fresh database and
// topics), then, one request at a time, times GET /v1/whoami (operator auth alone) and
// POST /v1/tokens (auth, policy, HMAC, the insert transaction), and the same at a few
// concurrencies. BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=DIR" profiles the apps meanwhile.
//   node bench/probes/issue-latency.mjs   (N=200)
import { percentile, startBenchSystem } from '../harness.mjs';

const N = Number(process.env.N ?? 200);
const ports = { issuance: 16001, revocation: 16002, anomaly: 16003, ledger: 16004 };
const system = await startBenchSystem({ apps: ports });
const auth = { authorization: `Bearer ${system.rootToken}` };
const body = JSON.stringify({
  owner: { type: 'service', id: 'bench' },
  name: 'bench',
  scopes: ['bench:read'],
  ttlSeconds: 3600,
});
const calls = {
  whoami: () => fetch(`${system.url('issuance')}/v1/whoami`, { headers: auth }),
  issue: () =>
    fetch(`${system.url('issuance')}/v1/tokens`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body,
    }),
};
try {
  for (const concurrency of [1, 8]) {
    for (const [name, call] of Object.entries(calls)) {
      const times = [];
      const started = performance.now();
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (times.length < N) {
            const t0 = performance.now();
            const res = await call();
            await res.arrayBuffer();
            if (!res.ok) throw new Error(`${name} answered ${res.status}`);
            times.push(performance.now() - t0);
          }
        }),
      );
      const rate = times.length / ((performance.now() - started) / 1000);
      times.sort((a, b) => a - b);
      console.log(
        `${name} x${concurrency}: ${rate.toFixed(0)}/s p50 ${percentile(times, 50).toFixed(1)} ms p99 ${percentile(times, 99).toFixed(1)} ms`,
      );
    }
  }
} finally {
  await system.stop();
}
