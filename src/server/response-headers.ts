/** An HTTP token (RFC 9110 5.6.2): what a header name must be. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** What no header value may hold: NUL, CR, LF, or a character past one byte. */
const BAD_VALUE = /[\0\r\n]|[^\0-\xff]/;
/** HTTP whitespace, trimmed off both ends of a value (as Headers does). */
const EDGE_SPACE = /^[\t\n\r ]+|[\t\n\r ]+$/g;

/**
 * Web Headers for a response being built, over a plain Map: what undici's
 * Headers does (names lowercased and checked, values trimmed and checked,
 * the same TypeError for either, `append` joining with ", ", `set-cookie`
 * kept apart, iteration sorted by name) at a fraction of its cost, which is
 * paid twice on every call of the lean path (its headers and its trailers).
 */
export class ResponseHeaders implements Headers {
  readonly #values = new Map<string, string>();
  #cookies: string[] = [];

  constructor(init?: Readonly<Record<string, string>>) {
    if (init !== undefined) for (const name in init) this.append(name, init[name] as string);
  }

  append(name: string, value: string): void {
    const key = checkedName(name);
    const normal = checkedValue(value);
    const existing = this.#values.get(key);
    this.#values.set(key, existing === undefined ? normal : `${existing}, ${normal}`);
    if (key === "set-cookie") this.#cookies.push(normal);
  }

  set(name: string, value: string): void {
    const key = checkedName(name);
    const normal = checkedValue(value);
    this.#values.set(key, normal);
    if (key === "set-cookie") this.#cookies = [normal];
  }

  delete(name: string): void {
    const key = checkedName(name);
    this.#values.delete(key);
    if (key === "set-cookie") this.#cookies = [];
  }

  get(name: string): string | null {
    return this.#values.get(checkedName(name)) ?? null;
  }

  has(name: string): boolean {
    return this.#values.has(checkedName(name));
  }

  getSetCookie(): string[] {
    return [...this.#cookies];
  }

  forEach(callback: (value: string, key: string, parent: Headers) => void, thisArg?: unknown): void {
    const keys = [...this.#values.keys()];
    if (keys.length > 1) keys.sort();
    for (const key of keys) {
      if (key === "set-cookie") for (const cookie of this.#cookies) callback.call(thisArg, cookie, key, this);
      else callback.call(thisArg, this.#values.get(key) as string, key, this);
    }
  }

  entries(): ReturnType<Headers["entries"]> {
    return this.#sorted()[Symbol.iterator]() as ReturnType<Headers["entries"]>;
  }

  keys(): ReturnType<Headers["keys"]> {
    return this.#sorted()
      .map(([key]) => key)
      [Symbol.iterator]() as ReturnType<Headers["keys"]>;
  }

  values(): ReturnType<Headers["values"]> {
    return this.#sorted()
      .map(([, value]) => value)
      [Symbol.iterator]() as ReturnType<Headers["values"]>;
  }

  [Symbol.iterator](): ReturnType<Headers["entries"]> {
    return this.entries();
  }

  /** The entries in Headers' order: by name, each `set-cookie` on its own. */
  #sorted(): [string, string][] {
    const keys = [...this.#values.keys()];
    if (keys.length > 1) keys.sort();
    const out: [string, string][] = [];
    for (const key of keys) {
      if (key === "set-cookie") for (const cookie of this.#cookies) out.push([key, cookie]);
      else out.push([key, this.#values.get(key) as string]);
    }
    return out;
  }
}

function checkedName(name: string): string {
  if (!TOKEN.test(name)) throw new TypeError(`Headers: "${name}" is an invalid header name.`);
  return name.toLowerCase();
}

function checkedValue(value: string): string {
  let normal = String(value);
  if (isSpace(normal.charCodeAt(0)) || isSpace(normal.charCodeAt(normal.length - 1))) {
    normal = normal.replace(EDGE_SPACE, "");
  }
  if (BAD_VALUE.test(normal)) throw new TypeError(`Headers: "${normal}" is an invalid header value.`);
  return normal;
}

/** Tab, LF, CR or space. */
function isSpace(code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0d;
}
