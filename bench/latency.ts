/**
 * Cross-server delivery latency alone (not a test; the same probe as
 * `npm run bench`'s cluster section): three servers, a writer on a adding at
 * 200/s, a long poller on b; prints p50/p99/max from the add's ack to the
 * arrival, per round.
 *
 *   node bench/latency.ts [--runtime node|deno] [--count 1000] [--rounds 3] [-- SERVER FLAGS]
 *   LAT_DEBUG=1 node bench/latency.ts   also lists each slow (> 1 ms) delivery as "ms into the round:ms"
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import process from "node:process";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { killAllChildren, type Runtime } from "./_child.ts";
import { startBenchCluster } from "./_distchat_cluster_net.ts";
import { chatUser, probeLatency, Reader } from "./distchat_cluster.ts";
import { percentile } from "./_stats.ts";

const { values: flags, positionals } = parseArgs({
  options: {
    runtime: { type: "string", default: "node" },
    count: { type: "string", default: "1000" },
    rounds: { type: "string", default: "3" },
  },
  allowPositionals: true,
});
const runtime = flags.runtime as Runtime;
const dir = mkdtempSync(join(os.tmpdir(), "distchat-latency-"));
const c = await startBenchCluster(runtime, dir, 3, { pairProxies: false, args: ["--rate-limit", "0", ...positionals] });
try {
  const writer = await chatUser(c.servers.a.client, "probe");
  const poller = new Reader(await chatUser(c.servers.b.client, "probe"));
  await poller.start();
  await probeLatency(writer, poller, 200, 100);
  for (let r = 0; r < Number(flags.rounds); r++) {
    const p = await probeLatency(writer, poller, 200, Number(flags.count));
    const sorted = [...p.fromAck].sort((x, y) => x - y);
    console.log(
      `round ${r}: p50 ${percentile(p.fromAck, 50).toFixed(2)} p99 ${percentile(p.fromAck, 99).toFixed(2)} ` +
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
