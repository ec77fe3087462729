/**
 * What two-disk acks cost (docs/ARCHITECTURE.md "Acks"), measured in one
 * run beside one-disk acks and a single server: servers under Node or Deno
 * in their default configuration (`--sync full`, `--rate-limit 0`), fresh
 * temp databases, three configurations started in turn for each run:
 *
 * - one server (acks after its own disk, as always);
 * - three servers with `--one-disk-acks`;
 * - three servers, default: an ack waits for the confirmer's disk.
 *
 * For each: acked adds/s under saturating load (two load processes,
 * bench/_distchat_load.ts `adds`, 8 sessions × 16 adds in flight each; on
 * the clusters one process sends to a and one to b), with the ack latency
 * under that load; and the ack latency alone, 1,000 adds at 200/s from one
 * session on a. The cluster's throughput is also given as a ratio to the
 * single server's of the same run.
 *
 * @example
 * ```ts
 * const m = acks("node"); // a Measurement for bench/run.ts
 * ```
 */
import { mkdtempSync } from "node:fs";
import { join } from "node:path";
import type { Child, Runtime } from "./_child.ts";
import { cpuSeconds, displayCommand, runtimeCommand, startChild } from "./_child.ts";
import { startBenchCluster } from "./_distchat_cluster_net.ts";
import { lines } from "./_distchat_udp.ts";
import type { Context, Measurement, Result } from "./_report.ts";
import { formatNumber, formatSummary, percentile, summarize } from "./_stats.ts";
import { chatUser } from "./distchat_cluster.ts";

const CONFIGS = [
  { label: "1 server", n: 1, args: [] as string[] },
  { label: "3 servers, one-disk acks (--one-disk-acks)", n: 3, args: ["--one-disk-acks"] },
  { label: "3 servers, two-disk acks (default)", n: 3, args: [] as string[] },
] as const;
const CLIENTS = 8, WINDOW = 16;
const PROBE_RATE = 200;

type Run = { rate: number; loadP50: number; loadP99: number; aloneP50: number; aloneP99: number; serverCores: number };

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** 1,000 (quick: 150) adds at 200/s from one session, each timed from send to ack. */
async function aloneLatency(to: { host: string; port: number }, count: number): Promise<number[]> {
  const c = await chatUser(to, "alone");
  const out: number[] = [];
  try {
    const pending: Promise<void>[] = [];
    const t0 = performance.now();
    for (let i = 0; i < count; i++) {
      const due = t0 + (i * 1000) / PROBE_RATE;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      const tag = c.ep.tag();
      const sent = performance.now();
      pending.push(c.ep.request(to, tag, lines("add", tag, c.token, `alone ${i}`, c.room), 250).then((r) => {
        if (!r.startsWith("ok")) throw new Error(`add: ${r.replaceAll("\n", " ")}`);
        out.push(performance.now() - sent);
      }));
    }
    await Promise.all(pending);
  } finally {
    await c.ep.close();
  }
  return out;
}

async function once(runtime: Runtime, ctx: Context, cfg: typeof CONFIGS[number], run: number, commands: string[]): Promise<Run> {
  const seconds = ctx.quick ? 1.5 : 3;
  const c = await startBenchCluster(runtime, mkdtempSync(join(ctx.tmp, `acks${run}-`)), cfg.n, {
    pairProxies: false,
    args: ["--rate-limit", "0", ...cfg.args],
  });
  if (run === 0) commands.push(c.shown);
  const children: Child[] = [];
  try {
    const targets = cfg.n === 1 ? [c.servers.a, c.servers.a] : [c.servers.a, c.servers.b];
    targets.forEach((s, p) => {
      const argv = runtimeCommand("node", "bench/_distchat_load.ts", [
        "adds", String(s.client.port), String(CLIENTS / 2), String(WINDOW), String(seconds), `load${run}`, String(p),
      ]);
      if (run === 0) commands.push(displayCommand(argv).replace(` ${s.client.port} `, " PORT "));
      children.push(startChild(argv));
    });
    for (const ch of children) await ch.next<{ ready: boolean }>(60_000);
    await sleep(300);
    const pids = Object.values(c.servers).map((s) => s.pid);
    const cpu = () => pids.reduce((a, pid) => a + cpuSeconds(pid), 0);
    const cpu0 = cpu(), t0 = performance.now();
    for (const ch of children) ch.send("go");
    const results = await Promise.all(children.map((ch) => ch.next<{ acked: number; lat: number[] }>(seconds * 1000 + 60_000)));
    const serverCores = (cpu() - cpu0) / ((performance.now() - t0) / 1000);
    const lat = results.flatMap((r) => r.lat);
    await sleep(500);
    const alone = await aloneLatency(c.servers.a.client, ctx.quick ? 150 : 1000);
    return {
      rate: results.reduce((a, r) => a + r.acked, 0) / seconds,
      loadP50: percentile(lat, 50),
      loadP99: percentile(lat, 99),
      aloneP50: percentile(alone, 50),
      aloneP99: percentile(alone, 99),
      serverCores,
    };
  } finally {
    await Promise.all(children.map((ch) => ch.stop()));
    await c.close();
  }
}

export function acks(runtime: Runtime): Measurement {
  const label = runtime === "node" ? "Node" : "Deno";
  return {
    name: `acks-${runtime}`,
    title: `Acks under ${label}: one disk, two disks, one server`,
    async run(ctx: Context): Promise<Result> {
      const commands: string[] = [];
      const runs: Run[][] = CONFIGS.map(() => []);
      // Interleaved, so a slow spell of the machine hits every configuration alike.
      const rounds = Math.min(ctx.runs, 2); // three configurations a round: two rounds keep the section near 75 s
      for (let r = 0; r < rounds; r++) {
        for (const [i, cfg] of CONFIGS.entries()) {
          ctx.log(`acks-${runtime}: ${cfg.label}, run ${r + 1}/${rounds}`);
          runs[i].push(await once(runtime, ctx, cfg, r, commands));
        }
      }
      const S = (i: number, f: (x: Run) => number, d = 0) => formatSummary(summarize(runs[i].map(f)), d);
      const single = summarize(runs[0].map((x) => x.rate)).median;
      const ratio = (i: number) => `${formatNumber(summarize(runs[i].map((x) => x.rate)).median / single, 2)}×`;
      return {
        commands,
        tables: [{
          caption: `Median (min–max) of ${rounds} run(s), the configurations interleaved. Throughput: acked adds/s, ${CLIENTS} sessions × ${WINDOW} in flight, ` +
            `two load processes (on the clusters: one on a, one on b). Latency alone: 200 adds/s from one session on a, send to ack.`,
          head: [
            "configuration",
            "acked adds/s",
            "× 1 server",
            "servers' CPU under load (cores)",
            "ack p50 / p99 under load (ms)",
            "ack p50 alone (ms)",
            "ack p99 alone (ms)",
          ],
          rows: CONFIGS.map((cfg, i) => [
            cfg.label,
            S(i, (x) => x.rate),
            i === 0 ? "1.00×" : ratio(i),
            S(i, (x) => x.serverCores, 2),
            `${S(i, (x) => x.loadP50, 2)} / ${S(i, (x) => x.loadP99, 2)}`,
            S(i, (x) => x.aloneP50, 2),
            S(i, (x) => x.aloneP99, 2),
          ]),
        }],
        notes: [
          "Goal (issue 10): a 3-server cluster with two-disk acks within 0.8× of one server's acked adds/s in the same run.",
          "Two-disk acks add to each ack the fan-out to the confirmer, its synced commit and its `got` back: one more round trip and one more disk sync.",
          "Every server stores every message, so three servers do about three times one server's work per message; on a machine with fewer cores than servers plus load processes the cluster's rate is bounded by CPU, whatever the ack rule (the CPU column).",
        ],
      };
    },
  };
}

