import type { IncomingHttpHeaders } from "node:http2";
import { describe, expect, it } from "vitest";
import { NodeRequestHeaders, webHeaders } from "../../src/server/node-headers.js";

const NODE: IncomingHttpHeaders = {
  ":method": "POST",
  ":path": "/tessera.sessions.v1.SessionService/AuthenticateSession",
  "content-type": "application/grpc",
  authorization: "Bearer k",
  "set-cookie": ["a=1", "b=2"],
  "x-request-id": "r-1",
};

describe("NodeRequestHeaders", () => {
  it("reads every name as a copied Headers would, in any case, pseudo-headers left out", () => {
    const lazy = new NodeRequestHeaders({ ...NODE });
    const copy = webHeaders(NODE);
    for (const name of ["content-type", "Authorization", "SET-COOKIE", "x-request-id", "missing"]) {
      expect(lazy.get(name)).toBe(copy.get(name));
      expect(lazy.has(name)).toBe(copy.has(name));
    }
    expect(copy.has("content-type")).toBe(true);
    expect([...lazy]).toEqual([...copy]);
    expect([...copy].some(([key]) => key.startsWith(":"))).toBe(false);
  });

  it("refuses a pseudo-header name as Headers does", () => {
    expect(() => webHeaders(NODE).get(":path")).toThrow(TypeError);
    expect(() => new NodeRequestHeaders({ ...NODE }).get(":path")).toThrow(TypeError);
  });

  it("changes a copy, never the request's own headers", () => {
    const node = { ...NODE };
    const lazy = new NodeRequestHeaders(node);
    lazy.set("authorization", "Bearer other");
    lazy.append("x-extra", "1");
    lazy.delete("x-request-id");
    expect(lazy.get("authorization")).toBe("Bearer other");
    expect(lazy.get("x-extra")).toBe("1");
    expect(lazy.has("x-request-id")).toBe(false);
    expect(node).toEqual(NODE);
  });
});
