import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { ClaimTemplateUser, JsonObject, JsonValue } from "../../src/claims/index.js";
import {
  compileClaimTemplate,
  DEFAULT_CLAIMS_POLICY,
  isReservedClaim,
  renderClaimTemplate,
} from "../../src/claims/index.js";
import { ClaimsTooLargeError, ClaimTemplateTooLargeError, InvalidClaimTemplateError } from "../../src/errors.js";

const policy = DEFAULT_CLAIMS_POLICY;

/** A template as a tree, written independently of src/: serialized to text, and evaluated by `evaluate`. */
type Tree =
  | { readonly kind: "literal"; readonly value: string | number | boolean | null }
  | { readonly kind: "variable"; readonly path: readonly string[] }
  | { readonly kind: "object"; readonly members: ReadonlyArray<readonly [string, Tree]> }
  | { readonly kind: "array"; readonly items: readonly Tree[] };

const MISSING = Symbol("missing");

/** The reference semantics: null or missing variables and null members vanish; literal nulls in arrays stay. */
function evaluate(tree: Tree, user: ClaimTemplateUser): JsonValue | typeof MISSING {
  switch (tree.kind) {
    case "literal":
      return tree.value;
    case "variable": {
      const value = lookup(tree.path, user);
      return value === undefined || value === null ? MISSING : value;
    }
    case "array":
      return tree.items.map((item) => evaluate(item, user)).filter((item): item is JsonValue => item !== MISSING);
    case "object": {
      const entries = tree.members
        .map(([name, member]) => [name, evaluate(member, user)] as const)
        .filter((entry): entry is readonly [string, JsonValue] => entry[1] !== MISSING && entry[1] !== null);
      const object: JsonObject = {};
      for (const [name, value] of entries) Object.defineProperty(object, name, { value, enumerable: true });
      return object;
    }
  }
}

function lookup(path: readonly string[], user: ClaimTemplateUser): JsonValue | undefined {
  const [root, field, ...rest] = path;
  if (root !== "user") return undefined;
  if (field === "user_id") return user.userId;
  if (field === "roles") return user.roles ? [...user.roles] : undefined;
  let current: unknown = field === "trusted_metadata" ? user.trustedMetadata : user.untrustedMetadata;
  for (const segment of rest) {
    if (current === null || typeof current !== "object" || Array.isArray(current)) return undefined;
    if (!Object.hasOwn(current, segment)) return undefined;
    current = (current as Record<string, unknown>)[segment];
  }
  return (current ?? undefined) as JsonValue | undefined;
}

/** Canonical text of a JSON value: keys sorted; own keys only. */
function canonical(value: JsonValue | typeof MISSING): string {
  if (value === MISSING) return "MISSING";
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  const keys = Object.keys(value).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(Object.getOwnPropertyDescriptor(value, k)?.value)}`).join(",")}}`;
}

// Whitespace the serializer may put in every gap between tokens (and inside variable braces).
const WHITESPACE = ["", " ", "\n", "\t", "\r\n", "\r", "  \n  "] as const;

interface Written {
  readonly text: string;
  /** Every gap between tokens: its UTF-16 offset, and the 1-based line and column (in code points) there. */
  readonly gaps: ReadonlyArray<{ readonly offset: number; readonly line: number; readonly column: number }>;
}

/** Template text for a tree, whitespace drawn from `spaces` in turn; tracks line and column on its own. */
function write(tree: Tree, spaces: readonly number[]): Written {
  let text = "";
  let line = 1;
  let column = 1;
  let turn = 0;
  const gaps: Array<{ offset: number; line: number; column: number }> = [];
  const put = (piece: string) => {
    for (let index = 0; index < piece.length; index += 1) {
      const char = piece[index];
      if (char === "\r" && piece[index + 1] === "\n") continue; // counted at the \n
      if (char === "\n" || char === "\r") {
        line += 1;
        column = 1;
      } else if (!/[\uDC00-\uDFFF]/.test(char ?? "")) {
        column += 1; // the low half of a surrogate pair does not start a new character
      }
    }
    text += piece;
  };
  const gap = () => {
    gaps.push({ offset: text.length, line, column });
    put(WHITESPACE[(spaces[turn++ % spaces.length] ?? 0) % WHITESPACE.length] as string);
  };
  const visit = (node: Tree) => {
    switch (node.kind) {
      case "literal":
        put(JSON.stringify(node.value));
        return;
      case "variable":
        put("{{");
        gap();
        put(node.path.join("."));
        gap();
        put("}}");
        return;
      case "array":
        put("[");
        gap();
        node.items.forEach((item, index) => {
          if (index > 0) {
            put(",");
            gap();
          }
          visit(item);
          gap();
        });
        put("]");
        return;
      case "object":
        put("{");
        gap();
        node.members.forEach(([name, member], index) => {
          if (index > 0) {
            put(",");
            gap();
          }
          put(JSON.stringify(name));
          gap();
          put(":");
          gap();
          visit(member);
          gap();
        });
        put("}");
        return;
    }
  };
  gap();
  visit(tree);
  gap();
  return { text, gaps };
}

const metadataKey = fc.constantFrom("a", "b", "plan", "__proto__", "constructor", "toString", "iss", "x-y");
const literalString = fc
  .string({ maxLength: 6, unit: "grapheme" })
  .filter((s) => !/\{\{[\s\S]*?\}\}/.test(JSON.stringify(s)));
const literal: fc.Arbitrary<Tree> = fc
  .oneof(
    fc.constant(null),
    fc.boolean(),
    fc.integer({ min: -1000, max: 1000 }),
    fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => (Object.is(n, -0) ? 0 : n)),
    literalString,
  )
  .map((value) => ({ kind: "literal", value }));
const variable: fc.Arbitrary<Tree> = fc
  .oneof(
    fc.constant(["user", "user_id"]),
    fc.constant(["user", "roles"]),
    fc
      .tuple(fc.constantFrom("trusted_metadata", "untrusted_metadata"), fc.array(metadataKey, { maxLength: 3 }))
      .map(([field, rest]) => ["user", field, ...rest]),
  )
  .map((path) => ({ kind: "variable", path }));
const templateKey = fc.oneof(metadataKey, literalString);
const { tree } = fc.letrec<{ tree: Tree; object: Tree }>((tie) => ({
  tree: fc.oneof(
    { depthSize: "small" },
    literal,
    variable,
    variable,
    tie("object"),
    fc.array(tie("tree"), { maxLength: 3 }).map((items) => ({ kind: "array", items }) as Tree),
  ),
  object: fc
    .uniqueArray(fc.tuple(templateKey, tie("tree")), { maxLength: 4, selector: ([name]) => name })
    .map((members) => ({ kind: "object", members }) as Tree),
}));
/** A top-level object whose keys are never reserved (those are refused at compile time, tested elsewhere). */
const template = fc
  .uniqueArray(fc.tuple(templateKey, tree), { maxLength: 5, selector: ([name]) => name })
  .map((members) => ({ kind: "object", members: members.filter(([name]) => !isReservedClaim(name, policy)) }) as Tree);
const spaces = fc.array(fc.nat(), { minLength: 1, maxLength: 40 });

const { value: metadataValue } = fc.letrec<{ value: JsonValue; object: JsonObject }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.string({ maxLength: 4 }),
    fc.array(tie("value"), { maxLength: 3 }),
    tie("object"),
    tie("object"),
  ),
  object: fc.dictionary(metadataKey, tie("value"), { maxKeys: 4, noNullPrototype: true }),
}));
const asParsed = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;
const user: fc.Arbitrary<ClaimTemplateUser> = fc
  .record(
    {
      userId: fc.string({ maxLength: 8 }),
      // Arbitrary JSON, not only objects: stored metadata the template engine must survive whatever it is.
      trustedMetadata: fc.oneof(metadataValue, fc.dictionary(metadataKey, metadataValue, { noNullPrototype: true })),
      untrustedMetadata: fc.oneof(metadataValue, fc.dictionary(metadataKey, metadataValue, { noNullPrototype: true })),
      roles: fc.oneof(fc.constant(null), fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 })),
    },
    { requiredKeys: ["userId"] },
  )
  .map((record) => asParsed(record) as ClaimTemplateUser);

describe("claim template properties", () => {
  it("compiles every generated template and renders what the reference semantics say, for any user", () => {
    fc.assert(
      fc.property(template, spaces, user, (shape, whitespace, someone) => {
        const compiled = compileClaimTemplate(write(shape, whitespace).text, policy);
        expect(canonical(renderClaimTemplate(compiled, someone))).toBe(canonical(evaluate(shape, someone)));
      }),
      { numRuns: 1000 },
    );
  });

  it("rendering never throws and never produces a reserved top-level claim, for arbitrary metadata", () => {
    const compiled = compileClaimTemplate(
      `{"t": {{ user.trusted_metadata }}, "u": {{ user.untrusted_metadata }}, "r": {{ user.roles }},
        "deep": {{ user.trusted_metadata.a.b.c }}, "arr": [{{ user.trusted_metadata.iss }}, {{ user.untrusted_metadata.__proto__ }}]}`,
      policy,
    );
    fc.assert(
      fc.property(user, template, spaces, (someone, shape, whitespace) => {
        for (const target of [compiled, compileClaimTemplate(write(shape, whitespace).text, policy)]) {
          const out = renderClaimTemplate(target, someone);
          expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
          for (const name of Object.keys(out)) expect(isReservedClaim(name, policy)).toBe(false);
          expect(JSON.parse(JSON.stringify(out))).toBeTypeOf("object");
        }
        expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined();
      }),
      { numRuns: 800 },
    );
  });

  it("a stray character in any gap between tokens is a syntax error at exactly its line and column", () => {
    fc.assert(
      fc.property(template, spaces, fc.nat(), (shape, whitespace, pick) => {
        const { text, gaps } = write(shape, whitespace);
        const gap = gaps[pick % gaps.length];
        if (gap === undefined) return;
        const broken = `${text.slice(0, gap.offset)}@${text.slice(gap.offset)}`;
        let caught: unknown;
        try {
          compileClaimTemplate(broken, policy);
        } catch (err) {
          caught = err;
        }
        expect(caught).toBeInstanceOf(InvalidClaimTemplateError);
        const err = caught as InvalidClaimTemplateError;
        expect({ problem: err.problem, line: err.line, column: err.column }).toStrictEqual({
          problem: "syntax",
          line: gap.line,
          column: gap.column,
        });
      }),
      { numRuns: 1000 },
    );
  });

  it("compiling any text either succeeds or throws one of the typed template errors", () => {
    const mutated = fc
      .tuple(template, spaces, fc.nat(), fc.nat({ max: 3 }), fc.string({ minLength: 1, maxLength: 2 }))
      .map(([shape, whitespace, where, how, insert]) => {
        const { text } = write(shape, whitespace);
        const index = where % (text.length + 1);
        if (how === 0) return text.slice(0, index) + text.slice(index + 1);
        if (how === 1) return text.slice(0, index) + insert + text.slice(index);
        if (how === 2) return text.slice(0, index);
        return text.slice(0, index) + insert + text.slice(index + insert.length);
      });
    const typed = [InvalidClaimTemplateError, ClaimTemplateTooLargeError, ClaimsTooLargeError];
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 40 }), fc.json(), mutated), (text) => {
        try {
          const compiled = compileClaimTemplate(text, policy);
          renderClaimTemplate(compiled, { userId: "u", trustedMetadata: { a: 1 } });
        } catch (err) {
          expect(typed.some((errorClass) => err instanceof errorClass)).toBe(true);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
