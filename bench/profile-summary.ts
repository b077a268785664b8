/**
 * Sums the self time of a V8 .cpuprofile (as `--cpu-prof` writes) by function
 * and by owner (package, Node internals, our files), over busy samples only.
 * Usage: npx tsx bench/profile-summary.ts FILE.cpuprofile [TOP]
 */
import { readFileSync } from "node:fs";

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { functionName: string; url: string; lineNumber: number };
  readonly children?: number[];
}
interface Profile {
  readonly nodes: ProfileNode[];
  readonly samples: number[];
  readonly timeDeltas: number[];
}

const [file, topArg] = process.argv.slice(2);
if (file === undefined) throw new Error("usage: profile-summary FILE.cpuprofile [TOP]");
const profile = JSON.parse(readFileSync(file, "utf8")) as Profile;
const top = Number(topArg ?? 40);
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const selfUs = new Map<number, number>();
profile.samples.forEach((id, i) => {
  selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
});

/** The owner of a frame: an npm package, a node: module, a file of ours, or a V8 pseudo-frame. */
function owner(url: string, name: string): string {
  if (url === "") return `(${name || "native"})`;
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1] ?? url;
  if (url.startsWith("node:")) return url;
  const ours = /\/(dist\/)?(src|gen)\/(.*)$/.exec(url);
  return ours ? `${ours[2]}/${ours[3]}` : url;
}

const byFunction = new Map<string, number>();
const byOwner = new Map<string, number>();
let busy = 0;
let idle = 0;
for (const [id, us] of selfUs) {
  const { functionName, url, lineNumber } = byId.get(id)?.callFrame ?? { functionName: "?", url: "", lineNumber: 0 };
  if (functionName === "(idle)" || functionName === "(program)") {
    if (functionName === "(idle)") idle += us;
    else busy += us;
    if (functionName === "(idle)") continue;
  } else busy += us;
  const o = owner(url, functionName);
  byOwner.set(o, (byOwner.get(o) ?? 0) + us);
  const f = `${functionName || "(anonymous)"} ${o}:${lineNumber + 1}`;
  byFunction.set(f, (byFunction.get(f) ?? 0) + us);
}

const print = (title: string, map: Map<string, number>) => {
  console.log(`\n${title}`);
  for (const [k, us] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`${((100 * us) / busy).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(6)} ms  ${k}`);
  }
};
console.log(`busy ${(busy / 1000).toFixed(0)} ms, idle ${(idle / 1000).toFixed(0)} ms`);
print("self time by owner", byOwner);
print("self time by function", byFunction);
