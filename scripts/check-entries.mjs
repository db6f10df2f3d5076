// Type-checks every Deno entry module that exists, with the Deno binary
// that `npm ci` installs. Entry modules are the programs that deno.json
// tasks run; checking them checks everything they import.
import { existsSync, readdirSync } from "node:fs";
import { spawnSync } from "node:child_process";

const fixedEntries = [
  "sidecar/main.ts",
  "webhook/main.ts",
  "local/main.ts",
  "bench/run.ts",
];
const scriptEntries = readdirSync("scripts")
  .filter((name) => name.endsWith(".ts"))
  .map((name) => `scripts/${name}`);
const sharedModules = readdirSync("shared")
  .filter((name) => name.endsWith(".ts"))
  .map((name) => `shared/${name}`);

const entries = [...fixedEntries, ...scriptEntries, ...sharedModules].filter((path) => existsSync(path));
if (entries.length === 0) {
  console.log("check: no Deno entry modules yet");
  process.exit(0);
}

console.log(`check: deno check ${entries.join(" ")}`);
const result = spawnSync("deno", ["check", ...entries], { stdio: "inherit" });
process.exit(result.status ?? 1);
