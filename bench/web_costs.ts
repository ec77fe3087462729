/**
 * What the web listener's limits are sized by (docs/OPERATIONS.md "Web"):
 * the server's RSS and CPU time for each idle TCP connection and each
 * WebSocket (5,000 of each from 20 addresses of 127.0.0.0/8), and for each
 * `/metrics` scrape (200, from 40 addresses) on a database of `--messages`
 * messages, and for each HTTP request: a GET of one of the page's files, a
 * revalidating GET (304), a `POST /dc` (4,000 of each over kept-alive
 * connections from 10 addresses, the server at `--rate-limit 0`). A fresh
 * server per round; one line per round.
 *
 *   node bench/web_costs.ts [--runtime node|deno] [--rounds N] [--messages N] [--only connections|metrics|requests]
 */
import http from "node:http";
import net from "node:net";
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import process from "node:process";
import { defineCommand, fail, parseCommandLine } from "../lib/config/cli.ts";
import { cpuSeconds, type Runtime } from "./_child.ts";
import { type BenchServer, startBenchServer } from "./_distchat_server.ts";
import { fill } from "./web_transport.ts";
import { freeTcpPort } from "../testing/harness.ts";
import { rawGet, rawWebSocket } from "../testing/raw_web.ts";
import { WebFiles } from "../lib/web/files.ts";

const COMMAND = defineCommand({
  name: "web_costs",
  about: "What a web connection, a /metrics scrape and an HTTP request cost the server (RSS, CPU), a fresh server per round.",
  usage: "npm run bench:web-costs -- [--runtime node|deno] [--rounds N] [--messages N] [--only WHAT]",
  flags: {
    runtime: { type: "string", value: "node|deno", default: "node", help: "the server's runtime" },
    rounds: { type: "string", value: "N", default: "3", help: "rounds of each measurement" },
    messages: { type: "string", value: "N", default: "1000000", help: "messages in the database the scrapes read" },
    only: { type: "string", value: "WHAT", help: "connections, metrics or requests: that measurement alone" },
  },
});
const { values: flags } = parseCommandLine(COMMAND);
if (flags.only !== undefined && !["connections", "metrics", "requests"].includes(flags.only)) fail("web_costs", `--only must be connections, metrics or requests, got "${flags.only}"`);
const measuring = (what: string) => flags.only === undefined || flags.only === what;
if (flags.runtime !== "node" && flags.runtime !== "deno") fail("web_costs", `--runtime must be node or deno, got "${flags.runtime}"`);
if (!/^[1-9]\d?$/.test(flags.rounds!) || !/^\d{1,8}$/.test(flags.messages!)) fail("web_costs", "--rounds 1..99, --messages a whole number");
const runtime = flags.runtime as Runtime;
const CONNECTIONS = 5000, ADDRESSES = 20;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `n` connections from 127.0.`net`.1–20, opened by `open`; resolves with a function that closes them. */
async function connections(open: (from: string) => Promise<{ destroy(): void }>, subnet: number): Promise<() => void> {
  const held: { destroy(): void }[] = [];
  for (let a = 1; a <= ADDRESSES; a++) {
    for (let i = 0; i < CONNECTIONS / ADDRESSES; i += 125) held.push(...await Promise.all(Array.from({ length: 125 }, () => open(`127.0.${subnet}.${a}`))));
  }
  return () => held.forEach((c) => c.destroy());
}

const idle = (port: number) => (from: string) =>
  new Promise<net.Socket>((resolve) => {
    const s = net.connect({ host: "127.0.0.1", port, localAddress: from }, () => resolve(s));
    s.on("error", () => resolve(s));
  });
const socket = (web: string) => async (from: string) => {
  const ws = await rawWebSocket(web, { localAddress: from });
  if (ws.status !== 101) throw new Error(`upgrade answered ${ws.status}`);
  return ws.socket;
};

/** Runs `measure` against a fresh server (on a copy of database `db`, or an empty one; `extra` flags). */
async function round(db: string | null, measure: (srv: BenchServer, web: string, port: number) => Promise<string>, extra: string[] = []): Promise<string> {
  const dir = mkdtempSync(join(os.tmpdir(), "distchat-webcosts-"));
  const port = await freeTcpPort();
  if (db) copyFileSync(db, join(dir, "a.sqlite"));
  const srv = await startBenchServer(runtime, dir, ["--web", `127.0.0.1:${port}`, ...extra]);
  try {
    const web = `http://127.0.0.1:${port}`;
    await rawGet(web, "/");
    await sleep(1000);
    return await measure(srv, web, port);
  } finally {
    await srv.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A request of a kind: method, path, headers, body. */
type Req = { method: string; path: string; headers: Record<string, string>; body?: string };

/** `REQUESTS` requests made by `make(i)`, 4 at a time on kept-alive connections from each of 10 addresses; the statuses seen. */
async function hammer(web: string, make: (i: number) => Req): Promise<Map<number, number>> {
  const statuses = new Map<number, number>();
  await Promise.all(Array.from({ length: 10 }, async (_, a) => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 4, localAddress: `127.0.6.${a + 1}` });
    const one = (r: Req) =>
      new Promise<void>((resolve) => {
        const q = http.request(`${web}${r.path}`, { method: r.method, headers: r.headers, agent }, (res) => {
          statuses.set(res.statusCode ?? 0, (statuses.get(res.statusCode ?? 0) ?? 0) + 1);
          res.resume().on("end", resolve).on("error", resolve);
        });
        q.on("error", () => resolve());
        q.end(r.body);
      });
    const per = REQUESTS / 10;
    for (let i = 0; i < per; i += 4) await Promise.all([0, 1, 2, 3].map((k) => one(make(a * per + i + k))));
    agent.destroy();
  }));
  return statuses;
}

const REQUESTS = 4000;
if (measuring("requests")) {
  const files = new WebFiles();
  const paths = ["/", "/style.css", "/favicon.svg", ...files.modules()];
  const host = { Host: "127.0.0.1" };
  const kinds: [string, (i: number) => Req][] = [
    [`GET of a page file (${paths.length} in turn)`, (i) => ({ method: "GET", path: paths[i % paths.length], headers: host })],
    ["GET revalidated (304)", (i) => ({ method: "GET", path: paths[i % paths.length], headers: { ...host, "If-None-Match": files.get(paths[i % paths.length])!.etag } })],
    ["POST /dc (logout of an unknown token)", (i) => ({
      method: "POST",
      path: "/dc",
      headers: { ...host, "X-DistChat-Client": `bench-page-${String(i % 40).padStart(8, "0")}` },
      body: `logout\nq${i}\n${"T".repeat(43)}\n`,
    })],
  ];
  for (const [kind, make] of kinds) {
    for (let r = 0; r < Number(flags.rounds); r++) {
      console.log(await round(null, async (srv, web) => {
        const pid = srv.rss().pid;
        for (const path of paths) await rawGet(web, path); // the module graph is built at the first module asked for
        await sleep(300);
        const cpu0 = cpuSeconds(pid);
        const statuses = await hammer(web, make);
        return `${kind}: CPU ${((cpuSeconds(pid) - cpu0) * 1e6 / REQUESTS).toFixed(0)} µs each (${REQUESTS}, statuses ${JSON.stringify(Object.fromEntries(statuses))}, ${runtime})`;
      }, ["--rate-limit", "0"]));
    }
  }
}

for (const kind of measuring("connections") ? ["idle TCP connection", "WebSocket"] as const : []) {
  for (let r = 0; r < Number(flags.rounds); r++) {
    console.log(await round(null, async (srv, web, port) => {
      const { rssKiB: rss0, pid } = srv.rss();
      const cpu0 = cpuSeconds(pid);
      const close = await connections(kind === "WebSocket" ? socket(web) : idle(port), kind === "WebSocket" ? 8 : 9);
      await sleep(300);
      const line = `${kind}: RSS +${((srv.rss().rssKiB - rss0) / CONNECTIONS).toFixed(1)} KiB, CPU ${((cpuSeconds(pid) - cpu0) * 1e6 / CONNECTIONS).toFixed(0)} µs each (${CONNECTIONS} from ${ADDRESSES} addresses, ${runtime})`;
      close();
      return line;
    }));
  }
}
const template = mkdtempSync(join(os.tmpdir(), "distchat-webcosts-db-"));
if (measuring("metrics")) fill(join(template, "a.sqlite"), 0, Number(flags.messages));
for (let r = 0; r < (measuring("metrics") ? Number(flags.rounds) : 0); r++) {
  console.log(await round(join(template, "a.sqlite"), async (srv, web) => {
    const pid = srv.rss().pid;
    const cpu0 = cpuSeconds(pid);
    let served = 0;
    for (let a = 1; a <= 40; a++) for (let k = 0; k < 5; k++) if ((await rawGet(web, "/metrics", { localAddress: `127.0.7.${a}` })).status === 200) served++;
    return `/metrics scrape: CPU ${((cpuSeconds(pid) - cpu0) * 1000 / served).toFixed(2)} ms each (${served} scrapes, ${flags.messages} messages, ${runtime})`;
  }));
}
rmSync(template, { recursive: true, force: true });
process.exit(0);
