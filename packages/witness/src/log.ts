// Structured JSON log lines on stdout. Callers pass facts, never key material.
export type LogLevel = 'info' | 'warn' | 'error';

export type Logger = (
  level: LogLevel,
  msg: string,
  fields?: Readonly<Record<string, unknown>>,
) => void;

export function jsonLogger(
  write: (line: string) => void = (l) => process.stdout.write(l),
  now: () => Date = () => new Date(),
): Logger {
  return (level, msg, fields = {}) => {
    write(`${JSON.stringify({ time: now().toISOString(), level, msg, ...fields })}\n`);
  };
}

export const silentLogger: Logger = () => undefined;
