import { type Logger as PinoLogger, pino } from "pino";

/** The structured JSON logger. Callers log names, codes and durations, never tokens, JWTs, keys or claim values. */
export type Logger = PinoLogger;

/**
 * Bytes of log lines gathered before stdout is written (one write for many
 * lines, where each `rpc` line would otherwise cost a write of its own).
 */
export const LOG_BUFFER_BYTES = 8_192;
/** Longest a log line waits in that buffer when few lines come. */
export const LOG_FLUSH_MS = 100;

/**
 * Creates the JSON logger writing to stdout (or to `destination`). Stdout is
 * written asynchronously in batches of LOG_BUFFER_BYTES, at least every
 * LOG_FLUSH_MS; pino writes what is left when the process exits.
 */
export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  const options = { level, base: { service: "tessera", pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime };
  if (destination !== undefined) return pino(options, destination as never);
  return pino(
    options,
    pino.destination({ dest: 1, sync: false, minLength: LOG_BUFFER_BYTES, periodicFlush: LOG_FLUSH_MS }),
  );
}
