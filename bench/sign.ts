/**
 * `npx tsx bench/sign.ts [N]`: per compact JWS, CPU of this process (all
 * threads, process.cpuUsage), main-thread busy time (event loop utilization)
 * and signs/s, for jose's WebCrypto CompactSign and src/tokens/jws-sign.ts
 * (node:crypto, synchronous and on the libuv pool), 64 signs in flight, for
 * each algorithm. CPU time is less disturbed by other load than throughput.
 */

import { createPrivateKey } from "node:crypto";
import { CompactSign, exportJWK, generateKeyPair } from "jose";
import type { JwtAlgorithm } from "../src/config.js";
import { signCompactJws, signCompactJwsOnPool } from "../src/tokens/jws-sign.js";

const N = Number(process.argv[2] ?? 4000);
const CONCURRENCY = 64;
const payload = JSON.stringify({ sub: "user-1", plan: "pro", "https://tessera.dev/session": { id: "x".repeat(36) } });

async function time(name: string, sign: () => Promise<unknown> | unknown): Promise<void> {
  for (let i = 0; i < 200; i++) await sign();
  const cpu = process.cpuUsage();
  const elu = performance.eventLoopUtilization();
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next++ < N) await sign();
    }),
  );
  const wall = performance.now() - started;
  const used = process.cpuUsage(cpu);
  const us = (used.user + used.system) / N;
  // Main-thread busy time (event loop utilization): what a single-threaded server pays per sign.
  const main = (performance.eventLoopUtilization(elu).active * 1000) / N;
  const rate = (N / wall) * 1000;
  process.stdout.write(
    `${name.padEnd(32)} ${us.toFixed(0).padStart(4)} µs CPU (all threads) ${main.toFixed(0).padStart(4)} µs main thread ${rate.toFixed(0).padStart(6)} signs/s\n`,
  );
}

for (const alg of ["ES256", "EdDSA", "RS256"] as JwtAlgorithm[]) {
  const { privateKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = await exportJWK(privateKey);
  const keyObject = createPrivateKey({ key: jwk as import("node:crypto").JsonWebKey, format: "jwk" });
  const header = { alg, kid: "0".repeat(36), typ: "JWT" };
  const bytes = new TextEncoder().encode(payload);
  await time(`${alg} jose (WebCrypto)`, () => new CompactSign(bytes).setProtectedHeader(header).sign(privateKey));
  await time(`${alg} node:crypto sign`, () => signCompactJws(alg, keyObject, JSON.stringify(header), payload));
  await time(`${alg} node:crypto sign, callback`, () =>
    signCompactJwsOnPool(alg, keyObject, JSON.stringify(header), payload),
  );
}
