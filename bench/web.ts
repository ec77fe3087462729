/**
 * `npm run bench:web`: the web transport's measurements alone
 * (bench/web_transport.ts; `npm run bench` runs them too), written to a file.
 *
 *   npm run bench:web -- [--quick] [--runs N] [--runtime node|deno] [--out FILE]
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import process from "node:process";
import { defineCommand, fail, parseCommandLine } from "../lib/config/cli.ts";
import type { Runtime } from "./_child.ts";
import { renderSection } from "./_report.ts";
import { webTransport } from "./web_transport.ts";

const COMMAND = defineCommand({
  name: "bench:web",
  about: "The web transport's benchmark: fan-out, joining a huge room, cross-server delivery; UDP anchors in the same run.",
  usage: "npm run bench:web -- [--quick] [--runs N] [--runtime node|deno] [--out FILE]",
  flags: {
    quick: { type: "boolean", help: "one run of 3 fan-out rounds, a room of 100,000 instead of 1,000,000 (about 20 s)" },
    runs: { type: "string", value: "N", default: "3", help: "fan-out runs (fresh server each; median reported)" },
    runtime: { type: "string", value: "node|deno", default: "node", help: "the servers' runtime" },
    out: { type: "string", value: "FILE", default: "data/BENCHMARKS-web.md", help: "where the results go" },
  },
});
const { values: flags } = parseCommandLine(COMMAND);
if (flags.runtime !== "node" && flags.runtime !== "deno") fail("bench:web", `--runtime must be node or deno, got "${flags.runtime}"`);
if (!/^[1-9]\d?$/.test(flags.runs!)) fail("bench:web", `--runs must be a whole number from 1 to 99, got "${flags.runs}"`);
const m = webTransport(flags.runtime as Runtime);
const started = Date.now();
const result = await m.run({ quick: flags.quick === true, runs: Number(flags.runs), tmp: "", log: (s) => console.error(s) });
const text = `${renderSection(m.title, result, (Date.now() - started) / 1000)}\nWritten by \`npm run bench:web${flags.quick ? " -- --quick" : ""}${flags.runtime === "deno" ? " -- --runtime deno" : ""}\` on ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC.\n`;
mkdirSync(dirname(flags.out!), { recursive: true });
writeFileSync(flags.out!, text);
console.log(text);
console.error(`written to ${flags.out}`);
process.exit(0);
