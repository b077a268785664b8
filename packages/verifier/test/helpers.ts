import { createClient } from "@connectrpc/connect";
import { AdminService } from "../../../gen/tessera/admin/v1/admin_service_pb.js";
import { TEST_API_KEY, type TestApp } from "../../../test/support/test-app.js";
import { createVerifier, type Verifier, type VerifierOptions } from "../src/index.js";

/** Server settings that make the feed quick in tests. */
export const FAST_FEED_ENV: Record<string, string> = {
  EVENTS_POLL_INTERVAL_MS: "50",
  EVENTS_HEARTBEAT_MS: "200",
  KEY_ROTATION_MIN_INTERVAL_SECONDS: "0",
};

/** A verifier of `t`'s JWTs, started. */
export async function startVerifier(t: TestApp, options: Partial<VerifierOptions> = {}): Promise<Verifier> {
  const verifier = createVerifier({
    url: t.baseUrl,
    apiKey: TEST_API_KEY,
    issuer: "tessera",
    audience: "tessera",
    feedDownAfterMs: 5000,
    ...options,
  });
  await verifier.start();
  return verifier;
}

/** Calls `probe` until `done` holds of its result, at most `tries` times `everyMs` apart; returns the last result. */
export async function pollUntil<T>(
  probe: () => Promise<T>,
  done: (value: T) => boolean,
  tries = 200,
  everyMs = 50,
): Promise<T> {
  let value = await probe();
  for (let i = 1; i < tries && !done(value); i++) {
    await new Promise((resolve) => setTimeout(resolve, everyMs));
    value = await probe();
  }
  return value;
}

/** An AdminService client of `t`. */
export function adminClient(t: TestApp) {
  return createClient(AdminService, t.transport());
}
