import { spawn } from 'node:child_process';
import { buildEvent, encodeEvent, uuidv7, type EventEnvelope } from '@tokenledger/contracts';
import { freshTopicPrefix, kafkaBrokers, testKafka } from '@tokenledger/testing';
import { CLI_MAIN } from './test-support/run-cli';

// `tokenledger tail --json` (the built command) against the run's real Kafka broker and a fresh
// topic: one JSON object per record, the decoded envelope or why it does not decode.

const topic = `${freshTopicPrefix()}cli-tail`;

function expired(): EventEnvelope {
  const tokenId = uuidv7();
  return buildEvent({
    type: 'tokenledger.token.expired.v1',
    source: '/tokenledger/test',
    actor: 'system',
    subject: tokenId,
    data: { tokenId, expiredAt: '2026-11-27T00:00:00Z' },
  });
}

interface Followed {
  lines: string[];
  status: number | null;
  stderr: string;
}

/**
 * Runs `tokenledger tail` until it has printed `count` lines (or `timeoutMs` passed), then stops
 * it with SIGTERM, as a user's Ctrl-C would, and resolves once it has exited.
 */
function follow(args: string[], count: number, timeoutMs = 45_000): Promise<Followed> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_MAIN, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let stopped = false;
    const stop = () => {
      if (stopped) return;
      stopped = true;
      clearTimeout(timer);
      child.kill('SIGTERM');
    };
    const timer = setTimeout(stop, timeoutMs);
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (stdout.split('\n').length > count) stop();
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('exit', (status) => {
      clearTimeout(timer);
      resolve({ lines: stdout.split('\n').filter((l) => l !== ''), status, stderr });
    });
  });
}

describe('tokenledger tail --json (real Kafka)', () => {
  const first = expired();
  const second = expired();

  beforeAll(async () => {
    const kafka = testKafka('cli-tail-spec');
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    await admin.disconnect();
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic,
      messages: [
        { key: first.subject, value: encodeEvent(first) },
        { key: 'junk', value: Buffer.from('not an event') },
        { key: second.subject, value: encodeEvent(second) },
      ],
    });
    await producer.disconnect();
  });

  it('prints one JSON object per record: partition, offset and the envelope, or the decode error; exit 0 on SIGTERM', async () => {
    const r = await follow(
      ['tail', topic, '--brokers', kafkaBrokers(), '--from-beginning', '--json'],
      3,
    );
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.lines.map((l) => JSON.parse(l) as unknown)).toEqual([
      { partition: 0, offset: '0', event: JSON.parse(JSON.stringify(first)) as unknown },
      {
        partition: 0,
        offset: '1',
        error: { code: 'not-json', message: expect.stringContaining('not JSON') as unknown },
      },
      { partition: 0, offset: '2', event: JSON.parse(JSON.stringify(second)) as unknown },
    ]);
  });

  it("--subject keeps only that token's events (and drops the undecodable record)", async () => {
    const r = await follow(
      [
        'tail',
        topic,
        '--brokers',
        kafkaBrokers(),
        '--from-beginning',
        '--subject',
        second.subject,
        '--json',
      ],
      1,
    );
    expect(r.status).toBe(0);
    const [line] = r.lines;
    expect(JSON.parse(line ?? 'null')).toMatchObject({
      partition: 0,
      offset: '2',
      event: { id: second.id, subject: second.subject, type: 'tokenledger.token.expired.v1' },
    });
  });
});
