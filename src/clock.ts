/** The source of "now". Injected everywhere so tests can move time. */
export type Clock = () => Date;

/** The real clock. */
export const systemClock: Clock = () => new Date();

/** How finely a timestamp is written: whole seconds (as Stytch writes them) or milliseconds. */
export type TimestampPrecision = "seconds" | "milliseconds";

/** A date as RFC 3339 UTC: `2021-08-09T07:41:52Z` in seconds (truncated), `2021-08-09T07:41:52.123Z` in milliseconds. */
export function rfc3339(date: Date, precision: TimestampPrecision): string {
  const iso = date.toISOString();
  return precision === "seconds" ? iso.replace(/\.\d{3}Z$/, "Z") : iso;
}
