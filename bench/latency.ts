/**
 * Cross-server delivery latency alone (not a test; the same probe as
 * `npm run bench`'s cluster section): three servers, a writer on a adding at
 * 200/s, a long poller on b (a's confirmer; `--poller a` reads at the origin,
 * `--poller c` at a third server: stable delivery holds a copy there until
 * b's word is in); prints p50/p99 from the add's send and from its ack to the
 * arrival, per round.
 *
 *   npm run bench:latency -- [--runtime node|deno] [--count 1000] [--rounds 3] [--poller a|b|c] [-- SERVER FLAGS]
 *   LAT_DEBUG=1 npm run bench:latency   also lists each slow (> 1 ms) delivery as "ms into the round:ms"
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import process from "node:process";
import { join } from "node:path";
import { defineCommand, fail, parseCommandLine } from "../lib/config/cli.ts";
import { killAllChildren, type Runtime } from "./_child.ts";
import { startBenchCluster } from "./_distchat_cluster_net.ts";
import { chatUser, probeLatency, Reader } from "./distchat_cluster.ts";
import { percentile } from "./_stats.ts";

const COMMAND = defineCommand({
  name: "latency",
  about: "Cross-server delivery latency: three servers, a writer on a adding at 200/s, a long poller on b.",
  usage: "npm run bench:latency -- [--runtime node|deno] [--count N] [--rounds N] [--poller a|b|c] [-- SERVER FLAGS]",
  positionals: [{ name: "-- SERVER FLAGS", help: "passed to every server.ts (e.g. -- --sync normal)" }],
  flags: {
    runtime: { type: "string", value: "node|deno", default: "node", help: "the servers' runtime" },
    count: { type: "string", value: "N", default: "1000", help: "adds per round" },
    rounds: { type: "string", value: "N", default: "3", help: "rounds" },
    poller: { type: "string", value: "a|b|c", default: "b", help: "the server the long poller reads at (the writer adds at a; b is its confirmer)" },
  },
  notes: "LAT_DEBUG=1 also lists each slow (> 1 ms) delivery as \"ms into the round:ms\".",
});
const { values: flags, positionals } = parseCommandLine(COMMAND);
if (flags.runtime !== "node" && flags.runtime !== "deno") fail("latency", `--runtime must be node or deno, got "${flags.runtime}"`);
for (const f of ["count", "rounds"] as const) {
  if (!/^[1-9]\d*$/.test(flags[f]!)) fail("latency", `--${f} must be a whole number ≥ 1, got "${flags[f]}"`);
}
if (!["a", "b", "c"].includes(flags.poller!)) fail("latency", `--poller must be a, b or c, got "${flags.poller}"`);
const runtime = flags.runtime as Runtime;
const dir = mkdtempSync(join(os.tmpdir(), "distchat-latency-"));
const c = await startBenchCluster(runtime, dir, 3, { pairProxies: false, args: ["--rate-limit", "0", ...positionals] });
try {
  const writer = await chatUser(c.servers.a.client, "probe");
  const poller = new Reader(await chatUser(c.servers[flags.poller as "a" | "b" | "c"].client, "probe"));
  await poller.start();
  await probeLatency(writer, poller, 200, 100);
  for (let r = 0; r < Number(flags.rounds); r++) {
    const p = await probeLatency(writer, poller, 200, Number(flags.count));
    const sorted = [...p.fromAck].sort((x, y) => x - y);
    console.log(
      `round ${r}: from the send p50 ${percentile(p.fromSend, 50).toFixed(2)} p99 ${percentile(p.fromSend, 99).toFixed(2)}; ` +
        `from the ack p50 ${percentile(p.fromAck, 50).toFixed(2)} p99 ${percentile(p.fromAck, 99).toFixed(2)} ` +
        `max ${sorted.at(-1)?.toFixed(2)} lost ${p.lost} top5 ${sorted.slice(-5).map((x) => x.toFixed(2)).join(",")}`,
    );
    if (process.env.LAT_DEBUG) console.log(p.fromAck.map((x, i) => [i * 5, x] as const).filter(([, x]) => x > 1).map(([t, x]) => `${t}:${x.toFixed(1)}`).join(" "));
  }
  await poller.stop();
  await writer.ep.close();
  await poller.c.ep.close();
} finally {
  await c.close();
  killAllChildren();
  rmSync(dir, { recursive: true, force: true });
}
