/**
 * DistChat clusters (issue 5, items 3, 4, 7, 8), servers under Node or Deno
 * (`--rate-limit 0`, otherwise the defaults — `--sync full`: every commit
 * holding a client's write waits for the disk — fresh temp databases), load from separate
 * Node processes (bench/_distchat_load.ts, bench/_distchat_cluster_load.ts),
 * probes and long pollers in the bench process:
 *
 * - 3 servers: messages/s stored on every server under saturating
 *   load spread over all servers (counted when every server's `stat` vector
 *   is the same), peer datagrams sent/received per chat message (the
 *   servers' `sent`/`received` counters), delivery latency from an add's
 *   ack on a to a long poller on b (200/s alone, and 200/s during the
 *   saturating load), fan-out to 1,000 long pollers on b of a message
 *   added on a;
 * - catch-up: c killed, N messages added on a and b, c restarted on its
 *   database; time until c's vector covers theirs (10,000 and 100,000);
 * - netsplit: bench/_scenarios.ts netsplit (as for IRC), c cut off from a
 *   and b (a testing/udp_proxy.ts per ordered pair of servers) and healed.
 *
 * @example
 * ```ts
 * const m = distchatCluster("node"); // a Measurement for bench/run.ts
 * ```
 */
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { escapeText } from "../lib/wire/codec.ts";
import type { Address } from "../lib/wire/address.ts";
import { cursorText, parsePoll } from "../testing/cluster_ops.ts";
import type { Child, Runtime } from "./_child.ts";
import { displayCommand, runtimeCommand, startChild, stopAll } from "./_child.ts";
import { type BenchCluster, startBenchCluster, statsUntil } from "./_distchat_cluster_net.ts";
import { Endpoint, lines, nowMs } from "./_distchat_udp.ts";
import { record } from "./_ratios.ts";
import { type Floor, measureFloor } from "./_floor.ts";
import { agreed, CLUSTER_WARMUP_S, LOAD_CLIENTS, LOAD_WINDOW, saturate, warmUp } from "./_cluster_saturate.ts";
import { fanRounds } from "./_fan_rounds.ts";
import { catchUp, type CatchUpRun } from "./_catchup_run.ts";
import { allOf, udpLink } from "./_proxy.ts";
import type { Context, Measurement, Result, Table } from "./_report.ts";
import { type ChatEndpoint, netsplit } from "./_scenarios.ts";
import { formatNumber, formatSummary, percentile, summarize } from "./_stats.ts";

/** The default, durable configuration (issue 10: the benchmarks say what the defaults cost); no rate limit. */
const SERVER_ARGS = ["--rate-limit", "0"];
const PROBE_RATE = 200;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

// --- The IRC anchor of the same run ------------------------------------------------

let ircResult: Result | null = null;

/** Wraps the IRC anchor so its figures can stand beside DistChat's. */
export function recordIrc(m: Measurement): Measurement {
  return { ...m, run: async (ctx) => (ircResult = await m.run(ctx)) };
}

/** The value of the IRC anchor's row starting with `label` in this run, or "not run". */
function ircFigure(label: string): string {
  for (const t of ircResult?.tables ?? []) {
    const row = t.rows.find((r) => r[0].startsWith(label));
    if (row) return row[1];
  }
  return "not run";
}

// --- Chat users in the bench process -------------------------------------------------

type Chat = { ep: Endpoint; to: Address; token: string; room: string };

export async function chatUser(to: Address, room: string): Promise<Chat> {
  const ep = await Endpoint.open();
  const token = await ep.login(to, `u${randomBytes(4).toString("hex")}`);
  await ep.join(to, token, room);
  return { ep, to, token, room };
}

async function addText(c: Chat, text: string): Promise<void> {
  const tag = c.ep.tag();
  const r = await c.ep.request(c.to, tag, lines("add", tag, c.token, escapeText(text), c.room), 250);
  if (!r.startsWith("ok")) throw new Error(`add: ${r.replaceAll("\n", " ")}`);
}

/** A long poller of one room: every message text goes to the handlers with its arrival time. */
export class Reader {
  handlers = new Set<(text: string, at: number) => void>();
  #stopped = false;
  #loop: Promise<void> = Promise.resolve();
  readonly c: Chat;
  constructor(c: Chat) {
    this.c = c;
  }

  async start(): Promise<void> {
    let cursor = "0";
    for (let pages = 0; pages < 100_000; pages++) {
      const tag = this.c.ep.tag();
      const p = parsePoll(await this.c.ep.request(this.c.to, tag, lines("request", tag, this.c.token, this.c.room, cursor), 250));
      cursor = cursorText(p);
      if (!p.more) break;
    }
    this.#loop = (async () => {
      // Bounded: each long poll ends within 1 s; the loop ends at stop().
      while (!this.#stopped) {
        const tag = this.c.ep.tag();
        let text: string;
        try {
          text = await this.c.ep.request(this.c.to, tag, lines("request", tag, this.c.token, this.c.room, cursor, 1000), 3000);
        } catch {
          if (this.#stopped) return;
          continue;
        }
        const at = performance.now();
        const p = parsePoll(text);
        for (const e of p.entries) for (const h of this.handlers) h(e.msg, at);
        cursor = cursorText(p);
      }
    })();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#loop;
  }

  endpoint(): ChatEndpoint {
    return { send: () => {}, onText: (cb) => void this.handlers.add((text) => cb(text)) };
  }
}

/** Adds `count` lines at `rate`/s on `w`; delivery to `r`, from each add's ack and from its send (ms). */
export async function probeLatency(w: Chat, r: Reader, rate: number, count: number) {
  const t = `p${randomBytes(3).toString("hex")}`;
  const sent: number[] = [], acked: number[] = [], arrived: number[] = [];
  const h = (text: string, at: number) => {
    const [k, i] = text.split(" ");
    if (k === t) arrived[Number(i)] ??= at;
  };
  r.handlers.add(h);
  const pending: Promise<void>[] = [];
  const t0 = performance.now();
  for (let i = 0; i < count; i++) {
    const due = t0 + (i * 1000) / rate;
    if (due > performance.now()) await sleep(due - performance.now());
    sent[i] = performance.now();
    pending.push(addText(w, `${t} ${i}`).then(() => void (acked[i] = performance.now()), () => {}));
  }
  await Promise.all(pending);
  const end = performance.now() + 3000;
  while (performance.now() < end && arrived.filter((x) => x !== undefined).length < count) await sleep(10);
  r.handlers.delete(h);
  const fromAck: number[] = [], fromSend: number[] = [], sentAt: number[] = [];
  let early = 0;
  for (let i = 0; i < count; i++) {
    if (arrived[i] === undefined || acked[i] === undefined) continue;
    if (arrived[i] < acked[i]) early++;
    fromAck.push(Math.max(0, arrived[i] - acked[i]));
    fromSend.push(arrived[i] - sent[i]);
    sentAt.push(sent[i]);
  }
  // sentAt: each kept sample's send (performance.now()), to line it up with what the servers did meanwhile.
  return { fromAck, fromSend, sentAt, lost: count - fromAck.length, early };
}


// --- 1 + 3. One cluster: throughput, datagrams, latency, fan-out ----------------------

type SizeRun = {
  stored: number;
  acked: number;
  sentPerMsg: number;
  receivedPerMsg: number;
  /** CPU µs of all three servers per message stored on all three, over the saturating load. */
  cpuPerMsgUs: number;
  quietSentPerMsg: number;
  quiet: { p50: number; p99: number; lost: number; sendP50: number; sendP99: number };
  busy: { p50: number; p99: number; lost: number; sendP50: number; sendP99: number };
  fan: { p50: number; p99: number; max: number; missing: number };
};

function latencySummary(r: Awaited<ReturnType<typeof probeLatency>>) {
  return { p50: percentile(r.fromAck, 50), p99: percentile(r.fromAck, 99), lost: r.lost, sendP50: percentile(r.fromSend, 50), sendP99: percentile(r.fromSend, 99) };
}

async function sizeRun(c: BenchCluster, ctx: Context, commands: string[], run: number): Promise<SizeRun> {
  const seconds = ctx.quick ? 1.5 : 3;
  const a = c.servers.a, b = c.servers.b;
  const writer = await chatUser(a.client, "probe");
  const poller = new Reader(await chatUser(b.client, "probe"));
  try {
    await poller.start();
    await probeLatency(writer, poller, PROBE_RATE, 100); // warm-up, not reported

    // Saturating load on every server, 200/s probes a -> b alongside; a short one first, not reported (JIT warm-up, as for one server's adds).
    await warmUp(c, CLUSTER_WARMUP_S, `r${run}`);
    const load = await saturate(c, { seconds, tag: `r${run}`, commands, during: () => probeLatency(writer, poller, PROBE_RATE, Math.round(PROBE_RATE * seconds * 0.8)) });
    const busy = load.during;

    // 200/s alone (peer datagrams per message at this rate too: heartbeats included).
    const quietBefore = await c.stats();
    const quietCount = ctx.quick ? 400 : 1000;
    const quiet = await probeLatency(writer, poller, PROBE_RATE, quietCount);
    const quietAfter = await statsUntil(c, agreed, 10_000, 10);
    if (!quietAfter) throw new Error("servers did not converge after the 200/s probe");
    const quietSent = (sum(quietAfter.reports.map((r) => r.sent)) - sum(quietBefore.map((r) => r.sent))) / quietCount;

    // Fan-out: 1,000 long pollers on b, the message added on a.
    const fan = await fanout(c, commands, run);
    return {
      stored: load.stored,
      acked: load.acked,
      sentPerMsg: load.sentPerMsg,
      receivedPerMsg: load.receivedPerMsg,
      cpuPerMsgUs: load.cpuPerMessageUs,
      quietSentPerMsg: quietSent,
      quiet: latencySummary(quiet),
      busy: latencySummary(busy),
      fan,
    };
  } finally {
    await poller.stop();
    await writer.ep.close();
    await poller.c.ep.close();
  }
}

async function fanout(c: BenchCluster, commands: string[], run: number) {
  const SESSIONS = 1000, PROCS = 2, SOCKETS = 10;
  const rounds = 3;
  const room = `fan${run}`;
  const writer = await chatUser(c.servers.a.client, room);
  const children: Child[] = [];
  let samples: number[] = [];
  let missing = 0;
  try {
    const port = c.servers.b.client.port;
    for (let p = 0; p < PROCS; p++) {
      const argv = runtimeCommand("node", "bench/_distchat_load.ts", ["fanout", String(port), String(SESSIONS / PROCS), String(SOCKETS), room, String(p)]);
      commands.push(displayCommand(argv).replace(` ${port} `, " PORT_B ").replace(` ${room} `, " ROOM "));
      children.push(startChild(argv));
    }
    ({ samples, missing } = await fanRounds(children, rounds, async (r) => {
      const t0 = nowMs();
      await addText(writer, `fan-out round ${r}`);
      return t0;
    }));
  } finally {
    await stopAll(children);
    await writer.ep.close();
  }
  return { p50: percentile(samples, 50), p99: percentile(samples, 99), max: Math.max(...samples), missing };
}

// --- 4. Netsplit -----------------------------------------------------------------------

async function split(runtime: Runtime, dir: string, quick: boolean, shown: Set<string>) {
  const c = await startBenchCluster(runtime, mkdtempSync(join(dir, "split-")), 3, { pairProxies: true, args: SERVER_ARGS });
  shown.add(c.shown);
  const users: Chat[] = [];
  const readers: Reader[] = [];
  try {
    const sender = await chatUser(c.servers.a.client, "split");
    users.push(sender);
    await sleep(200);
    for (const id of ["c", "b"]) {
      const u = await chatUser(c.servers[id].client, "split");
      users.push(u);
      const r = new Reader(u);
      readers.push(r);
      await r.start();
    }
    const links = [...c.proxies].filter(([k]) => k.includes("c")).map(([, p]) => udpLink(p));
    const o = { rate: 200, seconds: quick ? 6 : 16, cutAt: 2, restoreAt: 4 };
    const s = await netsplit({ send: (text) => addText(sender, text), onText: () => {} }, readers[0].endpoint(), readers[1].endpoint(), allOf(links), o);
    return { ...s, o };
  } finally {
    for (const r of readers) await r.stop();
    for (const u of users) await u.ep.close();
    await c.close();
  }
}

// --- The measurement ---------------------------------------------------------------------

/** DistChat cluster figures with every server under `runtime`. */
export function distchatCluster(runtime: Runtime): Measurement {
  const label = runtime === "node" ? "Node" : "Deno";
  return {
    name: `distchat-cluster-${runtime}`,
    title: `DistChat cluster (three servers) under ${label}: throughput, delivery, fan-out, catch-up, netsplit`,
    async run(ctx: Context): Promise<Result> {
      const commands: string[] = [];
      const shown = new Set<string>();
      const dir = mkdtempSync(join(ctx.tmp, `cluster-${runtime}-`));
      const tables: Table[] = [];
      const notes: string[] = [];
      try {
        // Figures 1 and 3, per cluster size.
        // Three servers, as servers.txt has them (bench/scaling.ts simulates 3 to 49).
        const sizes = [3];
        const bySize = new Map<number, SizeRun[]>();
        const floors: Floor[] = [];
        for (const n of sizes) {
          const runs = ctx.quick ? 1 : n === 3 ? Math.min(ctx.runs, 3) : 1;
          bySize.set(n, []);
          for (let run = 0; run < runs; run++) {
            const c = await startBenchCluster(runtime, mkdtempSync(join(dir, `n${n}-`)), n, { pairProxies: false, args: SERVER_ARGS });
            shown.add(c.shown);
            try {
              const r = await sizeRun(c, ctx, commands, run);
              bySize.get(n)!.push(r);
              ctx.log(
                `  ${runtime} ${n} servers: stored on all ${r.stored.toFixed(0)}/s (acked ${r.acked.toFixed(0)}/s, ${r.cpuPerMsgUs.toFixed(0)} CPU µs/msg), ${r.sentPerMsg.toFixed(2)} datagrams sent/msg; ` +
                  `a->b p50 ${r.quiet.p50.toFixed(2)} p99 ${r.quiet.p99.toFixed(2)} ms, loaded p50 ${r.busy.p50.toFixed(2)} p99 ${r.busy.p99.toFixed(2)} ms; ` +
                  `fan-out p50 ${r.fan.p50.toFixed(1)} p99 ${r.fan.p99.toFixed(1)} ms`,
              );
            } finally {
              await c.close();
            }
            if (n === 3) floors.push(await measureFloor(runtime, dir, runs === 1 ? 3 : 1)); // the delivery's anchor, this run
          }
        }
        const S = (n: number, f: (r: SizeRun) => number, digits = 0) => formatSummary(summarize(bySize.get(n)!.map(f)), digits);
        const med = (n: number, f: (r: SizeRun) => number) => summarize(bySize.get(n)!.map(f)).median;
        const nRuns = (n: number) => bySize.get(n)!.length;
        const seconds = ctx.quick ? 1.5 : 3;
        tables.push({
          caption: `Throughput: saturating load on every server for ${seconds} s (one Node load process per server; ${LOAD_CLIENTS} clients × ${LOAD_WINDOW} adds in flight in all, as on one server above, spread evenly over the servers, each server its own room); a message counts when every server holds it (all servers' \`stat\` vectors equal, read every 10 ms), from the start of the load (after ${CLUSTER_WARMUP_S} s of the same load, not counted: JIT warm-up, as for one server). Servers' CPU: user + system seconds of all servers' processes (/proc, all threads; not the load's) from the start of the load until they agree, per message stored on all. Peer datagrams: the servers' \`sent\` / \`received\` counters over the same interval, per chat message (median of the runs given, min–max):`,
          head: ["servers", "runs", "stored on all, msgs/s", "acked during the load, adds/s", "servers' CPU µs / msg", "peer datagrams sent / msg", "received / msg", `sent / msg at ${PROBE_RATE}/s`],
          rows: sizes.map((n) => [
            String(n),
            String(nRuns(n)),
            S(n, (r) => r.stored),
            S(n, (r) => r.acked),
            S(n, (r) => r.cpuPerMsgUs, 1),
            S(n, (r) => r.sentPerMsg, 2),
            S(n, (r) => r.receivedPerMsg, 2),
            S(n, (r) => r.quietSentPerMsg, 2),
          ]),
        });
        record(`${runtime}.stored3`, med(3, (r) => r.stored));
        record(`${runtime}.cpu3`, med(3, (r) => r.cpuPerMsgUs));
        record(`${runtime}.cross.p50`, med(3, (r) => r.quiet.sendP50));
        record(`${runtime}.cross.p99`, med(3, (r) => r.quiet.sendP99));
        const floorMs = summarize(floors.map((f) => f.ms)).median;
        record(`${runtime}.floor`, floorMs);
        const latRows: string[][] = [];
        for (const n of sizes) {
          latRows.push([
            `${n}: ${PROBE_RATE}/s alone`,
            S(n, (r) => r.quiet.p50, 2),
            S(n, (r) => r.quiet.p99, 2),
            S(n, (r) => r.quiet.sendP50, 2),
            S(n, (r) => r.quiet.sendP99, 2),
            S(n, (r) => r.quiet.lost),
          ]);
          latRows.push([
            `${n}: ${PROBE_RATE}/s during the saturating load`,
            S(n, (r) => r.busy.p50, 2),
            S(n, (r) => r.busy.p99, 2),
            S(n, (r) => r.busy.sendP50, 2),
            S(n, (r) => r.busy.sendP99, 2),
            S(n, (r) => r.busy.lost),
          ]);
        }
        latRows.push([
          `floor (anchor, this run; bench/_floor.ts): a one-row FULL commit ${formatNumber(summarize(floors.map((f) => f.commitUs)).median)} µs + a UDP round trip ${formatNumber(summarize(floors.map((f) => f.rttUs)).median)} µs`,
          "",
          "",
          formatSummary(summarize(floors.map((f) => f.ms)), 2),
          "",
          "",
        ]);
        latRows.push([
          "ngircd, s1 → s2, 200/s (anchor, this run; from the send)",
          ircFigure("latency p50"),
          ircFigure("latency p99"),
          ircFigure("latency p50"),
          ircFigure("latency p99"),
          ircFigure("lines lost"),
        ]);
        tables.push({
          caption: `Cross-server delivery: a client adds on server a at ${PROBE_RATE}/s (${ctx.quick ? 400 : 1000} adds alone; during the load, for 80% of its duration); a client on server b holds a long poll on the same room; time from the add's ack on a to the message's arrival at b's poller, in the bench process (ms; negative times, arrival before the ack, count as 0):`,
          head: ["servers: load", "p50 ms (from ack)", "p99 ms (from ack)", "p50 ms (from send)", "p99 ms (from send)", "lost"],
          rows: latRows,
        });
        tables.push({
          caption: `Fan-out across servers: 1,000 sessions on server b each hold a long poll on one room (2 load processes × 10 sockets); a client on server a adds one message; time from sending the add on a to each session's poll reply (ms; pooled over 3 rounds per run, median of the runs, min–max):`,
          head: ["servers", "p50 ms", "p99 ms", "max ms", "sessions that missed a message"],
          rows: sizes.map((n) => [String(n), S(n, (r) => r.fan.p50, 1), S(n, (r) => r.fan.p99, 1), S(n, (r) => r.fan.max, 1), S(n, (r) => r.fan.missing)]),
        });

        // Figure 2: catch-up.
        const catchRows: string[][] = [];
        // Quick mode leaves out the 100,000 catch-up (its fill alone takes seconds).
        for (const n of ctx.quick ? [10_000] : [10_000, 100_000]) {
          const runs = n === 100_000 ? 1 : ctx.quick ? 1 : Math.min(ctx.runs, 2);
          const rs: CatchUpRun[] = [];
          for (let run = 0; run < runs; run++) {
            const r = await catchUp(runtime, dir, n, commands, shown);
            rs.push(r);
            ctx.log(`  ${runtime} catch-up ${n}: ${r.ms.toFixed(0)} ms after restart (start ${r.startupMs.toFixed(0)} ms; fill ${(r.fillMs / 1000).toFixed(1)} s)`);
          }
          const ms = summarize(rs.map((r) => r.ms)).median;
          catchRows.push([
            formatNumber(n),
            String(runs),
            formatSummary(summarize(rs.map((r) => r.fillMs / 1000)), 1),
            formatSummary(summarize(rs.map((r) => r.startupMs))),
            formatSummary(summarize(rs.map((r) => r.ms))),
            formatSummary(summarize(rs.map((r) => r.ms - r.startupMs))),
            formatNumber(n / (ms / 1000)),
          ]);
          record(`${runtime}.catchup${n / 1000}k`, n / (ms / 1000));
        }
        tables.push({
          caption: "Catch-up of a restarted server: 3 servers; c is killed (SIGKILL), N messages are added on a and b (half each, 2 load processes × 4 clients × 16 in flight), then c is restarted on its database; time from starting c's process until its `stat` vector covers a's (read every 10 ms):",
          head: ["missed messages", "runs", "fill s", "process start ms", "catch-up ms after restart", "… after the startup line", "rows/s (from the process start)"],
          rows: catchRows,
        });

        // Figure 4: netsplit beside IRC.
        const splits: Awaited<ReturnType<typeof split>>[] = [];
        const splitRuns = 1;
        for (let run = 0; run < splitRuns; run++) {
          const s = await split(runtime, dir, ctx.quick, shown);
          splits.push(s);
          ctx.log(`  ${runtime} netsplit: ${s.lostSplit}/${s.sent} lost on c, ${s.lostSenderSide} on b; heal ${s.healMs.toFixed(0)} ms`);
        }
        const o = splits[0].o;
        const N = (f: (s: (typeof splits)[0]) => number) => formatSummary(summarize(splits.map(f)));
        tables.push({
          caption: `Netsplit (bench/_scenarios.ts, the same scenario as the IRC anchor): ${o.rate} lines/s added on a for ${o.seconds} s; every peer datagram between c and a or b goes through a testing/udp_proxy.ts (one per ordered pair of servers), all four cut at ${o.cutAt} s and healed at ${o.restoreAt} s; clients long-poll on c (split side) and b (sender's side) (DistChat: median of ${splitRuns} run(s), min–max; ngircd: its table above):`,
          head: ["measurement", "ngircd (s3 split off)", `DistChat under ${label} (c split off)`, "goal"],
          rows: [
            ["lines sent", ircFigure("lines sent"), N((s) => s.sent), ""],
            ["lost at a client on the split side", ircFigure("lost at a client on s3"), N((s) => s.lostSplit), `0: ${summarize(splits.map((s) => s.lostSplit)).median === 0 ? "met" : "missed"}`],
            ["lost at a client on the sender's side", ircFigure("lost at a client on s2"), N((s) => s.lostSenderSide), "0"],
            ["link down (ms)", ircFigure("link down"), N((s) => s.splitMs), ""],
            ["restore → split side receives again (ms)", ircFigure("restore → s3"), N((s) => s.healMs), ""],
          ],
        });
        notes.push(
          `Servers: ${[...shown][0] ?? ""} (and the same for every id; the default \`--sync full\`: every commit holding a client's write is synced to disk before its replies go out, while a commit of peers' ops alone is not waited for). All servers, load processes and the bench process share the machine's cores, so larger clusters also mean less CPU per server.`,
          "Throughput and latency clusters list the servers' real peer ports in servers.txt (no proxy); catch-up likewise; the netsplit cluster has a servers file per server whose peer addresses are the proxies for that server's outgoing datagrams. `stat` goes straight to each server's peer port.",
          "Delivery latency uses a separate room from the load; its poller and writer run in the bench process, whose timers share the loaded CPUs.",
          "Catch-up: 100,000 runs once per bench run (its fill takes the longest).",
        );
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      return { commands: [...shown, ...new Set(commands)], tables, notes };
    },
  };
}
