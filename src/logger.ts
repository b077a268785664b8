import { type Logger as PinoLogger, pino } from "pino";

/** The structured JSON logger. Callers log names, codes and durations, never tokens, JWTs, keys or claim values. */
export type Logger = PinoLogger;

/** Creates the JSON logger writing to stdout (or to `destination`). */
export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  const options = { level, base: { service: "tessera", pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime };
  return destination === undefined ? pino(options) : pino(options, destination as never);
}
