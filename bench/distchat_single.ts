/**
 * DistChat on one server (issue 5, items 2, 5, 6), the server under Node or
 * Deno (`--rate-limit 0`, fresh temp database, default `--sync full`), load
 * from separate Node processes (bench/_distchat_load.ts):
 *
 * - acked durable adds/s and ack latency with 1, 8 and 64 clients;
 * - fan-out: one message to 1,000 long-polling sessions in one room;
 * - memory: server RSS with 1,000,000 stored messages and 10,000 live sessions.
 *
 * @example
 * ```ts
 * const m = distchatSingle("deno"); // a Measurement for bench/run.ts
 * ```
 */
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { Child, Runtime } from "./_child.ts";
import { cpuSeconds, displayCommand, runtimeCommand, startChild, stopAll } from "./_child.ts";
import type { Context, Measurement, Result, Table } from "./_report.ts";
import { formatNumber, formatSummary, percentile, summarize } from "./_stats.ts";
import { record } from "./_ratios.ts";
import { fanRounds } from "./_fan_rounds.ts";
import { type BenchServer, startBenchServer } from "./_distchat_server.ts";
import { Endpoint, lines, nowMs } from "./_distchat_udp.ts";

const LOAD = "bench/_distchat_load.ts";
const SERVER_ARGS = ["--rate-limit", "0"];
const WINDOW = 16;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// --- Helpers -------------------------------------------------------------------


function load(args: string[], commands: string[], port: number): Child {
  const argv = runtimeCommand("node", LOAD, args);
  commands.push(displayCommand(argv).replace(` ${port} `, " PORT "));
  return startChild(argv);
}


// --- 1. Acked adds ---------------------------------------------------------------

/** One timed load: rate, ack latency, and the CPU (in cores) the server and the load processes used meanwhile. */
type AddsRun = { rate: number; p50: number; p99: number; retransmits: number; serverCores: number; loadCores: number; serverCpuPerAddUs: number };

/** The adds load (or, with mode "echoes", the same datagrams against an echo server) on `port`, whose process is `serverPid`. */
export async function addsOnce(
  port: number,
  serverPid: number,
  clients: number,
  seconds: number,
  room: string,
  commands: string[],
  mode: "adds" | "echoes" = "adds",
): Promise<AddsRun> {
  const procs = clients >= 64 ? 2 : 1;
  const children: Child[] = [];
  try {
    for (let p = 0; p < procs; p++) {
      const n = Math.floor(clients / procs) + (p < clients % procs ? 1 : 0);
      const args = mode === "adds"
        ? ["adds", String(port), String(n), String(WINDOW), String(seconds), room, String(p)]
        : ["echoes", String(port), String(n), String(WINDOW), String(seconds)];
      children.push(load(args, commands, port));
    }
    for (const c of children) await c.next<{ ready: boolean }>(60_000);
    const cpu = () => [cpuSeconds(serverPid), children.reduce((a, c) => a + cpuSeconds(c.pid), 0)];
    const before = cpu();
    const t0 = performance.now();
    for (const c of children) c.send("go");
    const results = await Promise.all(children.map((c) =>
      c.next<{ acked: number; seconds: number; lat: number[]; retransmits: number }>(seconds * 1000 + 30_000)
    ));
    const after = cpu();
    const wall = (performance.now() - t0) / 1000;
    const lat = results.flatMap((r) => r.lat);
    return {
      rate: results.reduce((a, r) => a + r.acked, 0) / seconds,
      p50: percentile(lat, 50),
      p99: percentile(lat, 99),
      retransmits: results.reduce((a, r) => a + r.retransmits, 0),
      serverCores: (after[0] - before[0]) / wall,
      serverCpuPerAddUs: ((after[0] - before[0]) * 1e6) / results.reduce((a, r) => a + r.acked, 0),
      loadCores: (after[1] - before[1]) / wall,
    };
  } finally {
    await stopAll(children);
  }
}

async function addsTable(
  runtime: Runtime,
  ctx: Context,
  dir: string,
  commands: string[],
  shown: Set<string>,
): Promise<{ table: Table; at8: number; runs8: AddsRun[] }> {
  const seconds = ctx.quick ? 1.5 : 3;
  const counts = [1, 8, 64];
  const runs = new Map<number, AddsRun[]>(counts.map((c) => [c, []]));
  const nRuns = ctx.quick ? 1 : ctx.runs;
  for (let run = 0; run < nRuns; run++) {
    const runDir = mkdtempSync(join(dir, "adds-"));
    const srv = await startBenchServer(runtime, runDir, SERVER_ARGS);
    shown.add(srv.shown);
    try {
      await addsOnce(srv.port, srv.pid, 8, 0.5, `warmup${run}`, []); // JIT warm-up, not reported
      for (const clients of counts) {
        const r = await addsOnce(srv.port, srv.pid, clients, seconds, `adds${clients}r${run}`, commands);
        runs.get(clients)!.push(r);
        ctx.log(`  ${runtime} adds, ${clients} client(s): ${r.rate.toFixed(0)}/s, p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms`);
      }
    } finally {
      await srv.stop();
      rmSync(runDir, { recursive: true, force: true });
    }
  }
  const at8 = summarize(runs.get(8)!.map((r) => r.rate)).median;
  const rows = counts.map((c) => {
    const rs = runs.get(c)!;
    return [
      String(c),
      String(WINDOW),
      formatSummary(summarize(rs.map((r) => r.rate))),
      formatSummary(summarize(rs.map((r) => r.p50)), 2),
      formatSummary(summarize(rs.map((r) => r.p99)), 2),
      formatNumber(summarize(rs.map((r) => r.retransmits)).median),
    ];
  });
  return {
    at8,
    runs8: runs.get(8)!,
    table: {
      caption: `Acked durable adds (${seconds} s per client count, ${WINDOW} adds in flight per client, each client its own socket and session, all in one room; adds/s and ack latency in ms, median of ${nRuns} run(s), min–max):`,
      head: ["clients", "window", "acked adds/s", "ack p50 ms", "ack p99 ms", "retransmits"],
      rows,
    },
  };
}

// --- 1b. Where an add's time goes --------------------------------------------------

/**
 * What limits the adds rate: the CPU the server and the load used in the
 * 8-client runs; the same load against an echo server of the same runtime,
 * transport and socket buffers (the datagram I/O alone); and the in-process
 * cost of one add (bench/add_cost.ts: decode, handle, commit).
 */
async function costTable(runtime: Runtime, ctx: Context, runs8: AddsRun[], commands: string[]): Promise<Table> {
  const seconds = ctx.quick ? 1.5 : 4;
  const nRuns = ctx.quick ? 1 : Math.min(ctx.runs, 3);
  const transport = runtime === "deno" ? "deno" : "dgram";
  const echoRuns: AddsRun[] = [];
  for (let run = 0; run < nRuns; run++) {
    const argv = runtimeCommand(runtime, "bench/_limits_worker.ts", ["echo", transport, String(4 << 20)]);
    if (run === 0) commands.push(displayCommand(argv));
    const echo = startChild(argv);
    try {
      const { port } = await echo.next<{ port: number }>(30_000);
      if (!ctx.quick) await addsOnce(port, echo.pid, 8, 0.5, "", [], "echoes"); // warm-up
      echoRuns.push(await addsOnce(port, echo.pid, 8, seconds, "", run === 0 ? commands : [], "echoes"));
    } finally {
      await echo.stop();
    }
  }
  const costArgv = runtimeCommand(runtime, "bench/add_cost.ts", [ctx.quick ? "20000" : "50000", "--json"]);
  commands.push(displayCommand(costArgv));
  const costs: { total: number; decode: number; handle: number; commit: number }[] = [];
  for (let run = 0; run < nRuns; run++) {
    const c = startChild(costArgv);
    try {
      costs.push(await c.next(120_000));
    } finally {
      await c.stop();
    }
  }
  const med = (xs: number[]) => summarize(xs).median;
  const echoRate = med(echoRuns.map((r) => r.rate));
  const rate8 = med(runs8.map((r) => r.rate));
  record(`${runtime}.adds8`, rate8);
  record(`${runtime}.echo8`, echoRate);
  record(`${runtime}.cpu1x3`, 3 * med(runs8.map((r) => r.serverCpuPerAddUs)));
  const cost = (k: "total" | "decode" | "handle" | "commit") => formatSummary(summarize(costs.map((c) => c[k])), 2);
  const total = med(costs.map((c) => c.total));
  return {
    caption: `Where an add's time goes under ${runtime === "node" ? "Node" : "Deno"} (8 clients × ${WINDOW} in flight; CPU in cores of this machine's 2, from /proc over the timed interval; median of ${nRuns} run(s) for the echo server and bench/add_cost.ts, of the adds runs above for DistChat):`,
    head: ["measurement", "value"],
    rows: [
      ["DistChat server CPU, 8 clients (cores)", formatSummary(summarize(runs8.map((r) => r.serverCores)), 2)],
      ["DistChat server CPU µs per acked add, 8 clients (/proc)", formatSummary(summarize(runs8.map((r) => r.serverCpuPerAddUs)), 1)],
      ["its load process CPU (cores)", formatSummary(summarize(runs8.map((r) => r.loadCores)), 2)],
      [`echo server, same runtime, transport and 4 MiB buffers, same load: replies/s`, formatSummary(summarize(echoRuns.map((r) => r.rate)))],
      ["echo server CPU (cores)", formatSummary(summarize(echoRuns.map((r) => r.serverCores)), 2)],
      ["DistChat's 8-client adds/s ÷ echo replies/s", `${(rate8 / echoRate).toFixed(2)}×`],
      ["in-process µs per add, all (bench/add_cost.ts)", cost("total")],
      ["… decode (grammar + valibot)", cost("decode")],
      ["… handle (lib/handlers/ + SQLite statements)", cost("handle")],
      ["… commit, per add (128 per commit, no sync)", cost("commit")],
      ["server µs per add at the 8-client rate (1 s ÷ adds/s, one thread)", formatNumber(1e6 / rate8, 1)],
      ["in-process cost alone would allow (adds/s on one core)", formatNumber(1e6 / total)],
    ],
  };
}

// --- 2. Fan-out ------------------------------------------------------------------

async function fanoutTable(runtime: Runtime, ctx: Context, dir: string, commands: string[], shown: Set<string>): Promise<{ table: Table; p99: number }> {
  const SESSIONS = 1000, PROCS = 2, SOCKETS = SESSIONS / PROCS;
  const rounds = ctx.quick ? 3 : 10;
  const runs = ctx.quick ? 1 : Math.min(ctx.runs, 2);
  const p50s: number[] = [], p99s: number[] = [], maxes: number[] = [];
  const anchorP50s: number[] = [], anchorP99s: number[] = [];
  let missingTotal = 0;
  for (let run = 0; run < runs; run++) {
    // DistChat: one message added, delivered to 1,000 held polls.
    const runDir = mkdtempSync(join(dir, "fanout-"));
    const srv = await startBenchServer(runtime, runDir, SERVER_ARGS);
    shown.add(srv.shown);
    const children: Child[] = [];
    const writer = await Endpoint.open();
    try {
      const to = { host: "127.0.0.1", port: srv.port };
      const wtoken = await writer.login(to, `writer${run}`);
      await writer.join(to, wtoken, "fan");
      for (let p = 0; p < PROCS; p++) {
        children.push(load(["fanout", String(srv.port), String(SESSIONS / PROCS), String(SOCKETS), "fan", String(p)], commands, srv.port));
      }
      const { samples, missing } = await fanRounds(children, rounds, async (r) => {
        const tag = writer.tag();
        const t0 = nowMs();
        const ack = await writer.request(to, tag, lines("add", tag, wtoken, `fan-out round ${r}`, "fan"));
        if (!ack.startsWith("ok")) throw new Error(`add: ${ack}`);
        return t0;
      });
      missingTotal += missing;
      p50s.push(percentile(samples, 50));
      p99s.push(percentile(samples, 99));
      maxes.push(Math.max(...samples));
    } finally {
      await writer.close();
      await stopAll(children);
      await srv.stop();
      rmSync(runDir, { recursive: true, force: true });
    }
    // The anchor: a process of the same runtime sends one datagram to each of the same number of sockets.
    const argv = runtimeCommand(runtime, "bench/_limits_worker.ts", ["fan", runtime === "deno" ? "deno" : "dgram"]);
    if (run === 0) commands.push(displayCommand(argv));
    const fan = startChild(argv);
    const anchors: Child[] = [];
    const trigger = await Endpoint.open();
    try {
      const { port } = await fan.next<{ port: number }>(30_000);
      for (let p = 0; p < PROCS; p++) anchors.push(load(["fanecho", String(port), String(SESSIONS / PROCS)], run === 0 ? commands : [], port));
      const { samples } = await fanRounds(anchors, rounds, () => {
        const t0 = nowMs();
        trigger.send({ host: "127.0.0.1", port }, "fire");
        return Promise.resolve(t0);
      });
      anchorP50s.push(percentile(samples, 50));
      anchorP99s.push(percentile(samples, 99));
    } finally {
      await trigger.close();
      await stopAll(anchors);
      await fan.stop();
    }
    ctx.log(`  ${runtime} fan-out to ${SESSIONS}: p50 ${p50s.at(-1)!.toFixed(2)} ms, p99 ${p99s.at(-1)!.toFixed(2)} ms; UDP anchor p50 ${anchorP50s.at(-1)!.toFixed(2)}, p99 ${anchorP99s.at(-1)!.toFixed(2)} ms`);
  }
  const p99 = summarize(p99s).median;
  record(`${runtime}.fanout.p99`, p99);
  record(`${runtime}.fanecho.p99`, summarize(anchorP99s).median);
  return {
    p99,
    table: {
      caption: `Fan-out: ${SESSIONS} sessions in one room each hold a long poll (${PROCS} load processes × ${SOCKETS} sockets, one session per socket); one message is added; time from sending the add to each session's poll reply. Anchor, same run: a ${runtime === "deno" ? "Deno" : "Node"} process (bench/_limits_worker.ts fan) sends one ${120}-byte datagram to each of ${SESSIONS} sockets of the same load processes when a trigger arrives; time from sending the trigger (ms; per-client delivery times pooled over ${rounds} rounds per run, median of ${runs} run(s), min–max):`,
      head: ["measurement", "DistChat", "UDP anchor", "ratio"],
      rows: [
        ["delivery p50 ms", formatSummary(summarize(p50s), 2), formatSummary(summarize(anchorP50s), 2), `${(summarize(p50s).median / summarize(anchorP50s).median).toFixed(2)}×`],
        ["delivery p99 ms", formatSummary(summarize(p99s), 2), formatSummary(summarize(anchorP99s), 2), `${(p99 / summarize(anchorP99s).median).toFixed(2)}×`],
        ["delivery max ms", formatSummary(summarize(maxes), 2), "", ""],
        ["sessions that missed a message (all rounds, all runs)", String(missingTotal), "", ""],
      ],
    },
  };
}

// --- 3. Memory -------------------------------------------------------------------

async function memoryTable(runtime: Runtime, ctx: Context, dir: string, commands: string[], shown: Set<string>): Promise<{ table: Table; notes: string[]; mib: number }> {
  const messages = 1_000_000;
  const SESSIONS = 10_000, HOLD = 1000, PROCS = 2, SOCKETS = 20;
  const runDir = mkdtempSync(join(dir, "memory-"));
  let srv: BenchServer | null = null;
  const children: Child[] = [];
  try {
    // The server makes its database and key, stops; the messages go in directly.
    srv = await startBenchServer(runtime, runDir, SERVER_ARGS);
    shown.add(srv.shown);
    await srv.stop();
    const fillArgv = runtimeCommand("node", LOAD, ["fill", join(runDir, "a.sqlite"), String(messages)]);
    commands.push(displayCommand(fillArgv).replace(runDir, "TMPDIR"));
    const filler = startChild(fillArgv);
    children.push(filler);
    const filled = await filler.next<{ ms: number; rows: number }>(300_000);
    await filler.stop();
    if (filled.rows !== messages) throw new Error(`fill wrote ${filled.rows} messages, not ${messages}`);
    ctx.log(`  ${runtime} memory: ${formatNumber(messages)} messages written in ${(filled.ms / 1000).toFixed(1)} s`);

    srv = await startBenchServer(runtime, runDir, SERVER_ARGS);
    await sleep(500);
    const idle = srv.rss();
    const t0 = performance.now();
    for (let p = 0; p < PROCS; p++) {
      children.push(load(["sessions", String(srv.port), String(SESSIONS / PROCS), String(SOCKETS), "big", String(HOLD / PROCS), String(p)], commands, srv.port));
    }
    let entries = 0;
    for (const c of children.slice(1)) entries += (await c.next<{ ready: boolean; entries: number }>(180_000)).entries;
    const loginSeconds = (performance.now() - t0) / 1000;
    await sleep(1000);
    const loaded = srv.rss();
    ctx.log(`  ${runtime} memory: RSS idle ${(idle.rssKiB / 1024).toFixed(0)} MiB, with sessions ${(loaded.rssKiB / 1024).toFixed(0)} MiB`);
    const mib = loaded.rssKiB / 1024;
    const mb = (k: number) => formatNumber(k / 1024, 0);
    return {
      mib,
      table: {
        caption: `Memory of the server process with ${formatNumber(messages)} stored messages in one room (one run; MiB from /proc/PID/status of the runtime process):`,
        head: ["state", "VmRSS MiB", "VmHWM (peak) MiB"],
        rows: [
          ["started on the filled database, idle", mb(idle.rssKiB), mb(idle.hwmKiB)],
          [
            `+ ${formatNumber(SESSIONS)} live sessions (each joined the room and polled once), ${formatNumber(HOLD)} long polls held`,
            mb(loaded.rssKiB),
            mb(loaded.hwmKiB),
          ],
        ],
      },
      notes: [
        `Memory: the server created its database, was stopped, and ${formatNumber(messages)} messages (about 100 bytes of text each) were inserted with node:sqlite in the server's schema (ops + messages rows as lib/store/store.ts writes them on a one-server cluster; ${(filled.ms / 1000).toFixed(1)} s); then it was started again and ${formatNumber(SESSIONS)} sessions logged in, 200 at a time from ${PROCS} processes (${loginSeconds.toFixed(1)} s with the first poll of each; those polls returned ${formatNumber(entries)} entries in all).`,
      ],
    };
  } finally {
    for (const c of children) c.send("stop");
    await stopAll(children);
    await srv?.stop();
    rmSync(runDir, { recursive: true, force: true });
  }
}

// --- The measurement -------------------------------------------------------------

/** DistChat one-server adds/s, fan-out and memory with the server under `runtime`. */
export function distchatSingle(runtime: Runtime): Measurement {
  const label = runtime === "node" ? "Node" : "Deno";
  return {
    name: `distchat-single-${runtime}`,
    title: `DistChat, one server under ${label}: adds, where their time goes, fan-out, memory`,
    async run(ctx: Context): Promise<Result> {
      const commands: string[] = [];
      const shown = new Set<string>();
      const dir = mkdtempSync(join(ctx.tmp, `distchat-${runtime}-`));
      const tables: Table[] = [];
      const notes: string[] = [];
      try {
        const adds = await addsTable(runtime, ctx, dir, commands, shown);
        tables.push(adds.table);
        tables.push(await costTable(runtime, ctx, adds.runs8, commands));
        const fan = await fanoutTable(runtime, ctx, dir, commands, shown);
        tables.push(fan.table);
        // Quick mode leaves out memory (not a ratio; it takes a fill and 2,000 logins).
        const mem = ctx.quick ? { notes: [] } : await memoryTable(runtime, ctx, dir, commands, shown);
        if ("table" in mem) tables.push(mem.table);
        notes.push(
          `Adds: an add counts when its ack arrives within the timed interval; latency is from the first send of the add to its ack (a lost datagram is resent with the same tag after 250 ms, so retransmitted adds include that wait). One load process per 32 clients; each client logs in and joins the room before the timed interval. A fresh server and database per run; 0.5 s of warm-up load first.`,
          `Fan-out: each of the 1,000 sessions has its own long poll (waitMs 30000) and re-arms it on every reply; delivery times are measured against the moment the writer (in the bench process) sent the add, so they include the durable commit of the add.`,
          `Where the time goes: the server does its work on one thread (SQLite, the grammar, the handlers and the datagram I/O; only checkpoints run on a worker thread), so a server CPU near 1 core means the adds rate is what one core does. The echo server is the same load answered by a process that does nothing but echo (bench/_limits_worker.ts echo): the datagram I/O alone. The server's µs per add minus the in-process cost is the datagram I/O and event loop.`,
          ...mem.notes,
          `Server: ${[...shown][0] ?? ""} (--sync full is the default: every commit holding a client's write is synced to disk before its replies go out).`,
        );
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      return { commands: [...shown, ...commands], tables, notes };
    },
  };
}
