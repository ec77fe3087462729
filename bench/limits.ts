/**
 * What the machine and runtime allow, measured under the runtime the servers
 * run on: UDP round trip (ping-pong between two processes), the highest
 * one-way datagram rate a receiver takes without loss, and SQLite inserts per
 * second. Each side runs in its own child process (bench/_limits_worker.ts).
 *
 * @example
 * ```ts
 * const results = await limits("deno").run(ctx);
 * ```
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { Child, Runtime } from "./_child.ts";
import { displayCommand, runtimeCommand, startChild } from "./_child.ts";
import type { Context, Measurement, Result, Table } from "./_report.ts";
import { formatSummary, summarize } from "./_stats.ts";
import { record } from "./_ratios.ts";

const WORKER = "bench/_limits_worker.ts";

/** A UDP transport as the worker names it, with a receive buffer (0: OS default). */
export type UdpVariant = { transport: "dgram" | "deno"; rcvbuf: number };

const RCVBUF = 4 * 1024 * 1024;

function variants(runtime: Runtime): UdpVariant[] {
  // Under Deno, node:dgram with 4 MiB buffers is left out: the server uses Deno.listenDatagram (lib/net/bind.ts).
  return runtime === "deno"
    ? [{ transport: "deno", rcvbuf: 0 }, { transport: "dgram", rcvbuf: 0 }]
    : [{ transport: "dgram", rcvbuf: 0 }, { transport: "dgram", rcvbuf: RCVBUF }];
}

function variantName(v: UdpVariant): string {
  const name = v.transport === "deno" ? "Deno.listenDatagram" : "node:dgram";
  return v.rcvbuf ? `${name}, SO_RCVBUF ${v.rcvbuf / 1024 / 1024} MiB` : name;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function withChildren<T>(children: Child[], body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } finally {
    await Promise.all(children.map((c) => c.stop()));
  }
}

/** One run of the round trip: echo server and pinger, both `runtime` with `v.transport`. */
export async function roundTrip(runtime: Runtime, v: UdpVariant, count: number, commands: string[]) {
  const echoArgv = runtimeCommand(runtime, WORKER, ["echo", v.transport]);
  const echo = startChild(echoArgv);
  return await withChildren([echo], async () => {
    const { port } = await echo.next<{ port: number }>(15_000);
    const pingArgv = runtimeCommand(runtime, WORKER, ["ping", v.transport, String(port), String(count)]);
    commands.push(displayCommand(echoArgv), displayCommand(pingArgv).replace(String(port), "PORT"));
    const pinger = startChild(pingArgv);
    return await withChildren([pinger], () => pinger.next<{ p50: number; p99: number; lost: number }>(90_000));
  });
}

/** Highest 0-loss rate found; `senderBound` when the sender could not go faster. */
export type RateResult = { rate: number; senderBound: boolean; bursts: number };

/**
 * One run of the rate search: a sink (`runtime`, variant `v`) and a blaster
 * (`senderRuntime`, node:dgram or the same transport). Rates double from 5,000/s
 * until a burst loses a datagram (or halve until one does not), then bisect.
 */
export async function rateSearch(
  runtime: Runtime,
  v: UdpVariant,
  sender: { runtime: Runtime; transport: "dgram" | "deno" },
  burstSeconds: number,
  commands: string[],
): Promise<RateResult> {
  const sinkArgv = runtimeCommand(runtime, WORKER, ["sink", v.transport, String(v.rcvbuf)]);
  const sink = startChild(sinkArgv);
  return await withChildren([sink], async () => {
    const { port } = await sink.next<{ port: number }>(15_000);
    const blastArgv = runtimeCommand(sender.runtime, WORKER, ["blast", sender.transport, String(port)]);
    commands.push(displayCommand(sinkArgv), displayCommand(blastArgv).replace(String(port), "PORT"));
    const blaster = startChild(blastArgv);
    return await withChildren([blaster], async () => {
      let id = 0;
      let senderBound = false;
      const attempt = async (rate: number) => {
        id++;
        const n = Math.min(500_000, Math.max(200, Math.round(rate * burstSeconds)));
        blaster.send(`burst ${id} ${Math.round(rate)} ${n}`);
        const sent = await blaster.next<{ sent: number; ms: number; errors: number }>(60_000);
        await sleep(150);
        sink.send(`count ${id}`);
        const got = await sink.next<{ count: number }>(10_000);
        const achieved = (sent.sent / sent.ms) * 1000;
        if (achieved < rate * 0.8) senderBound = true;
        return { ok: got.count === sent.sent && sent.errors === 0, achieved };
      };
      let best = 0;
      let lo = 0; // highest rate without loss so far
      let hi = Infinity; // lowest rate with loss so far
      let rate = 5000;
      for (let step = 0; step < 12 && rate >= 250 && rate <= 2_000_000; step++) {
        const r = await attempt(rate);
        if (r.ok) {
          best = Math.max(best, r.achieved);
          lo = rate;
          if (r.achieved < rate * 0.8) break; // the sender is the limit
          rate *= 2;
        } else {
          hi = rate;
          rate /= 2;
        }
        if (lo > 0 && hi !== Infinity) break;
      }
      if (hi !== Infinity && lo > 0) {
        for (let step = 0; step < 3; step++) {
          const mid = (lo + hi) / 2;
          const r = await attempt(mid);
          if (r.ok) {
            best = Math.max(best, r.achieved);
            lo = mid;
          } else hi = mid;
        }
      }
      return { rate: best, senderBound, bursts: id };
    });
  });
}

/** One run of SQLite inserts (journal WAL) into a file in `dir`. */
export async function sqliteInserts(
  runtime: Runtime,
  dir: string,
  sync: "NORMAL" | "FULL",
  batch: number,
  rows: number,
  seconds: number,
  commands: string[],
): Promise<number> {
  const argv = runtimeCommand(runtime, WORKER, ["sqlite", dir, sync, String(batch), String(rows), String(seconds)]);
  commands.push(displayCommand(argv).replace(dir, "TMPDIR"));
  const child = startChild(argv);
  return await withChildren([child], async () => (await child.next<{ perSecond: number }>(seconds * 1000 + 30_000)).perSecond);
}

/** The limits of one runtime as a measurement for bench/run.ts. */
export function limits(runtime: Runtime): Measurement {
  return {
    name: `limits-${runtime}`,
    title: `Limits under ${runtime === "node" ? "Node" : "Deno"}`,
    async run(ctx: Context): Promise<Result> {
      const commands: string[] = [];
      const tables: Table[] = [];
      const pings = ctx.quick ? 2000 : 10_000;

      const rtt: string[][] = [];
      for (const v of variants(runtime).filter((v) => v.rcvbuf === 0)) {
        const p50: number[] = [], p99: number[] = [];
        for (let run = 0; run < ctx.runs; run++) {
          const r = await roundTrip(runtime, v, pings, commands);
          p50.push(r.p50);
          p99.push(r.p99);
        }
        ctx.log(`  ${runtime} round trip ${variantName(v)}: p50 ${summarize(p50).median.toFixed(0)} µs`);
        rtt.push([variantName(v), formatSummary(summarize(p50)), formatSummary(summarize(p99))]);
      }
      tables.push({
        caption: `UDP round trip on loopback, ${pings} sequential 100-byte pings to an echo process (µs; median of ${ctx.runs} runs, min–max):`,
        head: ["transport (both sides)", "p50 µs", "p99 µs"],
        rows: rtt,
      });

      const burst = ctx.quick ? 0.15 : 0.5;
      const rates: string[][] = [];
      for (const v of variants(runtime)) {
        const found: number[] = [];
        let senderBound = false;
        for (let run = 0; run < ctx.runs; run++) {
          const r = await rateSearch(runtime, v, { runtime: "node", transport: "dgram" }, burst, commands);
          found.push(r.rate);
          senderBound ||= r.senderBound;
        }
        ctx.log(`  ${runtime} receive rate ${variantName(v)}: ${summarize(found).median.toFixed(0)}/s`);
        rates.push([variantName(v), formatSummary(summarize(found)) + (senderBound ? " (sender-bound)" : "")]);
        if (runtime === "deno" && v.transport === "deno" && v.rcvbuf === 0) record("deno.recv", summarize(found).median);
      }
      tables.push({
        caption: `Highest one-way rate a receiver takes with 0 loss (100-byte datagrams, bursts of ${burst} s from a Node node:dgram sender in another process; datagrams/s, median of ${ctx.runs} runs, min–max):`,
        head: ["receiver transport", "datagrams/s without loss"],
        rows: rates,
      });

      const dir = mkdtempSync(join(ctx.tmp, `sqlite-${runtime}-`));
      try {
        const seconds = ctx.quick ? 0.4 : 2;
        const sql: string[][] = [];
        for (const sync of ["NORMAL", "FULL"] as const) {
          for (const batch of [1, 100]) {
            const perSecond: number[] = [];
            for (let run = 0; run < ctx.runs; run++) {
              perSecond.push(await sqliteInserts(runtime, dir, sync, batch, batch * 20_000, seconds, commands));
              rmSync(dir, { recursive: true, force: true });
              mkdirSync(dir);
            }
            sql.push([`WAL, synchronous=${sync}`, String(batch), formatSummary(summarize(perSecond))]);
            if (sync === "FULL" && batch === 100) record(`${runtime}.sqlite100`, summarize(perSecond).median);
          }
        }
        tables.push({
          caption: `SQLite (node:sqlite) inserts of 100-character rows, one table with an integer primary key, into a file in the temp dir, for ${seconds} s (rows/s, median of ${ctx.runs} runs, min–max):`,
          head: ["journal, sync", "rows per commit", "rows/s"],
          rows: sql,
        });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      const notes = [
        "Round trip and rate: each side is its own child process of this runtime; the rate sender is always Node's node:dgram, so the receiver is what is measured (\"sender-bound\": the sender could not go faster, the receiver lost nothing).",
        "A rate passes only if every datagram of the burst arrives; the search doubles from 5,000/s until a burst loses one, then bisects three times. Short bursts on a shared machine make this noisy: compare medians.",
        "SQLite: journal_mode=WAL; synchronous=NORMAL syncs only at checkpoints, FULL syncs the WAL at every commit.",
      ];
      if (runtime === "deno") {
        notes.push("lib/net/bind.ts picks Deno.listenDatagram under Deno (deno.json turns on the unstable net API it needs) and node:dgram under Node.");
      }
      return { commands, tables, notes };
    },
  };
}
