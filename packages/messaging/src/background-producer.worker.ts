// The sending thread of BackgroundEventProducer (see background-producer.ts). It owns its own
// Kafka client and producer; it is started with `workerData` and driven by messages.
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import {
  EVENT_TOPIC,
  EventValidationError,
  buildEncodedEvent,
  cloudEventHeaders,
  parseSigningKey,
  partitionKey,
  topicName,
} from '@tokenledger/contracts';
import type {
  BackgroundDraft,
  BackgroundWorkerData,
  FromWorker,
  ProducerLog,
  ToWorker,
} from './background-producer';
import { createEventProducer, createKafka } from './kafka-client';
import type { TraceHeaders } from './tracing';

const RETRY_MS = 1000;

if (!parentPort) throw new Error('background-producer.worker must run as a worker thread');
const port = parentPort;
const config = workerData as BackgroundWorkerData;
const signingKey = config.signingKey === undefined ? undefined : parseSigningKey(config.signingKey);
const post = (message: FromWorker): void => port.postMessage(message);
const log: ProducerLog = (level, message, extra) =>
  post({ kind: 'log', level, message, ...(extra ? { extra } : {}) });

lowerPriority();

const kafka = createKafka({
  brokers: config.brokers,
  clientId: config.clientId,
  log: (level, message, extra) => log(level, `kafka: ${message}`, extra),
});
const producer = createEventProducer(kafka);

/**
 * Messages per produce request, at most. kafkajs groups a request's messages per partition by
 * copying the partition's array for each message (quadratic): 50,000 messages in one send took
 * seconds of CPU and starved the app's other threads; 1000 keep that cost small.
 */
const MAX_SEND = 1000;

/** Encoded events not yet acknowledged, in emit order. */
let unsent: Array<{ topic: string; key: string; value: Buffer; trace?: TraceHeaders }> = [];
let connected = false;
let sending = false;
let closing = false;

function build(drafts: BackgroundDraft[]): void {
  let invalid = 0;
  for (const { input, now, trace } of drafts) {
    try {
      const { event, bytes } = buildEncodedEvent(input, {
        now: () => now,
        ...(signingKey ? { signingKey } : {}),
      });
      unsent.push({
        topic: topicName(EVENT_TOPIC[event.type], config.topicPrefix),
        key: partitionKey(event),
        value: bytes,
        ...(trace ? { trace } : {}),
      });
    } catch (error) {
      if (!(error instanceof EventValidationError)) throw error;
      invalid += 1;
      // Code, path and type only: the field's value may be anything the emitter was given.
      log('warn', 'invalid event not sent', {
        type: input.type,
        code: error.code,
        path: error.path,
      });
    }
  }
  if (invalid > 0) post({ kind: 'settled', sent: 0, invalid });
}

/** Sends everything unsent, up to MAX_SEND per request, one request at a time; retries a failed one. */
async function drain(): Promise<void> {
  if (sending || !connected) return;
  sending = true;
  try {
    while (unsent.length > 0) {
      const batch = unsent.slice(0, MAX_SEND);
      const byTopic = new Map<
        string,
        Array<{ key: string; value: Buffer; headers: Record<string, string> }>
      >();
      for (const { topic, key, value, trace } of batch) {
        let messages = byTopic.get(topic);
        if (!messages) byTopic.set(topic, (messages = []));
        // The emitter's trace context, as is: this thread runs no SDK, so no send span.
        const headers = trace ? { ...cloudEventHeaders(), ...trace } : cloudEventHeaders();
        messages.push({ key, value, headers });
      }
      try {
        await producer.sendBatch({
          acks: -1,
          topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
        });
        unsent = unsent.slice(batch.length);
        post({ kind: 'settled', sent: batch.length, invalid: 0 });
      } catch (error) {
        log('warn', 'events not sent yet; will retry', {
          err: String(error),
          events: batch.length,
        });
        await sleep(RETRY_MS);
      }
    }
  } finally {
    sending = false;
  }
  if (closing) await finish();
}

async function connect(): Promise<void> {
  while (!connected && !closing) {
    try {
      await producer.connect();
      connected = true;
    } catch (error) {
      log('warn', 'Kafka not reachable yet; retrying', { err: String(error) });
      await sleep(RETRY_MS);
    }
  }
  await drain();
}

let finishing: Promise<void> | undefined;
function finish(): Promise<void> {
  finishing ??= (async () => {
    if (connected) await producer.disconnect().catch(() => undefined);
    post({ kind: 'closed' });
  })();
  return finishing;
}

/**
 * On Linux, this thread runs at nice 10: when the cores are busy, the threads that answer requests
 * go first and this one catches up in the gaps (its events are not awaited by anyone).
 * /proc/thread-self names this thread's kernel id; setpriority() on a thread id applies to that
 * thread only. Elsewhere it keeps the process's priority.
 */
function lowerPriority(): void {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isInteger(tid) && tid > 0) setPriority(tid, 10);
  } catch {
    // not Linux, or not allowed: keep the default priority
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

port.on('message', (message: ToWorker) => {
  if (message.kind === 'events') {
    build(message.drafts);
    void drain();
  } else {
    closing = true;
    // Unsent events are still delivered when Kafka is up (drain ends with finish); the main
    // thread bounds the wait.
    if (connected) void drain();
    else void finish();
  }
});

void connect();
