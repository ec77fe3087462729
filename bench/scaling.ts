/**
 * The scaling ceiling of the full mesh (issue 14, docs/SCALING.md): the real
 * replication engine (lib/replication/replicator.ts, with the real codec and
 * HMAC) on the deterministic in-memory network (testing/sim_network.ts), no
 * sockets. For clusters of N = 3, 5, 9, 25 and 49 servers with 100 ms links
 * and 1% loss, a steady rate of new messages at random servers; per N:
 * datagrams per message (Maelstrom's msgs-per-op), median and max time from
 * a message's commit at its origin to its delivery on every server,
 * heartbeat traffic at idle, vector and datagram sizes. The servers' `got`
 * datagrams (lib/server/peer_port.ts, for two-disk acks: every 250 ms to the
 * 3 servers before it in servers.txt order, every second to the others, and
 * after each confirming commit to the origin and those 3) are not part of
 * the engine: they are counted beside, from one real GotSchedule
 * (lib/acks/gots.ts) per server on the simulation's clock (bench/_got_sim.ts).
 *
 *   npm run bench:scaling -- [--rate OPS_PER_S] [--seconds S] [--loss P] [--sizes 3,5,9,25,49] [--out FILE]
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import process from "node:process";
import { defineCommand, fail, parseCommandLine } from "../lib/config/cli.ts";
import { formatVector } from "../lib/wire/vector.ts";
import { formatNumber, percentile } from "./_stats.ts";
import { LATENCY_MS, timedSim } from "./_timed_sim.ts";
import { GotSim } from "./_got_sim.ts";

const COMMAND = defineCommand({
  name: "bench:scaling",
  about: "The full mesh's scaling ceiling, simulated: N servers, 100 ms links, loss, a steady rate of messages.",
  usage: "npm run bench:scaling -- [--rate N] [--seconds S] [--loss P] [--sizes LIST] [--out FILE]",
  flags: {
    rate: { type: "string", value: "N", default: "100", help: "new messages a second, cluster-wide (as Gossip Glomers 3d/3e)" },
    seconds: { type: "string", value: "S", default: "10", help: "how long messages come" },
    loss: { type: "string", value: "P", default: "0.01", help: "probability a datagram is lost" },
    sizes: { type: "string", value: "LIST", default: "3,5,9,25,49", help: "cluster sizes" },
    out: { type: "string", value: "FILE", default: "data/SCALING.md", help: "where the table goes" },
  },
});
const { values: flags } = parseCommandLine(COMMAND);
const rate = Number(flags.rate), seconds = Number(flags.seconds), loss = Number(flags.loss);
const sizes = flags.sizes!.split(",").map(Number);
if (!(rate > 0 && rate <= 2000)) fail("bench:scaling", `--rate must be from 1 to 2000, got "${flags.rate}"`);
if (!(seconds > 0 && seconds <= 120)) fail("bench:scaling", `--seconds must be from 1 to 120, got "${flags.seconds}"`);
if (!(loss >= 0 && loss < 0.5)) fail("bench:scaling", `--loss must be from 0 to 0.5, got "${flags.loss}"`);
if (sizes.some((n) => !Number.isInteger(n) || n < 2 || n > 100)) fail("bench:scaling", `--sizes: whole numbers from 2 to 100, got "${flags.sizes}"`);


type Row = {
  n: number;
  ops: number;
  msgsPerOp: number;
  msgsPerOpWithGot: number;
  p50: number;
  max: number;
  idlePerServer: number;
  idleGotsPerServer: number;
  idleBytesPerServer: number;
  vectorBytes: number;
  meanDatagram: number;
  maxDatagram: number;
  converged: boolean;
};

function run(n: number): Row {
  // The hook runs only once ops flow, after `gots` is made.
  const { ids, cluster, madeAt: made, reached, made: noteMade } = timedSim(n, loss, (server, op, now) => gots.delivered(server, op, now));
  const gots = new GotSim(ids, (t, run) => cluster.net.at(t, run));
  const gotsSent = () => gots.sent.commit + gots.sent.periodic;
  const stats = cluster.net.stats;
  // Idle: after a warm-up, 10 s with no messages.
  gots.start(cluster.now);
  cluster.runUntil(3000);
  const idle0 = { sent: stats.sent, bytes: stats.bytes, gots: gotsSent() };
  cluster.runUntil(13_000);
  const idleS = 10;
  const idlePerServer = (stats.sent - idle0.sent) / idleS / n;
  const idleGotsPerServer = (gotsSent() - idle0.gots) / idleS / n;
  const idleBytesPerServer = (stats.bytes - idle0.bytes) / idleS / n;
  // Load: `rate` messages a second at random servers.
  const start = cluster.now;
  const load0 = { sent: stats.sent, bytes: stats.bytes, gots: gotsSent() };
  const total = Math.round(rate * seconds);
  for (let i = 0; i < total; i++) {
    cluster.net.at(start + (i * 1000) / rate, () => {
      const origin = ids[Math.floor(cluster.prng() * n)];
      for (const op of cluster.createOp(origin)) noteMade(op, cluster.now);
      gots.fannedOut(origin, cluster.now);
    });
  }
  cluster.runUntil(start + seconds * 1000);
  const done = cluster.runUntilConverged(start + seconds * 1000 + 60_000, 20);
  const sent = stats.sent - load0.sent;
  const lat = [...made].map(([id, t]) => reached.get(id)!.at - t);
  const vector = formatVector(cluster.nodes.get(ids[0])!.log.vector());
  return {
    n,
    ops: made.size,
    msgsPerOp: sent / made.size,
    // Plus the `got`s of lib/acks/gots.ts (bench/_got_sim.ts) over the same window.
    msgsPerOpWithGot: (sent + gotsSent() - load0.gots) / made.size,
    p50: percentile(lat, 50),
    max: Math.max(...lat),
    idlePerServer,
    idleGotsPerServer,
    idleBytesPerServer,
    vectorBytes: vector.length,
    meanDatagram: (stats.bytes - load0.bytes) / sent,
    maxDatagram: stats.maxBytes,
    converged: done !== null && [...reached.values()].every((r) => r.count === n),
  };
}

const started = Date.now();
const rows: Row[] = [];
for (const n of sizes) {
  const t = Date.now();
  const r = run(n);
  rows.push(r);
  console.error(`  N=${n}: ${r.msgsPerOp.toFixed(1)} datagrams/message, delivery p50 ${r.p50.toFixed(0)} ms, max ${r.max.toFixed(0)} ms (${((Date.now() - t) / 1000).toFixed(1)} s)`);
}
const f = (x: number, d = 0) => formatNumber(x, d);
const table = [
  "| servers | messages | datagrams per message (engine) | … with `got` | delivery p50 ms | delivery max ms | idle datagrams/s per server (engine) | idle bytes/s per server | … with `got`, datagrams/s | vector bytes | mean / max datagram bytes | all delivered |",
  "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|:---:|",
  ...rows.map((r) =>
    `| ${r.n} | ${f(r.ops)} | ${f(r.msgsPerOp, 1)} | ${f(r.msgsPerOpWithGot, 1)} | ${f(r.p50)} | ${f(r.max)} | ${f(r.idlePerServer, 1)} | ${f(r.idleBytesPerServer)} | ${f(r.idlePerServer + r.idleGotsPerServer, 1)} | ${f(r.vectorBytes)} | ${f(r.meanDatagram)} / ${f(r.maxDatagram)} | ${r.converged ? "yes" : "NO"} |`
  ),
].join("\n");
const text = `Simulated with \`npm run bench:scaling -- --rate ${rate} --seconds ${seconds} --loss ${loss} --sizes ${sizes.join(",")}\` ` +
  `(${((Date.now() - started) / 1000).toFixed(0)} s): ${LATENCY_MS}–${LATENCY_MS + 2} ms links, ${loss * 100}% loss, ${f(rate)} messages/s at random servers for ${seconds} s, ` +
  `HMAC-keyed datagrams, the engine's defaults (heartbeat every 1 s). Delivery: from a message's commit at its origin until the last server has it.\n\n${table}\n`;
mkdirSync(dirname(flags.out!), { recursive: true });
writeFileSync(flags.out!, text);
console.log(text);
process.exit(0);
