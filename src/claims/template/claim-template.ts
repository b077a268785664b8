/**
 * Custom claim templates, as Stytch documents them: a JSON object whose values may be variables `{{ a.b.c }}`,
 * rendered per user into the base custom claims of every session of that user.
 *
 * Rules:
 * - The template is a JSON object (RFC 8259). A variable `{{ path }}` may stand wherever a JSON value may,
 *   written bare (`"plan": {{ user.trusted_metadata.plan }}`), never as a key and never inside a string: a quoted
 *   `"{{ ... }}"` is refused (`variable_in_string`), so the template never silently emits the variable's text.
 *   A string that must hold `{{...}}` literally can escape a brace (`"\u007b{...}}"`).
 * - A path is dot-separated names (letters, digits, `_`, `-`); whitespace inside the braces is optional. The roots
 *   table decides which paths exist (default: `user.user_id`, `user.trusted_metadata[.<path>]`,
 *   `user.untrusted_metadata[.<path>]`, `user.roles`, `user.rbac.roles`, `user.rbac.<resource_id>.actions`);
 *   any other path is refused (`unknown_variable`).
 * - A metadata path walks own keys of nested objects; a step into an array, a scalar or nothing is missing.
 * - An object member whose value is null or a missing variable is left out of the output; so is an array element
 *   that is a null or missing variable (a literal null written in an array stays). A variable's value is
 *   inserted as it is in the user's data (a copy).
 * - Refused when set: syntax errors (with line and column), a reserved top-level claim name, duplicate keys,
 *   nesting deeper than the claims policy, text over `maxTemplateBytes`, and a template whose output with every
 *   variable missing is already over the policy's size limit.
 * The output is not checked against the claims size and depth limits: it depends on the user's data, and it is
 * one part of a session's effective claims, which the session service checks as a whole (`effectiveClaims`).
 */
import { Buffer } from "node:buffer";
import { ClaimTemplateTooLargeError } from "../../errors.js";
import type { ClaimsPolicy } from "../claims-policy.js";
import type { JsonObject, JsonValue } from "../json.js";
import { cloneJson, setOwn } from "../json.js";
import { assertClaimsSize } from "../validate-claims.js";
import type { ParsedNode, ParsedObject } from "./template-parser.js";
import { literalValue, parseTemplate, templateError, truncate } from "./template-parser.js";
import type { ClaimTemplateRoot, ClaimTemplateUser, TemplateReader } from "./template-roots.js";
import { USER_TEMPLATE_ROOTS } from "./template-roots.js";

/** Default cap on a template's text: 16 KiB of UTF-8. */
export const DEFAULT_MAX_TEMPLATE_BYTES = 16_384;

/** Options of `compileClaimTemplate`. */
export interface ClaimTemplateOptions<C> {
  /** The variables the template may use; USER_TEMPLATE_ROOTS by default. */
  readonly roots?: readonly ClaimTemplateRoot<C>[];
  /** Largest template text accepted, in UTF-8 bytes; DEFAULT_MAX_TEMPLATE_BYTES by default. */
  readonly maxTemplateBytes?: number;
}

/** A compiled template value. */
export type TemplateNode<C> =
  | { readonly kind: "literal"; readonly value: JsonValue }
  | { readonly kind: "variable"; readonly name: string; readonly read: TemplateReader<C> }
  | TemplateObjectNode<C>
  | { readonly kind: "array"; readonly items: readonly TemplateNode<C>[] };

/** A compiled template object: members in text order. */
export interface TemplateObjectNode<C> {
  readonly kind: "object";
  readonly members: ReadonlyArray<{ readonly key: string; readonly node: TemplateNode<C> }>;
}

/** A checked template, ready to render for any user. */
export interface CompiledClaimTemplate<C = ClaimTemplateUser> {
  /** Distinct variable paths the template reads, in order of first use (e.g. to tell which data it depends on). */
  readonly variables: readonly string[];
  /** The top-level object; parts without variables are folded into literals. */
  readonly root: TemplateObjectNode<C>;
}

/**
 * Checks and compiles template text. Throws ClaimTemplateTooLargeError, InvalidClaimTemplateError (with
 * problem, line, column and path) or ClaimsTooLargeError (output over the policy even with every variable missing).
 */
export function compileClaimTemplate(
  text: string,
  policy: ClaimsPolicy,
  options?: { readonly maxTemplateBytes?: number },
): CompiledClaimTemplate<ClaimTemplateUser>;
/** Checks and compiles template text against a custom roots table. */
export function compileClaimTemplate<C>(
  text: string,
  policy: ClaimsPolicy,
  options: ClaimTemplateOptions<C> & { readonly roots: readonly ClaimTemplateRoot<C>[] },
): CompiledClaimTemplate<C>;
export function compileClaimTemplate<C>(
  text: string,
  policy: ClaimsPolicy,
  options: ClaimTemplateOptions<C> = {},
): CompiledClaimTemplate<C> {
  const limit = options.maxTemplateBytes ?? DEFAULT_MAX_TEMPLATE_BYTES;
  const size = Buffer.byteLength(text, "utf8");
  if (size > limit) throw new ClaimTemplateTooLargeError(size, limit);
  // Without a roots table the context is a ClaimTemplateUser (the first overload).
  const roots = options.roots ?? (USER_TEMPLATE_ROOTS as unknown as readonly ClaimTemplateRoot<C>[]);
  const variables = new Set<string>();
  const root = bindObject(parseTemplate(text, policy), { text, roots, variables });
  const compiled: CompiledClaimTemplate<C> = { variables: [...variables], root };
  // Every render is at least this big; a template that can never fit is refused now.
  assertClaimsSize(
    renderObject(root, () => undefined),
    policy,
  );
  return compiled;
}

/** The template's output for one user: a fresh claims object. Pure; never throws for any user data. */
export function renderClaimTemplate<C>(compiled: CompiledClaimTemplate<C>, context: C): JsonObject {
  return renderObject(compiled.root, (node) => node.read(context));
}

interface Binding<C> {
  readonly text: string;
  readonly roots: readonly ClaimTemplateRoot<C>[];
  readonly variables: Set<string>;
}

type VariableNode<C> = Extract<TemplateNode<C>, { kind: "variable" }>;

// Recursion depth is bounded by the parser (policy.maxDepth) in both bind and render.
function bindObject<C>(node: ParsedObject, binding: Binding<C>): TemplateObjectNode<C> {
  return { kind: "object", members: node.members.map(({ key, node: child }) => ({ key, node: bind(child, binding) })) };
}

function bind<C>(node: ParsedNode, binding: Binding<C>): TemplateNode<C> {
  if (node.kind === "variable") {
    const name = node.segments.join(".");
    for (const root of binding.roots) {
      const read = root.compile(node.segments);
      if (read !== undefined) {
        binding.variables.add(name);
        return { kind: "variable", name, read };
      }
    }
    const known = binding.roots.map((root) => root.pattern).join(", ");
    throw templateError(
      binding.text,
      "unknown_variable",
      `unknown variable; known: ${known}`,
      node.offset,
      node.pointer,
      {
        variable: truncate(name),
      },
    );
  }
  const literal = literalValue(node);
  if (literal !== undefined) return { kind: "literal", value: literal };
  if (node.kind === "array") return { kind: "array", items: node.items.map((item) => bind(item, binding)) };
  // Only objects and arrays can hold a variable, and arrays were handled above.
  return bindObject(node as ParsedObject, binding);
}

function renderObject<C>(
  node: TemplateObjectNode<C>,
  read: (variable: VariableNode<C>) => JsonValue | undefined,
): JsonObject {
  const result: JsonObject = {};
  for (const { key, node: child } of node.members) {
    const value = renderNode(child, read);
    // A member whose value is null or missing is left out: "the generated claim will not be present".
    if (value !== undefined && value !== null) setOwn(result, key, value);
  }
  return result;
}

function renderNode<C>(
  node: TemplateNode<C>,
  read: (variable: VariableNode<C>) => JsonValue | undefined,
): JsonValue | undefined {
  switch (node.kind) {
    case "literal":
      return cloneJson(node.value);
    case "variable": {
      const value = read(node);
      return value === undefined || value === null ? undefined : cloneJson(value);
    }
    case "object":
      return renderObject(node, read);
    case "array": {
      const items: JsonValue[] = [];
      for (const item of node.items) {
        const value = renderNode(item, read);
        // Only a variable yields undefined here: a null or missing variable drops its element.
        if (value !== undefined) items.push(value);
      }
      return items;
    }
  }
}
