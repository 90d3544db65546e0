import { randomBytes } from 'node:crypto';
import { decodeEvent } from '@tokenledger/contracts';
import { createKafka } from '@tokenledger/messaging';

export interface TailOptions {
  brokers: string;
  topic: string;
  fromBeginning: boolean;
  type?: string;
  subject?: string;
  actor?: string;
  /** One JSON object per line: partition, offset and the event envelope (or the decode error). */
  json?: boolean;
  write: (line: string) => void;
}

/**
 * Follows a topic and prints each record decoded: offset, time, type, subject, actor and data,
 * or why it does not decode. Filters by type, subject (tokenId) and actor. Runs until stopped.
 */
export async function tail(options: TailOptions): Promise<() => Promise<void>> {
  const consumer = createKafka({ brokers: options.brokers, clientId: 'tokenledger-cli' }).consumer({
    groupId: `tokenledger-cli-tail-${randomBytes(6).toString('hex')}`,
  });
  await consumer.connect();
  await consumer.subscribe({ topic: options.topic, fromBeginning: options.fromBeginning });
  await consumer.run({
    eachMessage: ({ partition, message }) => {
      const decoded = decodeEvent(message.value ?? Buffer.alloc(0));
      if (!decoded.ok) {
        if (!options.type && !options.subject && !options.actor)
          options.write(
            options.json
              ? JSON.stringify({
                  partition,
                  offset: message.offset,
                  error: { code: decoded.error.code, message: decoded.error.message },
                })
              : `${partition}:${message.offset} UNDECODABLE ${decoded.error.code}: ${decoded.error.message}`,
          );
        return Promise.resolve();
      }
      const e = decoded.event;
      if (
        (options.type && !e.type.includes(options.type)) ||
        (options.subject && e.subject !== options.subject) ||
        (options.actor && e.actor !== options.actor)
      )
        return Promise.resolve();
      options.write(
        options.json
          ? JSON.stringify({ partition, offset: message.offset, event: e })
          : `${partition}:${message.offset} ${e.time} ${e.type} subject=${e.subject} actor=${e.actor} ${JSON.stringify(e.data)}`,
      );
      return Promise.resolve();
    },
  });
  return () => consumer.disconnect();
}
