import { type DescField, type DescMessage, ScalarType } from "@bufbuild/protobuf";
import type { UniversalHandlerOptions } from "@connectrpc/connect/protocol";
import { InvalidArgumentError } from "../errors.js";
import { connectErrorOf } from "./error-mapper.js";

const INTEGER_TYPES: ReadonlySet<ScalarType> = new Set([
  ScalarType.INT32,
  ScalarType.INT64,
  ScalarType.UINT32,
  ScalarType.UINT64,
  ScalarType.SINT32,
  ScalarType.SINT64,
  ScalarType.FIXED32,
  ScalarType.FIXED64,
  ScalarType.SFIXED32,
  ScalarType.SFIXED64,
]);

/** A decimal integer as a caller writes one: no sign on zero, no leading zeros, no space, no prefix. */
const CANONICAL_INTEGER = /^(?:0|-?[1-9][0-9]*)$/;

/**
 * Handler options that make the JSON codec of `input` refuse integer fields
 * written as anything but a decimal integer, with INVALID_ARGUMENT and reason
 * INVALID_REQUEST_FIELD. protobuf-es reads a 64-bit JSON string with
 * `BigInt()` and a 32-bit one with `Number()`, so `"0x10"`, `" 1"` or `"1e1"`
 * would pass as numbers nobody meant. The check needs the JSON as sent, which
 * only the codec sees: connect-es hands it the request text through its
 * `textDecoder` option, before protobuf-es parses it. Binary protobuf has no
 * such spelling and is left alone. Empty when `input` has no integer field.
 */
export function strictJsonIntegers(input: DescMessage): Partial<UniversalHandlerOptions> {
  const names = integerFieldNames(input);
  if (names.length === 0) return {};
  const utf8 = new TextDecoder();
  const textDecoder = {
    decode(bytes: Uint8Array): string {
      const text = utf8.decode(bytes);
      // Most requests name no integer field; a key may also be spelled with escapes.
      if (!text.includes("\\") && !names.some((name) => text.includes(name))) return text;
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        return text; // protobuf-es reports malformed JSON itself
      }
      const field = firstLooseInteger(input, json);
      if (field !== undefined) {
        throw connectErrorOf(
          new InvalidArgumentError(
            "INVALID_REQUEST_FIELD",
            `${field.name} must be a decimal integer: a JSON number, or a string of digits (needed past 2^53)`,
            { field: field.name },
          ),
        );
      }
      return text;
    },
  };
  // `textDecoder` is an option of connect-es' JSON serialization that its handler option type does not list.
  const jsonOptions: UniversalHandlerOptions["jsonOptions"] = { textDecoder } as never;
  return { jsonOptions };
}

/** The JSON names (proto and camelCase) of every integer field reachable through plain message fields. */
function integerFieldNames(input: DescMessage): string[] {
  const names = new Set<string>();
  const seen = new Set<DescMessage>();
  const pending = [input];
  for (let desc = pending.pop(); desc !== undefined; desc = pending.pop()) {
    if (seen.has(desc)) continue;
    seen.add(desc);
    for (const field of desc.fields) {
      if (isInteger(field)) names.add(field.name).add(field.jsonName);
      const nested = plainMessageOf(field);
      if (nested !== undefined) pending.push(nested);
    }
  }
  return [...names];
}

/** The first integer field of `json` (read as `desc`) whose value is a string or number that is not a plain integer. */
function firstLooseInteger(desc: DescMessage, json: unknown): DescField | undefined {
  const pending: Array<[DescMessage, unknown]> = [[desc, json]];
  for (let item = pending.pop(); item !== undefined; item = pending.pop()) {
    const [message, value] = item;
    if (typeof value !== "object" || value === null || Array.isArray(value)) continue;
    for (const field of message.fields) {
      for (const name of new Set([field.name, field.jsonName])) {
        if (!Object.hasOwn(value, name)) continue;
        const fieldValue: unknown = (value as Record<string, unknown>)[name];
        const items = field.fieldKind === "list" && Array.isArray(fieldValue) ? fieldValue : [fieldValue];
        if (isInteger(field) && !items.every(isPlainInteger)) return field;
        const nested = plainMessageOf(field);
        if (nested !== undefined) for (const entry of items) pending.push([nested, entry]);
      }
    }
  }
  return undefined;
}

function isInteger(field: DescField): boolean {
  const scalar = field.fieldKind === "scalar" || field.fieldKind === "list" ? field.scalar : undefined;
  return scalar !== undefined && INTEGER_TYPES.has(scalar);
}

// Well-known types (google.protobuf.*) have JSON forms of their own and are left to protobuf-es.
function plainMessageOf(field: DescField): DescMessage | undefined {
  const message = field.fieldKind === "message" || field.fieldKind === "list" ? field.message : undefined;
  return message !== undefined && !message.typeName.startsWith("google.protobuf.") ? message : undefined;
}

// Anything that is neither a string nor a number (null for "unset", or a wrong type) is protobuf-es' to judge.
function isPlainInteger(value: unknown): boolean {
  if (typeof value === "string") return CANONICAL_INTEGER.test(value);
  if (typeof value === "number") return Number.isSafeInteger(value);
  return true;
}
