import { describe, expect, it } from "vitest";
import { createGroupCommit, type Outcome } from "../../src/sessions/group-commit.js";

/** A run that records its batches and finishes each one when the test says so. */
function gatedRun() {
  const batches: number[][] = [];
  const gates: Array<() => void> = [];
  const run = async (items: readonly number[]): Promise<Outcome<number>[]> => {
    batches.push([...items]);
    await new Promise<void>((resolve) => gates.push(resolve));
    return items.map((item) =>
      item < 0 ? { ok: false, error: new Error(`refused ${item}`) } : { ok: true, value: item * 10 },
    );
  };
  const finishNext = async () => {
    while (gates.length === 0) await new Promise((resolve) => setImmediate(resolve));
    gates.shift()?.();
  };
  return { run, batches, finishNext };
}

describe("group commit", () => {
  it("runs a lone item at once, and the items that arrive meanwhile together in the next run", async () => {
    const group = createGroupCommit<number, number>(64);
    const { run, batches, finishNext } = gatedRun();
    const first = group.submit("k", 1, run);
    const later = [2, 3, 4].map((i) => group.submit("k", i, run));
    await finishNext();
    await finishNext();
    expect(await first).toBe(10);
    expect(await Promise.all(later)).toEqual([20, 30, 40]);
    expect(batches).toEqual([[1], [2, 3, 4]]);
  });

  it("takes at most maxBatch items per run, in arrival order", async () => {
    const group = createGroupCommit<number, number>(2);
    const { run, batches, finishNext } = gatedRun();
    const all = [1, 2, 3, 4, 5, 6].map((i) => group.submit("k", i, run));
    for (let i = 0; i < 4; i++) await finishNext();
    expect(await Promise.all(all)).toEqual([10, 20, 30, 40, 50, 60]);
    expect(batches).toEqual([[1], [2, 3], [4, 5], [6]]);
  });

  it("keeps keys apart: another key's item does not wait", async () => {
    const group = createGroupCommit<number, number>(64);
    const { run, batches, finishNext } = gatedRun();
    const a = group.submit("a", 1, run);
    const b = group.submit("b", 2, run);
    expect(batches).toEqual([[1], [2]]);
    await finishNext();
    await finishNext();
    expect([await a, await b]).toEqual([10, 20]);
  });

  it("gives each item its own outcome, and a run that throws fails only its own batch", async () => {
    const group = createGroupCommit<number, number>(64);
    const { run, finishNext } = gatedRun();
    const first = group.submit("k", 1, run);
    const mixed = [group.submit("k", 2, run), group.submit("k", -3, run), group.submit("k", 4, run)];
    await finishNext();
    await finishNext();
    const settled = await Promise.allSettled([first, ...mixed]);
    expect(settled.map((s) => (s.status === "fulfilled" ? s.value : String(s.reason)))).toEqual([
      10,
      20,
      "Error: refused -3",
      40,
    ]);
    let calls = 0;
    const failing = async (items: readonly number[]): Promise<Outcome<number>[]> => {
      calls++;
      if (calls === 1) throw new Error("database down");
      return items.map((item) => ({ ok: true, value: item }));
    };
    const down = group.submit("x", 1, failing);
    const after = group.submit("x", 2, failing);
    await expect(down).rejects.toThrow("database down");
    expect(await after).toBe(2);
  });

  it("refuses a batch bound below 1", () => {
    expect(() => createGroupCommit(0)).toThrow(RangeError);
  });
});

describe("group commit's waiting bound", () => {
  it("refuses an item that finds maxWaiting items of its key waiting, and takes it again once they ran", async () => {
    const group = createGroupCommit<number, number>(64, 2, () => new Error("full"));
    const { run, finishNext } = gatedRun();
    const first = group.submit("k", 1, run);
    const waiting = [group.submit("k", 2, run), group.submit("k", 3, run)];
    await expect(group.submit("k", 4, run)).rejects.toThrow("full");
    // Another key has its own queue.
    const other = group.submit("other", 5, run);
    await finishNext();
    await finishNext();
    await finishNext();
    expect(await first).toBe(10);
    expect(await Promise.all(waiting)).toEqual([20, 30]);
    expect(await other).toBe(50);
    const again = group.submit("k", 6, run);
    await finishNext();
    expect(await again).toBe(60);
  });
});
