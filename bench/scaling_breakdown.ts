/**
 * What the datagrams per message of `npm run bench:scaling` are (issue 27,
 * question 5; not a test): the same simulation (the real replication engine
 * and codec on testing/sim_network.ts, 100–102 ms links, loss, a steady
 * rate of messages at random servers), with every datagram counted by kind
 * — fan-out copies, heartbeats, asks, answers — and the `got`s of the peer
 * port, from one real GotSchedule per server (bench/_got_sim.ts: after each
 * confirming commit, and the periodic ones). `--batch-ms W` makes each origin fan its new
 * messages out together once per W ms (what a wider group-commit window
 * would do), to see what batching at the origin buys at this rate.
 *
 *   node_modules/.bin/node bench/scaling_breakdown.ts [--n 25] [--rate 100] [--seconds 10] [--loss 0.01] [--batch-ms 0] [--out FILE]
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import process from "node:process";
import { defineCommand, fail, parseCommandLine } from "../lib/config/cli.ts";
import { ROOT } from "./_child.ts";
import { percentile } from "./_stats.ts";
import { markdownTable } from "./_trace_read.ts";
import { LATENCY_MS, timedSim } from "./_timed_sim.ts";
import { GotSim } from "./_got_sim.ts";

const COMMAND = defineCommand({
  name: "scaling_breakdown",
  about: "What the simulated full mesh's datagrams per message are, by kind.",
  usage: "node_modules/.bin/node bench/scaling_breakdown.ts [--n N] [--rate R] [--seconds S] [--loss P] [--batch-ms W] [--out FILE]",
  flags: {
    n: { type: "string", value: "N", default: "25", help: "servers" },
    rate: { type: "string", value: "R", default: "100", help: "messages a second, cluster-wide" },
    seconds: { type: "string", value: "S", default: "10", help: "seconds of messages" },
    loss: { type: "string", value: "P", default: "0.01", help: "probability a datagram is lost" },
    "batch-ms": { type: "string", value: "W", default: "0", help: "list of origin fan-out windows in ms to compare (0: each message at once), e.g. 0,50,100" },
    out: { type: "string", value: "FILE", help: "where the table goes (default data/perf/scaling-breakdown.md)" },
  },
});
const { values: flags } = parseCommandLine(COMMAND);
const n = Number(flags.n), rate = Number(flags.rate), seconds = Number(flags.seconds), loss = Number(flags.loss);
const windows = flags["batch-ms"]!.split(",").map(Number);
if (!(n >= 2 && n <= 100 && rate > 0 && rate <= 2000 && seconds > 0 && seconds <= 120 && loss >= 0 && loss < 0.5)) fail("scaling_breakdown", "--n 2..100, --rate 1..2000, --seconds 1..120, --loss 0..0.5");
if (windows.some((w) => !(w >= 0 && w <= 1000))) fail("scaling_breakdown", `--batch-ms: ms from 0 to 1000, got "${flags["batch-ms"]}"`);
const out = flags.out ?? join(ROOT, "data", "perf", "scaling-breakdown.md");

const decoder = new TextDecoder();
/** The kind of a peer datagram: "add (N ops)" buckets, "heartbeat", "ask", "ok". */
function kindOf(bytes: Uint8Array): string {
  const lines = decoder.decode(bytes.subarray(0, 2000)).split("\n");
  if (lines[0] === "add") return Number(lines[4]) === 0 ? "heartbeat (add, no ops)" : "fan-out (add with ops)";
  return lines[0] === "ok" ? "answer (ok)" : lines[0];
}

function run(windowMs: number) {
  // The hook runs only once ops flow, after `gots` is made.
  const { ids, cluster, madeAt: made, reached, made: noteMade } = timedSim(n, loss, (server, op, now) => gots.delivered(server, op, now));
  const gots = new GotSim(ids, (t, run) => cluster.net.at(t, run));
  gots.start(cluster.now); // from the warm-up on: the first tick tells every peer
  const kinds = new Map<string, number>();
  let counting = false;
  let gots0 = { commit: 0, periodic: 0 };
  const send = cluster.net.send.bind(cluster.net);
  cluster.net.send = (from, to, bytes, deliver) => {
    if (counting) kinds.set(kindOf(bytes), (kinds.get(kindOf(bytes)) ?? 0) + 1);
    send(from, to, bytes, deliver);
  };
  cluster.runUntil(3000);
  counting = true;
  gots0 = { ...gots.sent };
  const lost0 = cluster.net.stats.lost;
  const start = cluster.now;
  const total = Math.round(rate * seconds);
  const end = start + seconds * 1000 + windowMs + 1;
  /** Per origin: messages waiting for the window to close (counted from their own time). */
  const waiting = new Map<string, number[]>();
  const flush = (origin: string) => {
    const times = waiting.get(origin) ?? [];
    waiting.delete(origin);
    if (times.length === 0) return;
    cluster.createOps(origin, times.length).forEach((op, i) => noteMade(op, times[i]));
    gots.fannedOut(origin, cluster.now);
  };
  for (let i = 0; i < total; i++) {
    cluster.net.at(start + (i * 1000) / rate, () => {
      const origin = ids[Math.floor(cluster.prng() * n)];
      if (windowMs === 0) {
        waiting.set(origin, [cluster.now]);
        flush(origin);
        return;
      }
      const q = waiting.get(origin);
      if (q) q.push(cluster.now);
      else {
        waiting.set(origin, [cluster.now]);
        cluster.net.at(cluster.now + windowMs, () => flush(origin));
      }
    });
  }
  cluster.runUntil(end);
  const done = cluster.runUntilConverged(start + seconds * 1000 + 60_000, 20);
  const msgs = made.size;
  const lat = [...made].map(([id, t]) => reached.get(id)!.at - t);
  const per = (x: number) => x / msgs;
  const rows: [string, number][] = [...kinds].sort((a, b) => b[1] - a[1]).map(([k, c]) => [k, per(c)]);
  const engine = rows.reduce((s, [, x]) => s + x, 0);
  // The `got`s counted, as the engine's datagrams, from the first message until every server has all.
  const gotPeriodic = per(gots.sent.periodic - gots0.periodic);
  const gotConfirm = per(gots.sent.commit - gots0.commit);
  const lost = per(cluster.net.stats.lost - lost0);
  return { windowMs, msgs, lost, rows, engine, gotPeriodic, gotConfirm, total: engine + gotPeriodic + gotConfirm, p50: percentile(lat, 50), p99: percentile(lat, 99), max: Math.max(...lat), converged: done !== null };
}

const results = windows.map(run);
const f = (x: number) => x.toFixed(2);
const kinds = [...new Set(results.flatMap((r) => r.rows.map(([k]) => k)))];
const table = markdownTable(
  ["datagrams per message", ...results.map((r) => (r.windowMs === 0 ? "each message at once" : `origin fans out every ${r.windowMs} ms`))],
  [
    ...kinds.map((k) => [k, ...results.map((r) => f(r.rows.find(([x]) => x === k)?.[1] ?? 0))]),
    ["**engine, all**", ...results.map((r) => f(r.engine))],
    ["`got`, periodic (liveness, clock; lib/acks/gots.ts)", ...results.map((r) => f(r.gotPeriodic))],
    ["`got`, after a confirming commit (to the origin and the near servers; every peer up to 8 servers)", ...results.map((r) => f(r.gotConfirm))],
    ["**all, with `got`** (goal ≤ 30)", ...results.map((r) => f(r.total))],
    ["datagrams lost (the loss the asks and answers repair)", ...results.map((r) => f(r.lost))],
    ["delivery p50 / p99 / max ms (from the message's own time)", ...results.map((r) => `${r.p50.toFixed(0)} / ${r.p99.toFixed(0)} / ${r.max.toFixed(0)}`)],
    ["messages; converged", ...results.map((r) => `${r.msgs}; ${r.converged ? "yes" : "NO"}`)],
  ],
);
const text = `# bench/scaling_breakdown.ts\n\n\`\`\`sh\nnode_modules/.bin/node bench/scaling_breakdown.ts ${process.argv.slice(2).join(" ")}\n\`\`\`\n\n` +
  `${n} servers, ${LATENCY_MS}–${LATENCY_MS + 2} ms links, ${loss * 100}% loss, ${rate} messages/s at random servers for ${seconds} s (the engine's defaults).\n\n${table}\n`;
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, text);
console.log(text);
