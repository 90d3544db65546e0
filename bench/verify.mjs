// `npm run bench:verify` (also the verify phase of `npm run bench:ledger`): `tokenledger verify` on
// a range bundle of BENCH_VERIFY_ENTRIES (default 1,000,000) entries, in a child process under
// /usr/bin/time (peak RSS), against plain SHA-256 of the same leaf bytes in the same run; and the
// version 1 format (a 15-to-20-hash proof per entry) on BENCH_VERIFY_V1_ENTRIES entries for
// comparison. No Kafka or PostgreSQL: the bundles are built with ledger-core. Prints Markdown.
import { spawnSync } from 'node:child_process';
import crypto, { createHash, randomBytes } from 'node:crypto';
import { closeSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ORIGIN_PREFIX = 'bench.test/ledger';
const LOG_ID = 'tokens.usage-0';
const LEAF_BYTES = 300;
const RUNS = 3;

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** `count` leaves of LEAF_BYTES bytes (JSON, like a small leaf), laid end to end. */
function makeLeaves(count) {
  const bytes = Buffer.allocUnsafe(count * LEAF_BYTES);
  const noise = randomBytes(count * 64).toString('hex');
  for (let i = 0; i < count; i++) {
    const head = `{"v":1,"i":${i},"kind":"event","r":"`;
    const body = noise
      .slice(i * 128, i * 128 + LEAF_BYTES - head.length - 2)
      .padEnd(LEAF_BYTES - head.length - 2, '0');
    bytes.write(`${head}${body}"}`, i * LEAF_BYTES, 'latin1');
  }
  return { bytes, leaf: (i) => bytes.subarray(i * LEAF_BYTES, (i + 1) * LEAF_BYTES) };
}

/** Buffered writes of NDJSON lines to a file. */
function lineWriter(file) {
  const fd = openSync(file, 'w');
  let parts = [];
  let size = 0;
  const flush = () => {
    if (parts.length > 0) writeSync(fd, parts.join(''));
    parts = [];
    size = 0;
  };
  return {
    write(line) {
      parts.push(line);
      size += line.length;
      if (size > 4 * 2 ** 20) flush();
    },
    close() {
      flush();
      closeSync(fd);
    },
  };
}

/** A version 2 bundle of entries [0, count) (no proofs), written entry by entry. */
function writeBundleV2(core, file, leaves, count, signer) {
  const {
    CompactRange,
    CHAIN_SEED,
    chainNext,
    leafHash,
    formatBundleLine,
    formatCheckpoint,
    signNote,
  } = core;
  const range = new CompactRange();
  for (let i = 0; i < count; i++) range.append(leafHash(leaves.leaf(i)));
  const note = signNote(
    formatCheckpoint({ origin: `${ORIGIN_PREFIX}/${LOG_ID}`, size: count, rootHash: range.root() }),
    signer,
  );
  const out = lineWriter(file);
  const key = core.verifierKey(signer.name, signer.publicKey);
  out.write(
    formatBundleLine({
      type: 'bundle',
      version: 2,
      logId: LOG_ID,
      origin: `${ORIGIN_PREFIX}/${LOG_ID}`,
      from: 0,
      to: count,
      treeSize: count,
      chainStart: CHAIN_SEED,
      prefix: [],
      suffix: [],
    }),
  );
  out.write(
    formatBundleLine({
      type: 'keys',
      keys: [{ name: signer.name, verifierKey: key, active: true }],
    }),
  );
  out.write(formatBundleLine({ type: 'checkpoint', size: count, note }));
  let chain = CHAIN_SEED;
  for (let i = 0; i < count; i++) {
    const leaf = leaves.leaf(i);
    chain = chainNext(chain, leafHash(leaf));
    out.write(formatBundleLine({ type: 'entry', index: i, leaf, chainHash: chain }));
  }
  out.close();
}

/** A version 1 bundle (the format before 2026-12-02: an inclusion proof in every entry). */
function writeBundleV1(core, file, leaves, count, signer) {
  const {
    CHAIN_SEED,
    chainNext,
    leafHash,
    nodeHash,
    formatBundleLine,
    formatCheckpoint,
    signNote,
    inclusionRanges,
    rangeHash,
  } = core;
  const levels = [Buffer.allocUnsafe(count * 32)];
  for (let i = 0; i < count; i++) leafHash(leaves.leaf(i)).copy(levels[0], i * 32);
  for (let width = count; width >= 2; width = Math.floor(width / 2)) {
    const below = levels[levels.length - 1];
    const n = Math.floor(width / 2);
    const next = Buffer.allocUnsafe(n * 32);
    for (let i = 0; i < n; i++)
      nodeHash(below.subarray(i * 64, i * 64 + 32), below.subarray(i * 64 + 32, i * 64 + 64)).copy(
        next,
        i * 32,
      );
    levels.push(next);
  }
  const node = (n) => levels[n.level].subarray(n.index * 32, n.index * 32 + 32);
  const note = signNote(
    formatCheckpoint({
      origin: `${ORIGIN_PREFIX}/${LOG_ID}`,
      size: count,
      rootHash: rangeHash([0, count], node, nodeHash),
    }),
    signer,
  );
  const out = lineWriter(file);
  out.write(
    formatBundleLine({
      type: 'bundle',
      version: 1,
      logId: LOG_ID,
      origin: `${ORIGIN_PREFIX}/${LOG_ID}`,
      from: 0,
      to: count,
      treeSize: count,
      chainStart: CHAIN_SEED,
      prefix: [],
      suffix: [],
    }),
  );
  out.write(formatBundleLine({ type: 'checkpoint', size: count, note }));
  let chain = CHAIN_SEED;
  for (let i = 0; i < count; i++) {
    chain = chainNext(chain, node({ level: 0, index: i }));
    const proof = inclusionRanges(i, count).map((r) => rangeHash(r, node, nodeHash));
    out.write(
      formatBundleLine({ type: 'entry', index: i, leaf: leaves.leaf(i), chainHash: chain, proof }),
    );
  }
  out.close();
}

/** `tokenledger verify` in a child process under /usr/bin/time: seconds and peak RSS (KiB). */
function runCli(root, file, key) {
  const t = performance.now();
  const r = spawnSync(
    '/usr/bin/time',
    [
      '-f',
      'maxrss_kib=%M',
      process.execPath,
      path.join(root, 'packages/cli/dist/main.js'),
      'verify',
      file,
      '--log-key',
      key,
      '--origin-prefix',
      ORIGIN_PREFIX,
    ],
    { encoding: 'utf8' },
  );
  const seconds = (performance.now() - t) / 1000;
  if (r.status !== 0)
    throw new Error(`tokenledger verify exited ${r.status}: ${r.stdout}${r.stderr}`);
  const rss = /maxrss_kib=(\d+)/.exec(r.stderr);
  if (!rss) throw new Error(`no RSS from /usr/bin/time: ${r.stderr}`);
  return { seconds, maxRssKiB: Number(rss[1]), stdout: r.stdout };
}

/** Plain SHA-256 of every leaf: createHash (as node:crypto users write it) and one-shot crypto.hash. */
function shaBaselines(leaves, count) {
  let x = 0;
  const t1 = performance.now();
  for (let i = 0; i < count; i++) x ^= createHash('sha256').update(leaves.leaf(i)).digest()[0];
  const createHashSeconds = (performance.now() - t1) / 1000;
  const t2 = performance.now();
  for (let i = 0; i < count; i++) x ^= crypto.hash('sha256', leaves.leaf(i), 'buffer')[0];
  const oneShotSeconds = (performance.now() - t2) / 1000;
  if (x < 0) throw new Error('unreachable');
  return { createHashSeconds, oneShotSeconds };
}

export async function measureVerify({ root, say, entries, v1Entries }) {
  const require = createRequire(import.meta.url);
  const core = require(path.join(root, 'packages/ledger-core/dist/index.js'));
  const signer = core.signerFromSeed(ORIGIN_PREFIX, Buffer.alloc(32, 7));
  const key = core.verifierKey(signer.name, signer.publicKey);
  const tag = randomBytes(4).toString('hex');
  const v2File = path.join(os.tmpdir(), `tl-bench-verify-${tag}-v2.ndjson`);
  const v1File = path.join(os.tmpdir(), `tl-bench-verify-${tag}-v1.ndjson`);
  try {
    say(`verify: building a version 2 bundle of ${entries} entries`);
    const leaves = makeLeaves(Math.max(entries, v1Entries));
    writeBundleV2(core, v2File, leaves, entries, signer);
    say(`verify: building a version 1 bundle of ${v1Entries} entries`);
    writeBundleV1(core, v1File, leaves, v1Entries, signer);
    const startup = [];
    const cli = [];
    const sha = [];
    for (let run = 0; run < RUNS; run++) {
      say(`verify: run ${run + 1} of ${RUNS}: node startup, tokenledger verify, SHA-256 baselines`);
      const t = performance.now();
      spawnSync(process.execPath, ['-e', '0']);
      startup.push((performance.now() - t) / 1000);
      cli.push(runCli(root, v2File, key));
      sha.push(shaBaselines(leaves, entries));
    }
    say('verify: version 1 bundle');
    const v1 = runCli(root, v1File, key);
    const v1Sha = shaBaselines(leaves, v1Entries);
    return {
      entries,
      v1Entries,
      leafBytes: LEAF_BYTES,
      fileBytes: statSync(v2File).size,
      v1FileBytes: statSync(v1File).size,
      v1ProofLength: core.inclusionRanges(0, v1Entries).length,
      startup: median(startup),
      cli: cli.map((c) => ({ seconds: c.seconds, maxRssKiB: c.maxRssKiB })),
      sha,
      v1: { seconds: v1.seconds, maxRssKiB: v1.maxRssKiB, sha: v1Sha },
      output: cli[0]?.stdout ?? '',
    };
  } finally {
    rmSync(v2File, { force: true });
    rmSync(v1File, { force: true });
  }
}

export function verifyReport(v) {
  const f0 = (x) => Math.round(x).toLocaleString('en-US');
  const mib = (kib) => (kib / 1024).toFixed(1);
  const rows = v.cli.map((c, i) => {
    const s = v.sha[i];
    const rate = v.entries / c.seconds;
    return `| ${i + 1} | ${f0(rate)} | ${c.seconds.toFixed(2)} | ${mib(c.maxRssKiB)} | ${f0(v.entries / s.createHashSeconds)} | ${f0(v.entries / s.oneShotSeconds)} | ${(rate / (v.entries / s.createHashSeconds)).toFixed(3)} | ${(rate / (v.entries / s.oneShotSeconds)).toFixed(3)} |`;
  });
  const ratios = v.cli.map((c, i) => v.sha[i].createHashSeconds / c.seconds);
  const oneShot = v.cli.map((c, i) => v.sha[i].oneShotSeconds / c.seconds);
  const rss = Math.max(...v.cli.map((c) => c.maxRssKiB));
  const v1Rate = v.v1Entries / v.v1.seconds;
  return [
    `Verify: version 2 range bundle of ${v.entries.toLocaleString('en-US')} entries (${v.leafBytes}-byte leaves, no per-entry proofs, ${(v.fileBytes / 2 ** 20).toFixed(1)} MiB), \`node packages/cli/dist/main.js verify <file> --log-key <key>\` as a child process under \`/usr/bin/time -f %M\`, times include Node startup (~${v.startup.toFixed(2)} s) and reading the file; exit code 0 every run. Baselines in the same run, in-process over the same leaf bytes: \`createHash('sha256').update(leaf).digest()\` and one-shot \`crypto.hash('sha256', leaf)\`.`,
    '',
    '| run | tokenledger verify entries/s | seconds | peak RSS MiB | SHA-256 createHash leaves/s | SHA-256 crypto.hash leaves/s | verify / createHash | verify / crypto.hash |',
    '|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
    `tokenledger verify / plain SHA-256 (median of ${v.cli.length}): ${median(ratios).toFixed(3)} against createHash (goal >= 0.3), ${median(oneShot).toFixed(3)} against one-shot crypto.hash; peak RSS ${mib(rss)} MiB for ${v.entries.toLocaleString('en-US')} entries (goal < 200 MiB).`,
    '',
    `For comparison, the version 1 format (an inclusion proof of ${v.v1ProofLength} hashes in each entry) on ${v.v1Entries.toLocaleString('en-US')} entries (${(v.v1FileBytes / 2 ** 20).toFixed(1)} MiB): ${f0(v1Rate)} entries/s, ${v.v1.seconds.toFixed(2)} s, peak RSS ${mib(v.v1.maxRssKiB)} MiB; ${(v1Rate / (v.v1Entries / v.v1.sha.createHashSeconds)).toFixed(3)} of createHash SHA-256 on the same leaves.`,
  ];
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { build, root, say } = await import('../scripts/lib.mjs');
  build();
  const entries = Number(process.env.BENCH_VERIFY_ENTRIES ?? 1_000_000);
  const v1Entries = Number(process.env.BENCH_VERIFY_V1_ENTRIES ?? 20_000);
  const v = await measureVerify({ root, say, entries, v1Entries });
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  process.stdout.write(
    `\n${[
      `Command: \`npm run bench:verify\` (BENCH_VERIFY_ENTRIES=${entries}, BENCH_VERIFY_V1_ENTRIES=${v1Entries}); ${new Date().toISOString()}`,
      `Machine: ${os.cpus().length} cores (${cpu}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}; load average at the end ${os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}.`,
      '',
      ...verifyReport(v),
      '',
      'Output of the first run:',
      '',
      '```',
      v.output.trimEnd(),
      '```',
    ].join('\n')}\n`,
  );
}
