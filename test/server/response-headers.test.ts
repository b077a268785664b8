import { describe, expect, it } from "vitest";
import { ResponseHeaders } from "../../src/server/response-headers.js";

type Step = (h: Headers) => unknown;

/** What a Headers shows after `steps`: each step's result (or its error's type), then every view of it. */
function seen(h: Headers, steps: readonly Step[]): unknown[] {
  const results = steps.map((step) => {
    try {
      return step(h);
    } catch (err) {
      return err instanceof TypeError ? "TypeError" : "other error";
    }
  });
  const each: [string, string][] = [];
  h.forEach((value, key) => {
    each.push([key, value]);
  });
  return [results, each, [...h], [...h.entries()], [...h.keys()], [...h.values()], h.getSetCookie()];
}

const cases: Record<string, readonly Step[]> = {
  "set, get and has are case-insensitive": [
    (h) => h.set("Content-Type", "application/grpc+proto"),
    (h) => h.get("content-type"),
    (h) => h.has("CONTENT-TYPE"),
    (h) => h.get("missing"),
  ],
  "append joins with a comma; set replaces": [
    (h) => h.append("x-a", "1"),
    (h) => h.append("X-A", "2"),
    (h) => h.get("x-a"),
    (h) => h.set("x-a", "3"),
    (h) => h.get("x-a"),
  ],
  "iteration is sorted by name": [
    (h) => h.set("x-request-id", "r"),
    (h) => h.set("content-type", "c"),
    (h) => h.set("grpc-encoding", "gzip"),
    (h) => h.set("a-b", "z"),
  ],
  "set-cookie values stay apart": [
    (h) => h.append("set-cookie", "a=1"),
    (h) => h.append("Set-Cookie", "b=2"),
    (h) => h.set("x", "y"),
    (h) => h.get("set-cookie"),
    (h) => h.delete("set-cookie"),
    (h) => h.append("set-cookie", "c=3"),
    (h) => h.set("set-cookie", "d=4"),
  ],
  "values are trimmed of HTTP whitespace": [(h) => h.set("x", " \t v w \r\n"), (h) => h.get("x")],
  "invalid names and values throw TypeError": [
    (h) => h.set("bad name", "v"),
    (h) => h.set("", "v"),
    (h) => h.set(":status", "200"),
    (h) => h.append("x", "a\nb"),
    (h) => h.append("x", "a\0b"),
    (h) => h.append("x", "é"),
    (h) => h.append("x", "€"),
    (h) => h.get("bad name"),
    (h) => h.has("bad name"),
    (h) => h.delete("bad name"),
    (h) => h.set("x", "a\u0001b"),
  ],
  "delete removes": [(h) => h.set("a", "1"), (h) => h.delete("A"), (h) => h.has("a"), (h) => h.delete("none")],
};

describe("ResponseHeaders behaves as web Headers", () => {
  for (const [name, steps] of Object.entries(cases)) {
    it(name, () => {
      expect(seen(new ResponseHeaders(), steps)).toEqual(seen(new Headers(), steps));
    });
  }

  it("takes an initial record as Headers does", () => {
    const init = { "Grpc-Status": "0", "x-b": " 1 " };
    expect(seen(new ResponseHeaders(init), [])).toEqual(seen(new Headers(init), []));
  });

  it("calls forEach's callback with the headers themselves and thisArg", () => {
    const h = new ResponseHeaders({ a: "1" });
    const self = { tag: "this" };
    h.forEach(function (this: unknown, _value, _key, parent) {
      expect(parent).toBe(h);
      expect(this).toBe(self);
    }, self);
  });
});
