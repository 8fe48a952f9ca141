// The logger interface every module takes. It is winston's call shape (the agent passes a
// winston child logger); tests pass a silent or recording one. One logger, no console.log.
import winston from 'winston';

export interface Logger {
  error(message: string, meta?: Record<string, unknown>): void;
  warn(message: string, meta?: Record<string, unknown>): void;
  info(message: string, meta?: Record<string, unknown>): void;
  debug(message: string, meta?: Record<string, unknown>): void;
  child(meta: Record<string, unknown>): Logger;
}

export interface LoggerOptions {
  level?: string;
  /** JSON lines instead of human text. */
  json?: boolean;
  /** Write to stderr (default) or stdout. */
  stream?: 'stderr' | 'stdout';
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const format = opts.json
    ? winston.format.combine(winston.format.timestamp(), winston.format.json())
    : winston.format.combine(
        winston.format.timestamp({ format: 'HH:mm:ss.SSS' }),
        winston.format.printf((info) => {
          const { timestamp, level, message, ...meta } = info;
          const extra = Object.keys(meta).length ? ' ' + JSON.stringify(meta) : '';
          return `${String(timestamp)} ${level} ${String(message)}${extra}`;
        }),
      );
  const stderrLevels = opts.stream === 'stdout' ? [] : ['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly'];
  return winston.createLogger({
    level: opts.level ?? process.env.EM_LOG_LEVEL ?? 'info',
    format,
    transports: [new winston.transports.Console({ stderrLevels })],
  }) as unknown as Logger;
}

class SilentLogger implements Logger {
  error(): void {}
  warn(): void {}
  info(): void {}
  debug(): void {}
  child(): Logger {
    return this;
  }
}

export const silentLogger: Logger = new SilentLogger();

/** Keeps every record: for tests that assert something was logged. */
export class RecordingLogger implements Logger {
  readonly records: { level: string; message: string; meta?: Record<string, unknown> }[];

  constructor(records?: RecordingLogger['records']) {
    this.records = records ?? [];
  }

  private add(level: string, message: string, meta?: Record<string, unknown>): void {
    this.records.push(meta ? { level, message, meta } : { level, message });
  }
  error(m: string, meta?: Record<string, unknown>): void {
    this.add('error', m, meta);
  }
  warn(m: string, meta?: Record<string, unknown>): void {
    this.add('warn', m, meta);
  }
  info(m: string, meta?: Record<string, unknown>): void {
    this.add('info', m, meta);
  }
  debug(m: string, meta?: Record<string, unknown>): void {
    this.add('debug', m, meta);
  }
  child(): Logger {
    return new RecordingLogger(this.records);
  }
}
