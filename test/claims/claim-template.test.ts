import { describe, expect, it } from "vitest";
import type {
  ClaimsPolicy,
  ClaimTemplateRoot,
  ClaimTemplateUser,
  JsonObject,
  JsonValue,
} from "../../src/claims/index.js";
import {
  compileClaimTemplate,
  DEFAULT_CLAIMS_POLICY,
  DEFAULT_MAX_TEMPLATE_BYTES,
  objectRoot,
  RESERVED_CLAIMS,
  readsRbacPolicy,
  renderClaimTemplate,
  USER_TEMPLATE_ROOTS,
  valueRoot,
} from "../../src/claims/index.js";
import type { ClaimTemplateProblem } from "../../src/errors.js";
import { ClaimsTooLargeError, ClaimTemplateTooLargeError, InvalidClaimTemplateError } from "../../src/errors.js";
import type { RbacPolicy } from "../../src/rbac/rbac-policy.js";
import { containersOf, deepFreeze, expectClaimsError, SECRET } from "./helpers.js";

const policy = DEFAULT_CLAIMS_POLICY;

function render(text: string, user: Partial<ClaimTemplateUser> = {}): JsonObject {
  return renderClaimTemplate(compileClaimTemplate(text, policy), { userId: "user-test-1", ...user });
}

function expectTemplateError(
  text: string,
  problem: ClaimTemplateProblem,
  line: number,
  column: number,
  path = "",
  templatePolicy: ClaimsPolicy = policy,
): InvalidClaimTemplateError {
  const err = expectClaimsError(
    () => compileClaimTemplate(text, templatePolicy),
    InvalidClaimTemplateError,
    "INVALID_CLAIM_TEMPLATE",
  );
  expect({ problem: err.problem, line: err.line, column: err.column, path: err.path }).toStrictEqual({
    problem,
    line,
    column,
    path,
  });
  expect(err.metadata).toMatchObject({ problem, line: String(line), column: String(column), path });
  expect(err.kind).toBe("invalid_argument");
  expect(err.message).toContain(`line ${line}, column ${column}`);
  return err;
}

// Rules quoted from https://stytch.com/docs/guides/sessions/custom-claim-templates ("Custom Claim Template
// Markup Syntax") and https://stytch.com/docs/consumer-auth/manage-sessions/custom-claims ("Markup syntax").
describe("Stytch's documented rules", () => {
  it("uses {{ variable }} syntax to pass information in at render time", () => {
    expect(render('{"plan": {{ user.trusted_metadata.plan }}}', { trustedMetadata: { plan: "pro" } })).toStrictEqual({
      plan: "pro",
    });
  });

  it("uses dot notation for nested fields: {{ user.trusted_metadata.subscription.level }}", () => {
    const text = '{"level": {{ user.trusted_metadata.subscription.level }}}';
    expect(render(text, { trustedMetadata: { subscription: { level: "gold", seats: 5 } } })).toStrictEqual({
      level: "gold",
    });
  });

  it.each<[string, JsonValue]>([
    ["a string", "s"],
    ["a number", 1.5],
    ["zero", 0],
    ["false", false],
    ["an empty string", ""],
    ["an object", { a: { b: [1, "x"] } }],
    ["an empty object", {}],
    ["an array", [1, { a: null }, null]],
    ["an empty array", []],
  ])("a variable can evaluate to %s, inserted as it is", (_label, value) => {
    expect(render('{"v": {{ user.trusted_metadata.v }}}', { trustedMetadata: { v: value } })).toStrictEqual({
      v: value,
    });
  });

  it("a variable that evaluates to null leaves its claim out", () => {
    expect(render('{"v": {{ user.trusted_metadata.v }}, "k": 1}', { trustedMetadata: { v: null } })).toStrictEqual({
      k: 1,
    });
  });

  it.each<[string, string, Partial<ClaimTemplateUser>]>([
    ["an absent key", "user.trusted_metadata.nope", { trustedMetadata: { v: 1 } }],
    ["absent metadata", "user.trusted_metadata.v", {}],
    ["null metadata", "user.untrusted_metadata.v", { untrustedMetadata: null }],
    ["a step into a string", "user.trusted_metadata.v.length", { trustedMetadata: { v: "abc" } }],
    ["a step into a number", "user.trusted_metadata.v.x", { trustedMetadata: { v: 1 } }],
    ["a step into an array (no indexing)", "user.trusted_metadata.v.0", { trustedMetadata: { v: ["a"] } }],
    ["a step into null", "user.trusted_metadata.v.x", { trustedMetadata: { v: null } }],
    ["an inherited name (constructor)", "user.trusted_metadata.constructor", { trustedMetadata: {} }],
    ["an inherited name (toString)", "user.trusted_metadata.toString", { trustedMetadata: {} }],
    ["an inherited name (__proto__)", "user.trusted_metadata.__proto__", { trustedMetadata: {} }],
    ["absent roles", "user.roles", {}],
    ["null roles", "user.roles", { roles: null }],
  ])("a variable that reaches for a value that does not exist (%s) leaves its claim out", (_label, path, user) => {
    expect(render(`{"v": {{ ${path} }}, "k": 1}`, user)).toStrictEqual({ k: 1 });
  });

  it.each<[string, string, Partial<ClaimTemplateUser>, JsonValue]>([
    ["user.user_id", "user.user_id", {}, "user-test-1"],
    ["user.trusted_metadata (the whole object)", "user.trusted_metadata", { trustedMetadata: { a: 1 } }, { a: 1 }],
    ["user.trusted_metadata.<path>", "user.trusted_metadata.a.b", { trustedMetadata: { a: { b: 2 } } }, 2],
    [
      "user.untrusted_metadata (the whole object)",
      "user.untrusted_metadata",
      { untrustedMetadata: { u: 1 } },
      { u: 1 },
    ],
    ["user.untrusted_metadata.<path>", "user.untrusted_metadata.u", { untrustedMetadata: { u: true } }, true],
    ["user.roles", "user.roles", { roles: ["stytch_user", "editor"] }, ["stytch_user", "editor"]],
    ["user.roles (empty)", "user.roles", { roles: [] }, []],
  ])("supports the variable %s", (_label, path, user, expected) => {
    expect(render(`{"v": {{ ${path} }}}`, user)).toStrictEqual({ v: expected });
  });

  it("keeps trusted and untrusted metadata apart", () => {
    const text = '{"t": {{ user.trusted_metadata.k }}, "u": {{ user.untrusted_metadata.k }}}';
    expect(render(text, { trustedMetadata: { k: "trusted" }, untrustedMetadata: { k: "untrusted" } })).toStrictEqual({
      t: "trusted",
      u: "untrusted",
    });
  });

  it("variables can only be used as JSON values: anywhere a value may stand, at any depth and in arrays", () => {
    const text = `{
      "https://hasura.io/jwt/claims": {
        "x-hasura-default-role": "user",
        "x-hasura-allowed-roles": {{ user.roles }},
        "x-hasura-user-id": {{ user.user_id }}
      },
      "list": [{{ user.user_id }}, {"id": {{ user.user_id }}}, [{{ user.trusted_metadata.n }}]]
    }`;
    expect(render(text, { roles: ["user", "admin"], trustedMetadata: { n: 3 } })).toStrictEqual({
      "https://hasura.io/jwt/claims": {
        "x-hasura-default-role": "user",
        "x-hasura-allowed-roles": ["user", "admin"],
        "x-hasura-user-id": "user-test-1",
      },
      list: ["user-test-1", { id: "user-test-1" }, [3]],
    });
  });

  it("variables cannot be used as object keys (bare)", () => {
    expectTemplateError("{ {{ user.user_id }}: 1}", "variable_as_key", 1, 3);
  });

  it("variables cannot be used as object keys (quoted)", () => {
    expectTemplateError('{"{{ user.user_id }}": 1}', "variable_as_key", 1, 3);
  });
});

describe("Tessera's decisions where the docs are silent", () => {
  it("whitespace inside the braces is optional and may span lines", () => {
    expect(render('{"a": {{user.user_id}}, "b": {{\n\tuser.user_id\n}}}')).toStrictEqual({
      a: "user-test-1",
      b: "user-test-1",
    });
  });

  it("a null or missing variable in an array drops that element", () => {
    const text = '{"roles": ["viewer", {{ user.trusted_metadata.extra }}, {{ user.trusted_metadata.none }}, "end"]}';
    expect(render(text, { trustedMetadata: { none: null } })).toStrictEqual({ roles: ["viewer", "end"] });
    expect(render(text, { trustedMetadata: { extra: "admin" } })).toStrictEqual({ roles: ["viewer", "admin", "end"] });
  });

  it("a literal null member is left out like a null variable; a literal null in an array stays", () => {
    expect(render('{"a": null, "b": {"c": null, "d": [null, {"e": null}]}}')).toStrictEqual({
      b: { d: [null, {}] },
    });
  });

  it("an object whose every variable is missing stays as {}", () => {
    expect(render('{"org": {"id": {{ user.trusted_metadata.org_id }}}}')).toStrictEqual({ org: {} });
  });

  it("a template without variables renders as written, fresh each time", () => {
    const template = compileClaimTemplate('{"a": {"b": [1, "two", true]}, "c": -0.5e1}', policy);
    expect(template.variables).toStrictEqual([]);
    const first = renderClaimTemplate(template, { userId: "u" });
    expect(first).toStrictEqual({ a: { b: [1, "two", true] }, c: -5 });
    ((first["a"] as JsonObject)["b"] as JsonValue[]).push("mutated");
    expect(renderClaimTemplate(template, { userId: "u" })).toStrictEqual({ a: { b: [1, "two", true] }, c: -5 });
  });

  it("an empty object is a valid template", () => {
    expect(render(" {} \n")).toStrictEqual({});
  });

  it("nested objects may use reserved names; only the top level is reserved", () => {
    expect(render('{"o": {"iss": 1, "https://tessera.dev/x": 2}}')).toStrictEqual({
      o: { iss: 1, "https://tessera.dev/x": 2 },
    });
  });

  it("a string may hold {{ alone, and an escaped brace writes a literal {{...}}", () => {
    expect(render('{"a": "x {{ y", "b": "y }} z", "c": "\\u007b{ user.user_id }}"}')).toStrictEqual({
      a: "x {{ y",
      b: "y }} z",
      c: "{{ user.user_id }}",
    });
  });

  it("decodes JSON string escapes in keys and values", () => {
    expect(render('{"k\\n\\u00e9\\"": "v\\t\\\\\\/"}')).toStrictEqual({ 'k\né"': "v\t\\/" });
  });

  it("names may use Unicode letters, digits, _ and -", () => {
    const text = '{"a": {{ user.trusted_metadata.größe }}, "b": {{ user.trusted_metadata.x-1_2 }}}';
    expect(render(text, { trustedMetadata: { größe: 1, "x-1_2": 2 } })).toStrictEqual({ a: 1, b: 2 });
  });

  it("lists the variables a template reads, once each, in order of first use", () => {
    const template = compileClaimTemplate(
      '{"a": {{ user.roles }}, "b": [{{user.user_id}}, {{ user.roles }}], "c": {{ user.trusted_metadata.x.y }}}',
      policy,
    );
    expect(template.variables).toStrictEqual(["user.roles", "user.user_id", "user.trusted_metadata.x.y"]);
  });

  it("the output shares no object with the user's data and leaves it unchanged", () => {
    const user = deepFreeze({ userId: "u", trustedMetadata: { org: { id: 1, tags: ["a"] } }, roles: ["r"] });
    const out = renderClaimTemplate(
      compileClaimTemplate(
        '{"o": {{ user.trusted_metadata.org }}, "t": {{ user.trusted_metadata }}, "r": {{ user.roles }}}',
        policy,
      ),
      user,
    );
    expect(out).toStrictEqual({ o: { id: 1, tags: ["a"] }, t: { org: { id: 1, tags: ["a"] } }, r: ["r"] });
    const shared = [...containersOf(out)].filter((item) => containersOf(user).has(item));
    expect(shared).toStrictEqual([]);
  });
});

describe.each(["__proto__", "constructor", "prototype"])("the key %s is data in templates", (key) => {
  it("as a template key, at the top level and nested", () => {
    const out = render(`{"${key}": {"polluted": 1}, "n": {"${key}": {{ user.user_id }}}}`);
    expect(JSON.stringify(out)).toBe(`{"${key}":{"polluted":1},"n":{"${key}":"user-test-1"}}`);
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined();
  });

  it("as a metadata path segment, reading only an own key", () => {
    const metadata = JSON.parse(`{"${key}": {"x": "own"}}`) as JsonObject;
    expect(render(`{"v": {{ user.trusted_metadata.${key}.x }}}`, { trustedMetadata: metadata })).toStrictEqual({
      v: "own",
    });
    expect(render(`{"v": {{ user.trusted_metadata.${key} }}, "k": 1}`, { trustedMetadata: {} })).toStrictEqual({
      k: 1,
    });
  });

  it("inside a metadata value copied into the output", () => {
    const metadata = JSON.parse(`{"m": {"${key}": {"polluted": 1}}}`) as JsonObject;
    const out = render('{"m": {{ user.trusted_metadata.m }}}', { trustedMetadata: metadata });
    expect(JSON.stringify(out)).toBe(`{"m":{"${key}":{"polluted":1}}}`);
    expect(Object.getPrototypeOf(out["m"])).toBe(Object.prototype);
    expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined();
  });
});

describe("compile errors name the problem, line and column (1-based, in characters) and never a value", () => {
  it.each<[string, string, ClaimTemplateProblem, number, number, string]>([
    ["an empty template", "", "syntax", 1, 1, ""],
    ["only whitespace", "  \n  ", "syntax", 2, 3, ""],
    ["a missing comma", '{\n  "a": 1\n  "b": 2\n}', "syntax", 3, 3, ""],
    ["a trailing comma in an object", '{\n  "a": 1,\n}', "syntax", 3, 1, ""],
    ["a trailing comma in an array", '{"a": [1,\n 2,\n]}', "syntax", 3, 1, "/a/2"],
    ["a missing colon", '{"a" 1}', "syntax", 1, 6, "/a"],
    ["a non-string key", "{\n  a: 1}", "syntax", 2, 3, ""],
    ["a single-quoted string", "{\n  \"a\": 's3cret-claim-value'}", "syntax", 2, 8, "/a"],
    ["a raw newline in a string", '{\n  "a": "abc\n"}', "syntax", 2, 12, "/a"],
    ["an unterminated string", '{"a": "s3cret-claim-value', "syntax", 1, 7, "/a"],
    ["a bad escape", '{"a": "x\\q"}', "syntax", 1, 9, "/a"],
    ["a short \\u escape", '{"a": "\\u12"}', "syntax", 1, 8, "/a"],
    ["an unclosed object", '{"a": 1', "syntax", 1, 8, ""],
    ["an unclosed array", '{"a": [1', "syntax", 1, 9, "/a"],
    ["text after the object", "{}\n{}", "syntax", 2, 1, ""],
    ["a leading zero", '{"a": 01}', "syntax", 1, 8, ""],
    ["a lone minus", '{"a": -}', "syntax", 1, 7, "/a"],
    ["a trailing decimal point", '{"a": 1.}', "syntax", 1, 8, ""],
    ["an unknown word", '{"a": True}', "syntax", 1, 7, "/a"],
    ["a byte order mark", "\uFEFF{}", "syntax", 1, 1, ""],
    ["a comment", '{"a": 1 // note\n}', "syntax", 1, 9, ""],
    ["an unclosed variable", '{"a": {{ user.user_id }', "syntax", 1, 23, "/a"],
    ["an empty variable", '{"a": {{ }}}', "syntax", 1, 10, "/a"],
    ["a trailing dot in a variable", '{"a": {{ user. }}}', "syntax", 1, 15, "/a"],
    ["a space inside a variable name", '{"a": {{ user.user id }}}', "syntax", 1, 20, "/a"],
    ["a filter-like suffix", '{"a": {{ user.user_id | upper }}}', "syntax", 1, 23, "/a"],
    ["a number out of range", '{\n  "a": 1e400}', "invalid_number", 2, 8, "/a"],
    ["an array at the top", "\n  [1]", "not_an_object", 2, 3, ""],
    ["a string at the top", '"s3cret-claim-value"', "not_an_object", 1, 1, ""],
    ["a number at the top", "42", "not_an_object", 1, 1, ""],
    ["null at the top", "null", "not_an_object", 1, 1, ""],
    ["a variable at the top", "{{ user.trusted_metadata }}", "not_an_object", 1, 1, ""],
    ["a bare word at the top", "claims", "syntax", 1, 1, ""],
    ["a bare variable as a key", '{\n  "a": 1,\n  {{ user.user_id }}: 2\n}', "variable_as_key", 3, 3, ""],
    ["a quoted variable as a key", '{\n  "{{ user.user_id }}": 1\n}', "variable_as_key", 2, 4, ""],
    ["a variable inside a nested key", '{"o": {\n "x{{user.user_id}}": 1}}', "variable_as_key", 2, 4, "/o"],
    [
      "a quoted variable as the whole value",
      '{\n  "role": "{{ user.trusted_metadata.role }}"\n}',
      "variable_in_string",
      2,
      12,
      "/role",
    ],
    [
      "a variable embedded in a longer string",
      '{"greeting": "hello {{ user.user_id }}!"}',
      "variable_in_string",
      1,
      21,
      "/greeting",
    ],
    ["a variable in a string in an array", '{"a": [1, "{{user.roles}}"]}', "variable_in_string", 1, 12, "/a/1"],
    ["an unknown user field", '{\n  "e": {{ user.email }}\n}', "unknown_variable", 2, 8, "/e"],
    ["another root (member)", '{"e": {{ member.trusted_metadata.x }}}', "unknown_variable", 1, 7, "/e"],
    ["the bare root", '{"e": {{ user }}}', "unknown_variable", 1, 7, "/e"],
    ["a path below user.user_id", '{"e": {{ user.user_id.x }}}', "unknown_variable", 1, 7, "/e"],
    ["a path below user.roles", '{"e": {{ user.roles.0 }}}', "unknown_variable", 1, 7, "/e"],
    ["the bare RBAC root", '{"e": {{ user.rbac }}}', "unknown_variable", 1, 7, "/e"],
    ["an RBAC resource without .actions", '{"e": {{ user.rbac.documents }}}', "unknown_variable", 1, 7, "/e"],
    ["a case mismatch", '{"e": {{ User.user_id }}}', "unknown_variable", 1, 7, "/e"],
    ["a reserved claim", '{\n  "ok": 1,\n  "exp": "s3cret-claim-value"\n}', "reserved_claim", 3, 3, "/exp"],
    [
      "a namespaced claim",
      '{"https://tessera.dev/role": {{ user.roles }}}',
      "reserved_claim",
      1,
      2,
      "/https:~1~1tessera.dev~1role",
    ],
    ["a duplicate top-level key", '{"a": 1, "a": 2}', "duplicate_key", 1, 10, "/a"],
    ["a duplicate nested key", '{"a": {"b": "s3cret-claim-value",\n "b": 2}}', "duplicate_key", 2, 2, "/a/b"],
    ["a duplicate key spelled with an escape", '{"a": 1, "\\u0061": 2}', "duplicate_key", 1, 10, "/a"],
  ])("%s", (_label, text, problem, line, column, path) => {
    expectTemplateError(text, problem, line, column, path);
  });

  it.each(RESERVED_CLAIMS)("refuses the reserved claim %s at the top level, naming it", (claim) => {
    const err = expectTemplateError(`{\n\t"${claim}": "${SECRET}"}`, "reserved_claim", 2, 2, `/${claim}`);
    expect(err.metadata["claim"]).toBe(claim);
  });

  it("reports the unknown variable's name and the known patterns", () => {
    const err = expectTemplateError('{"e": {{ user.email }}}', "unknown_variable", 1, 7, "/e");
    expect(err.metadata["variable"]).toBe("user.email");
    expect(err.message).toContain("user.trusted_metadata[.<path>]");
  });

  it("counts CR LF and a lone CR as one line break each, and a tab as one column", () => {
    expectTemplateError('{\r\n  "a": 1,\r\n\t"iss": 2\r\n}', "reserved_claim", 3, 2, "/iss");
    expectTemplateError('{\r"iss": 1}', "reserved_claim", 2, 1, "/iss");
  });

  it("counts an emoji (two UTF-16 units) as one column", () => {
    expectTemplateError('{"😀": 1, "x": {{ user.nope }}}', "unknown_variable", 1, 15, "/x");
  });

  it("cuts long names short in metadata", () => {
    const long = "k".repeat(500);
    const err = expectTemplateError(`{"${long}": 1, "${long}": 2}`, "duplicate_key", 1, 509, `/${"k".repeat(199)}…`);
    expect(err.message.length).toBeLessThan(300);
  });
});

describe("limits", () => {
  const shallow: ClaimsPolicy = { ...policy, maxDepth: 3 };

  it("accepts nesting of exactly policy.maxDepth levels (objects and arrays)", () => {
    expect(() => compileClaimTemplate('{"a": {"b": {"c": 1}}}', shallow)).not.toThrow();
    expect(() => compileClaimTemplate('{"a": [[{{ user.roles }}]]}', shallow)).not.toThrow();
  });

  it("refuses one level more, at the opening bracket", () => {
    expectTemplateError('{"a": {"b": {\n  "c": {}}}}', "too_deep", 2, 8, "/a/b/c", shallow);
    expectTemplateError('{"a": [[[]]]}', "too_deep", 1, 9, "/a/0/0", shallow);
  });

  it("refuses a 100,000-deep template without overflowing the stack", () => {
    const text = `${'{"a":'.repeat(100_000)}1${"}".repeat(100_000)}`;
    const err = expectClaimsError(
      () => compileClaimTemplate(text, policy, { maxTemplateBytes: 1_000_000 }),
      InvalidClaimTemplateError,
      "INVALID_CLAIM_TEMPLATE",
    );
    expect(err.problem).toBe("too_deep");
    expect(err.column).toBe(5 * 32 + 1);
  });

  it(`accepts template text of exactly ${DEFAULT_MAX_TEMPLATE_BYTES} bytes by default and refuses one more`, () => {
    const padded = (bytes: number) => `{${" ".repeat(bytes - 2)}}`;
    expect(DEFAULT_MAX_TEMPLATE_BYTES).toBe(16_384);
    expect(() => compileClaimTemplate(padded(16_384), policy)).not.toThrow();
    const err = expectClaimsError(
      () => compileClaimTemplate(padded(16_385), policy),
      ClaimTemplateTooLargeError,
      "CLAIM_TEMPLATE_TOO_LARGE",
    );
    expect(err.metadata).toStrictEqual({ size: "16385", limit: "16384" });
  });

  it("counts template bytes as UTF-8 and takes a custom limit", () => {
    const text = '{"é": 1}'; // 9 bytes: é is two.
    expect(() => compileClaimTemplate(text, policy, { maxTemplateBytes: 9 })).not.toThrow();
    expectClaimsError(
      () => compileClaimTemplate(text, policy, { maxTemplateBytes: 8 }),
      ClaimTemplateTooLargeError,
      "CLAIM_TEMPLATE_TOO_LARGE",
    );
  });

  it("refuses a template whose output is over the claims limit even with every variable missing", () => {
    const fits = `{"a": "${"x".repeat(4096 - 8)}", "v": {{ user.trusted_metadata.big }}}`;
    expect(() => compileClaimTemplate(fits, policy)).not.toThrow();
    const tooBig = `{"a": "${"x".repeat(4096 - 7)}", "v": {{ user.trusted_metadata.big }}}`;
    const err = expectClaimsError(() => compileClaimTemplate(tooBig, policy), ClaimsTooLargeError, "CLAIMS_TOO_LARGE");
    expect(err.metadata).toStrictEqual({ size: "4097", limit: "4096" });
  });

  it("does not bound the rendered output: the session service checks effective claims as a whole", () => {
    const template = compileClaimTemplate('{"v": {{ user.trusted_metadata.big }}}', policy);
    const out = renderClaimTemplate(template, { userId: "u", trustedMetadata: { big: "x".repeat(10_000) } });
    expect((out["v"] as string).length).toBe(10_000);
  });
});

describe("RBAC variables (Stytch's user.rbac.roles and user.rbac.<resource_id>.actions)", () => {
  // https://stytch.com/docs/consumer-auth/manage-sessions/custom-claims, "User RBAC values".
  const rbacPolicy: RbacPolicy = {
    resources: [
      { resource_id: "documents", description: "", actions: ["read", "write", "delete"] },
      { resource_id: "my-resource", description: "", actions: ["read"] },
      { resource_id: "billing", description: "", actions: ["view"] },
    ],
    roles: [
      { role_id: "stytch_user", description: "", permissions: [{ resource_id: "my-resource", actions: ["read"] }] },
      { role_id: "editor", description: "", permissions: [{ resource_id: "documents", actions: ["write", "read"] }] },
      { role_id: "admin", description: "", permissions: [{ resource_id: "documents", actions: ["*"] }] },
    ],
    scopes: [],
  };
  const text = `{
      "roles": {{ user.rbac.roles }},
      "documents": {{ user.rbac.documents.actions }},
      "mine": {{ user.rbac.my-resource.actions }},
      "billing": {{ user.rbac.billing.actions }},
      "unknown": {{ user.rbac.nope.actions }},
      "id": {{ user.user_id }}
    }`;
  const userWith = (roles: string[], withPolicy = true): ClaimTemplateUser => ({
    userId: "u1",
    rbac: { roles, ...(withPolicy ? { policy: rbacPolicy } : {}) },
  });

  it("renders roles, and each resource's allowed actions in the order the resource declares them", () => {
    const template = compileClaimTemplate(text, policy);
    expect(renderClaimTemplate(template, userWith(["stytch_user", "editor"]))).toStrictEqual({
      roles: ["stytch_user", "editor"],
      documents: ["read", "write"],
      mine: ["read"],
      billing: [],
      id: "u1",
    });
  });

  it("a wildcard grants every action the resource declares", () => {
    const template = compileClaimTemplate('{"d": {{ user.rbac.documents.actions }}}', policy);
    expect(renderClaimTemplate(template, userWith(["admin"]))).toStrictEqual({ d: ["read", "write", "delete"] });
  });

  it("without a policy in the context the actions are missing, and without rbac the roles too", () => {
    const template = compileClaimTemplate(text, policy);
    expect(renderClaimTemplate(template, userWith(["editor"], false))).toStrictEqual({ roles: ["editor"], id: "u1" });
    expect(renderClaimTemplate(template, { userId: "u1" })).toStrictEqual({ id: "u1" });
  });

  it("a resource named like an inherited property is looked up as policy data only", () => {
    const template = compileClaimTemplate('{"a": {{ user.rbac.constructor.actions }}}', policy);
    expect(renderClaimTemplate(template, userWith(["admin"]))).toStrictEqual({});
  });

  it("tells which templates read the policy", () => {
    expect(readsRbacPolicy(compileClaimTemplate(text, policy).variables)).toBe(true);
    expect(readsRbacPolicy(compileClaimTemplate('{"r": {{ user.rbac.roles }}}', policy).variables)).toBe(false);
  });
});

describe("pluggable roots", () => {
  interface EmailUser extends ClaimTemplateUser {
    readonly email: string;
  }
  const roots: readonly ClaimTemplateRoot<EmailUser>[] = [
    ...(USER_TEMPLATE_ROOTS as readonly ClaimTemplateRoot<EmailUser>[]),
    valueRoot<EmailUser>("user.email", (context) => context.email),
  ];

  it("adding a row to the table adds its variable, next to the default ones", () => {
    const template = compileClaimTemplate<EmailUser>('{"email": {{ user.email }}, "id": {{ user.user_id }}}', policy, {
      roots,
    });
    expect(renderClaimTemplate(template, { userId: "u1", email: "a@example.com" })).toStrictEqual({
      email: "a@example.com",
      id: "u1",
    });
  });

  it("paths outside every row stay refused, listing the table's patterns", () => {
    const err = expectClaimsError(
      () => compileClaimTemplate<EmailUser>('{"a": {{ user.email.domain }}}', policy, { roots }),
      InvalidClaimTemplateError,
      "INVALID_CLAIM_TEMPLATE",
    );
    expect(err.problem).toBe("unknown_variable");
    expect(err.message).toContain("user.email");
    expect(err.message).toContain("user.rbac.<resource_id>.actions");
  });

  it("another table entirely: Stytch's M2M example {{ request.user_id }}", () => {
    // https://stytch.com/docs/consumer-auth/authentication/m2m/custom-claims: { "user_id": {{ request.user_id }} }
    const requestRoots = [objectRoot<{ request: JsonObject }>("request", (context) => context.request)];
    const template = compileClaimTemplate('{\n  "user_id": {{ request.user_id }}\n}', policy, { roots: requestRoots });
    expect(renderClaimTemplate(template, { request: { user_id: "123" } })).toStrictEqual({ user_id: "123" });
    expectClaimsError(
      () => compileClaimTemplate('{"a": {{ user.user_id }}}', policy, { roots: requestRoots }),
      InvalidClaimTemplateError,
      "INVALID_CLAIM_TEMPLATE",
    );
  });
});
