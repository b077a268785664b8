import { describe, expect, it } from "vitest";
import { type Listen, shareListen } from "../../src/db/shared-listen.js";

/** A listen that records its LISTENs and lets the test send NOTIFYs and losses. */
function recordingListen(fail = false) {
  const open = new Map<string, { notify: () => void; lose: (err: unknown) => void }>();
  let listens = 0;
  let stops = 0;
  const listen: Listen = async (channel, onNotify, onLost) => {
    listens += 1;
    if (fail) throw new Error("connection refused");
    open.set(channel, { notify: onNotify, lose: (err) => onLost?.(err) });
    return async () => {
      stops += 1;
      open.delete(channel);
    };
  };
  return { listen, open, counts: () => ({ listens, stops }) };
}

describe("shareListen", () => {
  it("opens one LISTEN per channel, tells every subscriber, and stops after the last one", async () => {
    const under = recordingListen();
    const shared = shareListen(under.listen);
    const seen: string[] = [];
    const stopA = await shared("ch", () => seen.push("a"));
    const stopB = await shared(
      "ch",
      () => seen.push("b"),
      (err) => seen.push(`b lost ${String(err)}`),
    );
    expect(under.counts()).toEqual({ listens: 1, stops: 0 });
    under.open.get("ch")?.notify();
    under.open.get("ch")?.lose("gone");
    expect(seen).toEqual(["a", "b", "b lost gone"]);
    await stopA();
    await stopA();
    expect(under.counts()).toEqual({ listens: 1, stops: 0 });
    under.open.get("ch")?.notify();
    expect(seen.at(-1)).toBe("b");
    await stopB();
    expect(under.counts()).toEqual({ listens: 1, stops: 1 });
    // A later subscriber starts a new LISTEN.
    const stopC = await shared("ch", () => {});
    expect(under.counts()).toEqual({ listens: 2, stops: 1 });
    await stopC();
  });

  it("rejects every subscriber of a LISTEN that fails, and tries again for the next", async () => {
    const under = recordingListen(true);
    const shared = shareListen(under.listen);
    const settled = await Promise.allSettled([shared("ch", () => {}), shared("ch", () => {})]);
    expect(settled.map((result) => result.status)).toEqual(["rejected", "rejected"]);
    for (const result of settled) {
      if (result.status === "rejected") expect(String(result.reason)).toContain("connection refused");
    }
    expect(under.counts().listens).toBe(1);
    await expect(shared("ch", () => {})).rejects.toThrow("connection refused");
    expect(under.counts().listens).toBe(2);
  });
});
