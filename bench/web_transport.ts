/**
 * The web transport's measurements (issue 12), each figure beside its UDP
 * anchor measured in the same run, against servers in the default durable
 * configuration (quotas off: one process plays a thousand users):
 * 1. fan-out: one message to 1,000 sessions holding long polls in one room,
 *    over HTTP (held responses) and over UDP: p50/p99 from the add's send
 *    to each delivery, and their ratio (goal ≤ 2×);
 * 2. joining a room: `connect` + `history` of the newest 50 over HTTP, in a
 *    room of 100 messages and in one of 1,000,000 (goal: within 2×);
 * 3. cross-server delivery in a three-server cluster: sent to a, received
 *    by a long poll at b, web → web and UDP → UDP, 50 messages a second.
 * Loopback only, bounded in count and time. Run by `npm run bench` and by
 * `npm run bench:web` (bench/web.ts).
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { Store } from "../lib/store/store.ts";
import { sessionId } from "../lib/server/chat.ts";
import { type Child, type Runtime, runtimeCommand, startChild, stopAll } from "./_child.ts";
import { startBenchServer } from "./_distchat_server.ts";
import { Endpoint, lines, nowMs } from "./_distchat_udp.ts";
import { socketTo } from "./_web_socket.ts";
import { formatNumber, formatSummary, percentile, summarize } from "./_stats.ts";
import type { Context, Measurement, Result } from "./_report.ts";
import { fanRounds } from "./_fan_rounds.ts";
import { freeTcpPort, makeCluster, startServer } from "../testing/harness.ts";

/** Sessions in the fan-out: 1,000 (300 with --quick). */
let FAN = 1000;
const ms = (x: number) => formatNumber(x, 2);
const sleep = (t: number) => new Promise((r) => setTimeout(r, t));
/** Set per run by webTransport: the servers' runtime, quick mode and the progress log. */
let runtime: Runtime = "node";
let quick = false;
let ROUNDS = 10;
let BIG = 1_000_000;
let log = (_s: string) => {};

let tagNo = 0;
const tag = () => `b${(++tagNo).toString(36)}`;
const field = (reply: string, i: number) => reply.split("\n")[i];

// --- 1. Fan-out -------------------------------------------------------------------

/**
 * One message to FAN sessions holding long polls, ROUNDS times, for each
 * transport: the sessions live in PROCS load processes (bench/_distchat_load.ts
 * `fanout` / `webfanout`, the same round protocol), as in the one-server fan-out.
 */
async function fanout(): Promise<{ ws: number[]; web: number[]; udp: number[]; cmd: string }> {
  const PROCS = 2;
  const dir = mkdtempSync(join(os.tmpdir(), "distchat-webfan-"));
  const webPort = await freeTcpPort();
  const srv = await startBenchServer(runtime, dir, ["--rate-limit", "0", "--web", `127.0.0.1:${webPort}`]);
  const web = `http://127.0.0.1:${webPort}`;
  const to = { host: "127.0.0.1", port: srv.port };
  const writer = await Endpoint.open();
  const out = { ws: [] as number[], web: [] as number[], udp: [] as number[], cmd: srv.shown };
  const children: Child[] = [];
  try {
    const wtoken = await writer.login(to, "writer");
    await writer.join(to, wtoken, "fan");
    for (const kind of ["ws", "web", "udp"] as const) {
      const procs: Child[] = [];
      for (let p = 0; p < PROCS; p++) {
        const args = kind === "udp"
          ? ["fanout", String(srv.port), String(FAN / PROCS), "10", "fan", `${kind}${p}`]
          : ["webfanout", web, String(FAN / PROCS), "fan", `${kind}${p}`, String(2 + 4 * p), ...(kind === "ws" ? ["ws"] : [])];
        const c = startChild(runtimeCommand("node", "bench/_distchat_load.ts", args));
        procs.push(c);
        children.push(c);
      }
      const { samples, missing } = await fanRounds(procs, ROUNDS, async (r) => {
        const t = writer.tag();
        const t0 = nowMs();
        const ack = await writer.request(to, t, lines("add", t, wtoken, `round ${r} ${kind}`, "fan"));
        if (!ack.startsWith("ok")) throw new Error(`add: ${ack}`);
        return t0;
      }, { readyMs: 120_000, settleMs: 500, collectMs: 10_000, rearmMs: 200 });
      out[kind].push(...samples);
      await stopAll(procs);
      if (missing > 0) log(`  fan-out ${kind}: ${missing} deliveries missing`);
      log(`  fan-out ${kind}: p50 ${ms(percentile(out[kind], 50))} ms, p99 ${ms(percentile(out[kind], 99))} ms`);
    }
  } finally {
    await writer.close();
    await stopAll(children);
    await srv.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

// --- 2. Joining a room of a million ---------------------------------------------------

/** Fills a new database with one session, a room of `small` and a room of `big` messages (in-process, batched). */
export function fill(db: string, small: number, big: number): void {
  const store = Store.open(db, "a", { sync: "normal" });
  store.setOrigin("a");
  const session = sessionId("filler-token-0123456789");
  const at = Date.now() - 3_600_000;
  store.begin();
  store.appendLocal({ kind: "login", session, userName: "filler", ttl: 300 }, at);
  store.appendLocal({ kind: "open", session, groupName: "small" }, at);
  store.appendLocal({ kind: "open", session, groupName: "huge" }, at);
  store.commit(false);
  for (const [room, n] of [["small", small], ["huge", big]] as const) {
    for (let i = 0; i < n; i += 5000) {
      store.begin();
      for (let k = i; k < Math.min(n, i + 5000); k++) {
        store.appendLocal({ kind: "msg", session, tag: `t${room[0]}${k.toString(36)}`, groupName: room, userName: "filler", msg: `message ${k} of ${room}, some words to make it a line` }, at + k);
      }
      store.takeLocalOps();
      store.takeDirtyRooms();
      store.commit(false);
    }
  }
  store.close();
}

async function joinRoom(): Promise<{ small: number[]; huge: number[]; cmd: string; fillS: number }> {
  const dir = mkdtempSync(join(os.tmpdir(), "distchat-webjoin-"));
  const t0 = performance.now();
  fill(join(dir, "a.sqlite"), 100, BIG);
  const fillS = (performance.now() - t0) / 1000;
  log(`  join: filled rooms of 100 and ${BIG} messages in ${fillS.toFixed(0)} s`);
  const webPort = await freeTcpPort();
  const srv = await startBenchServer(runtime, dir, ["--rate-limit", "0", "--web", `127.0.0.1:${webPort}`]);
  const web = `http://127.0.0.1:${webPort}`;
  const out = { small: [] as number[], huge: [] as number[], cmd: srv.shown, fillS };
  try {
    const reps = quick ? 20 : 50;
    for (let i = 0; i < reps; i++) {
      for (const room of ["small", "huge"] as const) {
        const sock = await socketTo(web);
        const token = field(await sock.ask(lines("login", tag(), `j${room}${i}`)), 4);
        const s = performance.now();
        const c = await sock.ask(lines("connect", tag(), token, room));
        const h = await sock.ask(lines("history", tag(), token, room, 50));
        out[room].push(performance.now() - s);
        sock.close();
        if (!c.startsWith("ok") || field(h, 2) !== "history" || field(h, 6) !== "50") throw new Error(`join ${room}: ${c} / ${h.slice(0, 80)}`);
      }
    }
    log(`  join: small p50 ${ms(percentile(out.small, 50))} ms, huge p50 ${ms(percentile(out.huge, 50))} ms`);
  } finally {
    await srv.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

// --- 3. Cross-server delivery ---------------------------------------------------------

/**
 * `n` messages at 50 a second through `send`, while a reader polls with
 * `poll` (from `cursor`; it returns the poll reply's text): each message's
 * time from its send to the reply that brings it, ms.
 */
async function timedDelivery(
  n: number,
  label: string,
  send: (text: string) => void,
  poll: (cursor: string) => Promise<string>,
  cursor: string,
): Promise<number[]> {
  const sentAt = new Map<string, number>();
  const out: number[] = [];
  const reading = (async () => {
    while (out.length < n) {
      const f = (await poll(cursor)).split("\n");
      const now = performance.now();
      cursor = f[3];
      for (let i = 0; i < Number(f[5]); i++) {
        const t = sentAt.get(f[6 + i * 4 + 3]);
        if (t !== undefined) out.push(now - t);
      }
    }
  })();
  for (let i = 0; i < n; i++) {
    const text = `${label} ${i}`;
    sentAt.set(text, performance.now());
    send(text);
    await sleep(20);
  }
  await Promise.race([reading, sleep(30_000)]);
  return out;
}

async function crossServer(): Promise<{ web: number[]; udp: number[] }> {
  const { file, entries } = await makeCluster(["a", "b", "c"], undefined, { web: "http" });
  const servers = [];
  for (const e of entries) {
    const u = new URL(e.web!);
    servers.push(await startServer({
      id: e.id,
      servers: file,
      extraArgs: ["--rate-limit", "0", "--web", `${u.hostname}:${u.port}`],
      command: (args) => runtimeCommand(runtime, "server.ts", args),
    }));
  }
  const out = { web: [] as number[], udp: [] as number[] };
  const N = quick ? 100 : 400;
  try {
    const [a, b] = servers;
    // WebSocket → WebSocket (what the web client uses)
    const sender = await socketTo(a.web!);
    const reader = await socketTo(b.web!);
    const stoken = field(await sender.ask(lines("login", tag(), "xsend")), 4);
    await sender.ask(lines("open", tag(), stoken, "cross"));
    const rtoken = field(await reader.ask(lines("login", tag(), "xread")), 4);
    await sleep(500);
    await reader.ask(lines("connect", tag(), rtoken, "cross"));
    const cursor = field(await reader.ask(lines("history", tag(), rtoken, "cross", 1)), 4);
    out.web = await timedDelivery(N, "web", (text) => void sender.ask(lines("add", tag(), stoken, text, "cross")),
      (c) => reader.ask(lines("request", tag(), rtoken, "cross", c, 30_000)), cursor);
    sender.close();
    reader.close();
    // UDP → UDP, the same pattern
    const ea = await Endpoint.open(), eb = await Endpoint.open();
    try {
      const st = await ea.login(a.clientAddr, "usend");
      await ea.join(a.clientAddr, st, "crossu");
      const rt = await eb.login(b.clientAddr, "uread");
      await sleep(500);
      await eb.join(b.clientAddr, rt, "crossu");
      const ucursor = (await eb.poll(b.clientAddr, rt, "crossu", "0")).cursor;
      out.udp = await timedDelivery(N, "udp", (text) => {
        const t = ea.tag();
        void ea.request(a.clientAddr, t, lines("add", t, st, text, "crossu"));
      }, async (c) => (await eb.poll(b.clientAddr, rt, "crossu", c, 30_000)).text, ucursor);
    } finally {
      await ea.close();
      await eb.close();
    }
    log(`  cross-server: web p50 ${ms(percentile(out.web, 50))} ms, udp p50 ${ms(percentile(out.udp, 50))} ms`);
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
  return out;
}


/** The web transport measurement with servers under `rt`. */
export function webTransport(rt: Runtime): Measurement {
  const label = rt === "node" ? "Node" : "Deno";
  return {
    name: `web-${rt}`,
    title: `Web transport under ${label}: fan-out, joining a huge room, cross-server delivery (UDP anchors in the same run)`,
    async run(ctx: Context): Promise<Result> {
      runtime = rt;
      quick = ctx.quick;
      ROUNDS = quick ? 3 : 6;
      BIG = quick ? 100_000 : 1_000_000;
      FAN = quick ? 300 : 1000;
      log = ctx.log;
      // Fan-out: `runs` runs (a fresh server each) of ROUNDS rounds; per run the p50 and p99 of each transport.
      const runs = quick ? 1 : Math.min(ctx.runs, 2);
      const per = { ws: [[], []], web: [[], []], udp: [[], []] } as Record<"ws" | "web" | "udp", [number[], number[]]>;
      let cmd = "";
      for (let r = 0; r < runs; r++) {
        const f = await fanout();
        cmd = f.cmd;
        for (const k of ["ws", "web", "udp"] as const) (per[k][0].push(percentile(f[k], 50)), per[k][1].push(percentile(f[k], 99)));
      }
      const j = await joinRoom();
      const x = await crossServer();
      const p = (xs: number[], q: number) => ms(percentile(xs, q));
      const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}×`;
      const fan = (k: "ws" | "web" | "udp", q: 0 | 1) => formatSummary(summarize(per[k][q]), 2);
      const fanRatio = (k: "ws" | "web", q: 0 | 1) => ratio(summarize(per[k][q]).median, summarize(per.udp[q]).median);
      return {
        commands: [cmd],
        tables: [
          {
            caption: `One message to ${FAN} sessions holding long polls in one room over WebSockets (what the web client uses), over HTTP (its fallback) and over UDP: ${ROUNDS} rounds per run, median of ${runs} run(s) (min–max), each run a fresh server measuring all three; then cross-server delivery a → b in a three-server cluster (${x.web.length} / ${x.udp.length} messages at 50/s, WebSocket and UDP, one run); all in this run of the bench (bench/web_transport.ts); ms:`,
            head: ["figure", "web", "UDP, same run", "ratio", "goal"],
            rows: [
              [`fan-out to ${FAN}, WebSocket, p50`, fan("ws", 0), fan("udp", 0), fanRatio("ws", 0), ""],
              [`fan-out to ${FAN}, WebSocket, p99`, fan("ws", 1), fan("udp", 1), fanRatio("ws", 1), "≤ 2×"],
              [`fan-out to ${FAN}, HTTP held responses, p50`, fan("web", 0), fan("udp", 0), fanRatio("web", 0), ""],
              [`fan-out to ${FAN}, HTTP held responses, p99`, fan("web", 1), fan("udp", 1), fanRatio("web", 1), ""],
              ["cross-server delivery a → b, WebSocket, p50", p(x.web, 50), p(x.udp, 50), ratio(percentile(x.web, 50), percentile(x.udp, 50)), ""],
              ["cross-server delivery a → b, WebSocket, p99", p(x.web, 99), p(x.udp, 99), ratio(percentile(x.web, 99), percentile(x.udp, 99)), ""],
            ],
          },
          {
            caption: `Joining a room over a WebSocket (as the web client does): \`connect\` + \`history\` of the newest 50 (${j.small.length} joins each; rooms filled in-process in ${j.fillS.toFixed(0)} s); ms:`,
            head: ["room", "p50", "p99"],
            rows: [
              ["100 messages", p(j.small, 50), p(j.small, 99)],
              [`${formatNumber(BIG)} messages`, p(j.huge, 50), p(j.huge, 99)],
              ["ratio (goal ≤ 2×)", ratio(percentile(j.huge, 50), percentile(j.small, 50)), ratio(percentile(j.huge, 99), percentile(j.small, 99))],
            ],
          },
        ],
        notes: [
          "Quotas off (`--rate-limit 0`) so that one load process can be a thousand users; over HTTP the 1,000 pages come from 8 loopback addresses.",
          "Fan-out: the 1,000 sessions of each transport live in two load processes (bench/_distchat_load.ts `fanout` / `webfanout`), each re-polling as soon as a reply comes; a delivery is the first reply of the round with a message. Load processes and server share the machine's cores.",
        ],
      };
    },
  };
}
