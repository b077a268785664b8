/**
 * Parser for claim template text: JSON (RFC 8259) plus one extra kind of value, a variable `{{ a.b.c }}`.
 * It refuses, with line and column, anything that is not such a document: syntax errors, a variable used as a
 * key or inside a string, duplicate keys, reserved top-level claim names, nesting deeper than the policy allows.
 * Recursion is bounded: the parser refuses to open a container deeper than `policy.maxDepth`.
 */

import type { ClaimTemplateProblem } from "../../errors.js";
import { InvalidClaimTemplateError } from "../../errors.js";
import type { ClaimsPolicy } from "../claims-policy.js";
import { isReservedClaim } from "../claims-policy.js";
import type { JsonObject, JsonValue } from "../json.js";
import { setOwn } from "../json.js";

/** A parsed template value, before its variables are bound to roots. */
export type ParsedNode = ParsedLiteral | ParsedVariable | ParsedObject | ParsedArray;

/** A string, number, boolean or null written in the template. */
export interface ParsedLiteral {
  readonly kind: "literal";
  readonly value: string | number | boolean | null;
}

/** A `{{ a.b.c }}` variable: its dot-separated segments, and where it stands in the text. */
export interface ParsedVariable {
  readonly kind: "variable";
  readonly segments: readonly string[];
  readonly offset: number;
  readonly pointer: string;
}

/** An object written in the template, members in text order. */
export interface ParsedObject {
  readonly kind: "object";
  readonly members: ReadonlyArray<{ readonly key: string; readonly node: ParsedNode }>;
}

/** An array written in the template. */
export interface ParsedArray {
  readonly kind: "array";
  readonly items: readonly ParsedNode[];
}

// Longest key or variable name quoted in error metadata.
const MAX_NAME_TEXT = 200;
const SEGMENT = /[\p{L}\p{N}_-]+/uy;
const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const HEX4 = /^[0-9a-fA-F]{4}$/;
const VARIABLE_IN_TEXT = /\{\{[\s\S]*?\}\}/;

/** Parses template text whose top level must be a JSON object; throws InvalidClaimTemplateError. */
export function parseTemplate(text: string, policy: ClaimsPolicy): ParsedObject {
  return new TemplateParser(text, policy).parse();
}

/** An InvalidClaimTemplateError at `offset` (a UTF-16 index) of `text`, with line and column in characters. */
export function templateError(
  text: string,
  problem: ClaimTemplateProblem,
  detail: string,
  offset: number,
  pointer: string,
  extra: Readonly<Record<string, string>> = {},
): InvalidClaimTemplateError {
  let line = 1;
  let lineStart = 0;
  for (let index = 0; index < offset && index < text.length; index += 1) {
    const code = text.charCodeAt(index);
    // CR LF, CR and LF each end one line.
    if (code === 0x0d && text.charCodeAt(index + 1) === 0x0a) index += 1;
    if (code === 0x0a || code === 0x0d) {
      line += 1;
      lineStart = index + 1;
    }
  }
  // Columns count characters (code points), so an emoji earlier on the line counts once.
  const column = [...text.slice(lineStart, Math.max(lineStart, offset))].length + 1;
  return new InvalidClaimTemplateError(problem, detail, { line, column, path: truncate(pointer) }, extra);
}

/** Text of a key or variable name safe for error metadata: cut short, never splitting a surrogate pair. */
export function truncate(text: string): string {
  if (text.length <= MAX_NAME_TEXT) return text;
  const cut = /[\uD800-\uDBFF]/.test(text.charAt(MAX_NAME_TEXT - 1)) ? MAX_NAME_TEXT - 1 : MAX_NAME_TEXT;
  return `${text.slice(0, cut)}…`;
}

class TemplateParser {
  private pos = 0;
  // Keys and indexes from the top-level object down to the value being parsed, for error pointers.
  private readonly trail: string[] = [];

  constructor(
    private readonly text: string,
    private readonly policy: ClaimsPolicy,
  ) {}

  parse(): ParsedObject {
    this.skipWhitespace();
    const first = this.text[this.pos];
    if (first === undefined) throw this.fail("syntax", "the template is empty");
    if (first !== "{" || this.text.startsWith("{{", this.pos)) {
      const isValue = this.text.startsWith("{{", this.pos) || /^[[\-"0-9tfn]/.test(first);
      if (isValue) throw this.fail("not_an_object", "the template must be a JSON object, not another value");
      throw this.fail("syntax", "expected '{' to open the template's object");
    }
    const root = this.parseObject(1);
    this.skipWhitespace();
    if (this.pos < this.text.length) throw this.fail("syntax", "unexpected text after the template's object");
    return root;
  }

  /** A value whose containers (if it is one) sit at nesting level `depth`. */
  private parseValue(depth: number): ParsedNode {
    this.skipWhitespace();
    const char = this.text[this.pos];
    if (char === undefined) throw this.fail("syntax", "unexpected end of the template: expected a value");
    if (this.text.startsWith("{{", this.pos)) return this.parseVariable();
    if (char === "{") return this.parseObject(depth);
    if (char === "[") return this.parseArray(depth);
    if (char === '"') return { kind: "literal", value: this.parseString("variable_in_string") };
    if (char === "-" || (char >= "0" && char <= "9")) return { kind: "literal", value: this.parseNumber() };
    for (const [word, value] of [
      ["true", true],
      ["false", false],
      ["null", null],
    ] as const) {
      if (this.text.startsWith(word, this.pos)) {
        this.pos += word.length;
        return { kind: "literal", value };
      }
    }
    throw this.fail("syntax", "expected a value");
  }

  private parseObject(depth: number): ParsedObject {
    if (depth > this.policy.maxDepth) {
      throw this.fail("too_deep", `the template nests deeper than ${this.policy.maxDepth} levels`);
    }
    this.pos += 1;
    const members: Array<{ key: string; node: ParsedNode }> = [];
    const seen = new Set<string>();
    this.skipWhitespace();
    if (this.text[this.pos] === "}") {
      this.pos += 1;
      return { kind: "object", members };
    }
    for (;;) {
      this.skipWhitespace();
      const keyAt = this.pos;
      if (this.text.startsWith("{{", this.pos)) {
        throw this.fail("variable_as_key", "a variable can only be a value, never an object key");
      }
      if (this.text[this.pos] === undefined)
        throw this.fail("syntax", "unexpected end of the template: expected a key");
      if (this.text[this.pos] !== '"') throw this.fail("syntax", "expected a string key or '}'");
      const key = this.parseString("variable_as_key");
      this.trail.push(key);
      if (seen.has(key)) throw this.fail("duplicate_key", "the key appears twice in this object", keyAt);
      if (depth === 1 && isReservedClaim(key, this.policy)) {
        throw this.fail("reserved_claim", "the top-level claim name is reserved", keyAt, { claim: truncate(key) });
      }
      seen.add(key);
      this.skipWhitespace();
      if (this.text[this.pos] !== ":") throw this.fail("syntax", "expected ':' after the key");
      this.pos += 1;
      members.push({ key, node: this.parseValue(depth + 1) });
      this.trail.pop();
      this.skipWhitespace();
      const next = this.text[this.pos];
      this.pos += 1;
      if (next === ",") continue;
      if (next === "}") return { kind: "object", members };
      this.pos -= 1;
      throw this.fail(
        "syntax",
        next === undefined ? "unexpected end of the template: expected '}'" : "expected ',' or '}'",
      );
    }
  }

  private parseArray(depth: number): ParsedArray {
    if (depth > this.policy.maxDepth) {
      throw this.fail("too_deep", `the template nests deeper than ${this.policy.maxDepth} levels`);
    }
    this.pos += 1;
    const items: ParsedNode[] = [];
    this.skipWhitespace();
    if (this.text[this.pos] === "]") {
      this.pos += 1;
      return { kind: "array", items };
    }
    for (;;) {
      this.trail.push(String(items.length));
      items.push(this.parseValue(depth + 1));
      this.trail.pop();
      this.skipWhitespace();
      const next = this.text[this.pos];
      this.pos += 1;
      if (next === ",") continue;
      if (next === "]") return { kind: "array", items };
      this.pos -= 1;
      throw this.fail(
        "syntax",
        next === undefined ? "unexpected end of the template: expected ']'" : "expected ',' or ']'",
      );
    }
  }

  /** A JSON string; `{{ ... }}` inside it is refused with `problem` (variables are never keys or string parts). */
  private parseString(problem: "variable_as_key" | "variable_in_string"): string {
    const start = this.pos;
    let index = start + 1;
    for (;;) {
      const code = this.text.charCodeAt(index);
      if (Number.isNaN(code)) throw this.fail("syntax", "unterminated string", start);
      if (code === 0x22) break;
      if (code < 0x20) throw this.fail("syntax", "control characters must be escaped in a string", index);
      if (code === 0x5c) {
        const escaped = this.text[index + 1];
        if (escaped !== undefined && '"\\/bfnrt'.includes(escaped)) index += 2;
        else if (escaped === "u" && HEX4.test(this.text.slice(index + 2, index + 6))) index += 6;
        else throw this.fail("syntax", "invalid escape sequence in a string", index);
      } else {
        index += 1;
      }
    }
    const raw = this.text.slice(start, index + 1);
    // Checked on the raw text, so a literal "{{...}}" can still be written with an escape such as \u007b.
    const variableAt = raw.search(VARIABLE_IN_TEXT);
    if (variableAt >= 0) {
      const detail =
        problem === "variable_as_key"
          ? "a variable can only be a value, never an object key"
          : "a variable cannot stand inside a string; write it without quotes, as the whole value";
      throw this.fail(problem, detail, start + variableAt);
    }
    this.pos = index + 1;
    return JSON.parse(raw) as string;
  }

  private parseNumber(): number {
    NUMBER.lastIndex = this.pos;
    const match = NUMBER.exec(this.text);
    if (match === null) throw this.fail("syntax", "invalid number");
    const value = Number(match[0]);
    if (!Number.isFinite(value)) throw this.fail("invalid_number", "the number is too large to represent");
    this.pos += match[0].length;
    // -0 would serialize as 0 anyway; keep the value and its JSON the same.
    return value === 0 ? 0 : value;
  }

  private parseVariable(): ParsedVariable {
    const offset = this.pos;
    this.pos += 2;
    this.skipWhitespace();
    const segments: string[] = [];
    for (;;) {
      SEGMENT.lastIndex = this.pos;
      const match = SEGMENT.exec(this.text);
      if (match === null) {
        const detail = segments.length === 0 ? "expected a variable name after '{{'" : "expected a name after '.'";
        throw this.fail("syntax", detail);
      }
      segments.push(match[0]);
      this.pos += match[0].length;
      if (this.text[this.pos] !== ".") break;
      this.pos += 1;
    }
    this.skipWhitespace();
    if (!this.text.startsWith("}}", this.pos)) throw this.fail("syntax", "expected '}}' to close the variable");
    this.pos += 2;
    return { kind: "variable", segments, offset, pointer: this.pointer() };
  }

  private skipWhitespace(): void {
    for (;;) {
      const char = this.text[this.pos];
      if (char !== " " && char !== "\t" && char !== "\n" && char !== "\r") return;
      this.pos += 1;
    }
  }

  private pointer(): string {
    return this.trail.map((segment) => `/${segment.replaceAll("~", "~0").replaceAll("/", "~1")}`).join("");
  }

  private fail(
    problem: ClaimTemplateProblem,
    detail: string,
    offset: number = this.pos,
    extra: Readonly<Record<string, string>> = {},
  ): InvalidClaimTemplateError {
    return templateError(this.text, problem, detail, offset, this.pointer(), extra);
  }
}

/** The literal JSON value of a parsed subtree that holds no variable, or undefined if it holds one. */
export function literalValue(node: ParsedNode): JsonValue | undefined {
  // Depth is bounded by the parser (policy.maxDepth), so recursion is safe here.
  if (node.kind === "literal") return node.value;
  if (node.kind === "variable") return undefined;
  if (node.kind === "array") {
    const items: JsonValue[] = [];
    for (const item of node.items) {
      const value = literalValue(item);
      if (value === undefined) return undefined;
      items.push(value);
    }
    return items;
  }
  const object: JsonObject = {};
  for (const { key, node: child } of node.members) {
    const value = literalValue(child);
    if (value === undefined) return undefined;
    // A member whose value is null is left out of the output, as a null variable's claim is.
    if (value !== null) setOwn(object, key, value);
  }
  return object;
}
