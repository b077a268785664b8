import type { IncomingHttpHeaders } from "node:http2";

/** A Node request's headers as web Headers, without HTTP/2 pseudo-headers (as connect-node converts them). */
export function webHeaders(headers: IncomingHttpHeaders): Headers {
  const out = new Headers();
  for (const key in headers) {
    if (key.startsWith(":")) continue;
    const value = headers[key];
    if (value === undefined) continue;
    if (typeof value === "string") out.append(key, value);
    else for (const item of value) out.append(key, item);
  }
  return out;
}

/**
 * Web Headers over a Node request's headers that reads them where they are:
 * `get` and `has` look a name up directly, and only anything else (iterating,
 * changing them) first copies them into a real Headers (see webHeaders) and
 * works on the copy from then on. Node's own object is never changed.
 */
export class NodeRequestHeaders implements Headers {
  readonly #node: IncomingHttpHeaders;
  #web: Headers | undefined;

  constructor(node: IncomingHttpHeaders) {
    this.#node = node;
  }

  get(name: string): string | null {
    if (this.#web !== undefined) return this.#web.get(name);
    const key = name.toLowerCase();
    // A pseudo-header name is no header name; Headers throws for it, and so does the copy.
    if (key.startsWith(":")) return this.#copy().get(name);
    const value = this.#node[key];
    if (value === undefined) return null;
    return typeof value === "string" ? value : value.join(", ");
  }

  has(name: string): boolean {
    return this.get(name) !== null;
  }

  append(name: string, value: string): void {
    this.#copy().append(name, value);
  }

  delete(name: string): void {
    this.#copy().delete(name);
  }

  set(name: string, value: string): void {
    this.#copy().set(name, value);
  }

  getSetCookie(): string[] {
    return this.#copy().getSetCookie();
  }

  forEach(callback: (value: string, key: string, parent: Headers) => void, thisArg?: unknown): void {
    this.#copy().forEach((value, key) => {
      callback.call(thisArg, value, key, this);
    });
  }

  entries(): ReturnType<Headers["entries"]> {
    return this.#copy().entries();
  }

  keys(): ReturnType<Headers["keys"]> {
    return this.#copy().keys();
  }

  values(): ReturnType<Headers["values"]> {
    return this.#copy().values();
  }

  [Symbol.iterator](): ReturnType<Headers["entries"]> {
    return this.#copy()[Symbol.iterator]();
  }

  #copy(): Headers {
    this.#web ??= webHeaders(this.#node);
    return this.#web;
  }
}
