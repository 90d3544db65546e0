import { readFileSync } from 'node:fs';
import {
  EventSigningConfigError,
  EventVerifier,
  parseEventSigners,
  parseSigningKey,
  type EventSigningKey,
} from '@tokenledger/contracts';
import { ConfigError, type BaseConfig } from './config';

export interface EventSigning {
  signingKey?: EventSigningKey;
  verifier?: EventVerifier;
}

/**
 * The app's signing key (EVENT_SIGNING_KEY, or the file EVENT_SIGNING_KEY_FILE) and the signers
 * its consumers trust (EVENT_SIGNERS). With NODE_ENV=production both are required; otherwise a
 * missing one leaves events unsigned or unchecked (KafkaConnection logs a warning). Errors name
 * the variable, never its value (docs/design/event-signing.md).
 * @throws ConfigError
 */
export function eventSigningOf(
  service: string,
  config: Pick<
    BaseConfig,
    'NODE_ENV' | 'EVENT_SIGNING_KEY' | 'EVENT_SIGNING_KEY_FILE' | 'EVENT_SIGNERS'
  >,
  readFile: (path: string) => string = (path) => readFileSync(path, 'utf8'),
): EventSigning {
  const problems: string[] = [];
  const result: EventSigning = {};
  if (config.EVENT_SIGNING_KEY !== undefined && config.EVENT_SIGNING_KEY_FILE !== undefined)
    problems.push(
      'EVENT_SIGNING_KEY_FILE: set only one of EVENT_SIGNING_KEY and EVENT_SIGNING_KEY_FILE',
    );
  let keyText = config.EVENT_SIGNING_KEY;
  if (keyText === undefined && config.EVENT_SIGNING_KEY_FILE !== undefined) {
    try {
      keyText = readFile(config.EVENT_SIGNING_KEY_FILE);
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      problems.push(
        `EVENT_SIGNING_KEY_FILE: cannot read the file (${typeof code === 'string' ? code : 'error'})`,
      );
    }
  }
  const source =
    config.EVENT_SIGNING_KEY_FILE !== undefined ? 'EVENT_SIGNING_KEY_FILE' : 'EVENT_SIGNING_KEY';
  if (keyText !== undefined) {
    try {
      result.signingKey = parseSigningKey(keyText);
    } catch (error) {
      if (!(error instanceof EventSigningConfigError)) throw error;
      problems.push(`${source}: ${error.message}`);
    }
  }
  if (config.EVENT_SIGNERS !== undefined) {
    try {
      result.verifier = new EventVerifier(parseEventSigners(config.EVENT_SIGNERS));
    } catch (error) {
      if (!(error instanceof EventSigningConfigError)) throw error;
      problems.push(`EVENT_SIGNERS: ${error.message}`);
    }
  }
  if (config.NODE_ENV === 'production') {
    if (keyText === undefined)
      problems.push(
        'EVENT_SIGNING_KEY: required with NODE_ENV=production (or EVENT_SIGNING_KEY_FILE)',
      );
    if (config.EVENT_SIGNERS === undefined)
      problems.push('EVENT_SIGNERS: required with NODE_ENV=production');
  }
  if (problems.length > 0) throw new ConfigError(service, problems);
  return result;
}
