import type { KeyStore } from "../keys/key-store.js";
import type { Logger } from "../logger.js";

/** Reloads signing keys every `intervalMs` so a rotation on another replica is picked up; returns stop(). */
export function startKeyRefresh(keys: KeyStore, intervalMs: number, logger: Logger): () => void {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    keys
      .reload()
      .catch((err: unknown) => {
        // Keep signing with the keys already loaded; the next tick tries again.
        logger.warn({ err: err instanceof Error ? err.message : String(err) }, "signing key reload failed");
      })
      .finally(() => {
        running = false;
      });
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
