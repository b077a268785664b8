/**
 * A verifier in its own process, for verifier-process.test.ts. Reads one JSON
 * line from stdin ({ url, apiKey, jwts }), starts a verifier, prints
 * { phase: "ready", accepted } once it verified them all, then verifies the
 * JWTs not yet rejected over and over, and prints { phase: "done", reasons }
 * (one reason per JWT, "accepted" if never rejected) once all are rejected or
 * after deadlineMs.
 */
import { createInterface } from "node:readline";
import { createVerifier } from "../src/index.js";

interface Input {
  readonly url: string;
  readonly apiKey: string;
  readonly jwts: string[];
  readonly deadlineMs: number;
}

const lines = createInterface({ input: process.stdin });
const first = await new Promise<string>((resolve) => lines.once("line", resolve));
lines.close();
const input = JSON.parse(first) as Input;
const verifier = createVerifier({ url: input.url, apiKey: input.apiKey, issuer: "tessera", audience: "tessera" });
await verifier.start();
const initial = await Promise.all(input.jwts.map((jwt) => verifier.verify(jwt)));
process.stdout.write(`${JSON.stringify({ phase: "ready", accepted: initial.filter((r) => r.ok).length })}\n`);

const reasons: string[] = input.jwts.map(() => "accepted");
const deadline = Date.now() + input.deadlineMs;
while (reasons.includes("accepted") && Date.now() < deadline) {
  for (const [i, jwt] of input.jwts.entries()) {
    if (reasons[i] !== "accepted") continue;
    const result = await verifier.verify(jwt);
    if (!result.ok) reasons[i] = result.reason;
  }
  await new Promise((resolve) => setTimeout(resolve, 20));
}
process.stdout.write(`${JSON.stringify({ phase: "done", reasons })}\n`);
await verifier.close();
