/**
 * Load generator for bench/distchat_single.ts, one child process (Node),
 * spoken to in lines: JSON lines out on stdout, commands in on stdin.
 *
 *   node bench/_distchat_load.ts adds PORT CLIENTS WINDOW SECONDS ROOM ID
 *       each client: own socket and session, WINDOW adds in flight (same-tag
 *       retransmission after 250 ms); prints {ready}, runs on "go", prints
 *       {acked, seconds, lat (ms), retransmits}
 *   node bench/_distchat_load.ts echoes PORT CLIENTS WINDOW SECONDS
 *       the same load against an echo server (bench/_limits_worker.ts echo):
 *       no login; any reply with the tag counts
 *   node bench/_distchat_load.ts fanout PORT SESSIONS SOCKETS ROOM ID
 *       SESSIONS sessions over SOCKETS sockets, each holding its own long
 *       poll; prints {ready}; "round R" arms a round, "collect R MS" prints
 *       {times (epoch ms of each session's delivery), missing}
 *   node bench/_distchat_load.ts fanecho PORT SOCKETS
 *       the fan-out anchor: SOCKETS sockets each register ("reg") with a
 *       bench/_limits_worker.ts fan process and take its next datagram as a
 *       delivery; then as fanout
 *   node bench/_distchat_load.ts webfanout WEBURL SESSIONS ROOM ID LOCAL [ws]
 *       the same over the web transport: POST /dc, pages spread over
 *       127.0.0.LOCAL … LOCAL+3 (a server holds 256 waiting responses per
 *       IP); with `ws`, one WebSocket per session
 *   node bench/_distchat_load.ts sessions PORT COUNT SOCKETS ROOM HOLD ID
 *       logs in COUNT sessions (200 at a time), joins ROOM, polls once, then
 *       HOLD of them hold a long poll; prints {ready, loginMs}; "stop" ends
 *   node bench/_distchat_load.ts fill DB COUNT
 *       COUNT messages into a fresh server database (server id "a", room
 *       "big"); prints {ms}
 *
 * Every loop is bounded in count or time; the process exits when stdin ends.
 */
import http from "node:http";
import process from "node:process";
import { createInterface } from "node:readline";
import { randomBytes } from "node:crypto";
import type { Address } from "../lib/wire/address.ts";
import { bindUdp } from "../lib/net/udp_node.ts";
import { Endpoint, lines, nowMs, pool } from "./_distchat_udp.ts";
import { socketTo } from "./_web_socket.ts";

const out = (v: unknown) => process.stdout.write(JSON.stringify(v) + "\n");
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

const commands: string[] = [];
const wakers: (() => void)[] = [];
const rl = createInterface({ input: process.stdin });
rl.on("line", (l) => {
  commands.push(l.trim());
  for (const w of wakers.splice(0)) w();
});
rl.on("close", () => process.exit(0));
async function nextCommand(): Promise<string> {
  while (commands.length === 0) await new Promise<void>((r) => wakers.push(r));
  return commands.shift()!;
}

const [mode, ...args] = process.argv.slice(2);
const server = (port: string): Address => ({ host: "127.0.0.1", port: Number(port) });

/**
 * Runs WINDOW lanes per endpoint for `seconds` after "go": each lane sends
 * `text(tag, …)` and waits for the reply with that tag; prints {acked,
 * seconds, lat (ms), retransmits}.
 */
async function lanes(
  to: Address,
  eps: Endpoint[],
  window: number,
  seconds: number,
  text: (tag: string, c: number, l: number, n: number) => string,
  accept: (reply: string) => boolean,
): Promise<void> {
  out({ ready: true });
  if ((await nextCommand()) !== "go") return;
  const start = performance.now();
  const stopAt = start + seconds * 1000;
  const lat: number[] = [];
  let acked = 0;
  const lane = async (ep: Endpoint, c: number, l: number) => {
    let n = 0;
    while (performance.now() < stopAt) {
      const tag = ep.tag();
      const t0 = performance.now();
      const reply = await ep.request(to, tag, text(tag, c, l, n++), 250);
      const t1 = performance.now();
      if (!accept(reply)) throw new Error(`unexpected reply: ${reply.replaceAll("\n", " ")}`);
      if (t1 <= stopAt) {
        acked++;
        lat.push(Math.round((t1 - t0) * 1000) / 1000);
      }
    }
  };
  const all: Promise<void>[] = [];
  for (let c = 0; c < eps.length; c++) for (let l = 0; l < window; l++) all.push(lane(eps[c], c, l));
  await Promise.all(all);
  const retransmits = eps.reduce((a, e) => a + e.retransmits, 0);
  out({ acked, seconds, lat, retransmits });
  for (const ep of eps) await ep.close();
}

async function adds(): Promise<void> {
  const [port, clientsArg, windowArg, secondsArg, room, id] = args;
  const to = server(port);
  const eps: Endpoint[] = [];
  const tokens: string[] = [];
  for (let i = 0; i < Number(clientsArg); i++) {
    const ep = await Endpoint.open();
    eps.push(ep);
    tokens.push(await ep.login(to, `add${id}c${i}r${randomBytes(3).toString("hex")}`));
    await ep.join(to, tokens[i], room);
  }
  await lanes(
    to,
    eps,
    Number(windowArg),
    Number(secondsArg),
    (tag, c, l, n) => lines("add", tag, tokens[c], `message ${n} lane ${l} client ${c} from load ${id}`, room),
    (reply) => reply.startsWith("ok"),
  );
}

/** The adds load against an echo server (the I/O ceiling): the same datagrams, any reply with the tag counts. */
async function echoes(): Promise<void> {
  const [port, clientsArg, windowArg, secondsArg] = args;
  const token = randomBytes(32).toString("base64url");
  const eps: Endpoint[] = [];
  for (let i = 0; i < Number(clientsArg); i++) eps.push(await Endpoint.open());
  await lanes(
    server(port),
    eps,
    Number(windowArg),
    Number(secondsArg),
    (tag, c, l, n) => lines("add", tag, token, `message ${n} lane ${l} client ${c} from load 0`, "echo"),
    () => true,
  );
}

/** A session holding long polls: `poll` is one held request from `cursor`. */
type Poller = { cursor: string; poll(cursor: string): Promise<{ cursor: string; count: number }> };

async function fanout(): Promise<void> {
  const [port, sessionsArg, socketsArg, room, id] = args;
  const to = server(port);
  const n = Number(sessionsArg), sockets = Number(socketsArg);
  const eps: Endpoint[] = [];
  for (let i = 0; i < sockets; i++) eps.push(await Endpoint.open());
  const sessions: Poller[] = [];
  await pool(Array.from({ length: n }, (_, i) => i), 100, async (i) => {
    const ep = eps[i % sockets];
    const token = await ep.login(to, `fan${id}s${i}r${randomBytes(3).toString("hex")}`);
    await ep.join(to, token, room);
    const first = await ep.poll(to, token, room, "0");
    sessions.push({ cursor: first.cursor, poll: (cursor) => ep.poll(to, token, room, cursor, 30_000) });
  });
  await fanoutRounds(sessions);
}

/** The anchor of `fanout`: plain sockets that each take one datagram of the fan process (bench/_limits_worker.ts fan) per round. */
async function fanEcho(): Promise<void> {
  const [port, socketsArg] = args;
  const to = server(port);
  const reg = new TextEncoder().encode("reg");
  const sessions: Poller[] = [];
  await pool(Array.from({ length: Number(socketsArg) }, (_, i) => i), 100, async () => {
    let next: (() => void) | null = null;
    const t = await bindUdp({ host: "127.0.0.1", port: 0 }, () => next?.());
    const arrival = () => new Promise<void>((resolve) => (next = resolve));
    for (let attempt = 0; ; attempt++) {
      const got = arrival();
      t.send(reg, to);
      if (await Promise.race([got.then(() => true), sleep(500).then(() => false)])) break;
      if (attempt === 10) throw new Error("the fan process does not answer");
    }
    sessions.push({ cursor: "", poll: async () => (await arrival(), { cursor: "", count: 1 }) });
  });
  await fanoutRounds(sessions);
}

/**
 * The same over the web transport: SESSIONS pages, over HTTP (POST /dc,
 * spread over 4 local addresses from 127.0.0.LOCAL) or one WebSocket each (`ws`).
 */
async function webFanout(): Promise<void> {
  const [web, sessionsArg, room, id, localArg, via] = args;
  const n = Number(sessionsArg);
  const agents = [0, 1, 2, 3].map((k) => new http.Agent({ keepAlive: true, maxSockets: Infinity, localAddress: `127.0.0.${Number(localArg) + k}` } as http.AgentOptions));
  const post = (agent: http.Agent, page: string, text: string) =>
    new Promise<string>((resolve, reject) => {
      const req = http.request(`${web}/dc`, { method: "POST", agent, headers: { "X-DistChat-Client": page } }, (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (body += c));
        res.on("end", () => resolve(body));
      });
      req.on("error", reject);
      req.end(text);
    });
  /** How session `i` sends a datagram and gets its reply: its own WebSocket, or POST /dc as its own page. */
  const asker = async (i: number): Promise<(text: string) => Promise<string>> => {
    if (via === "ws") return (await socketTo(web)).ask;
    const agent = agents[i % agents.length];
    const page = `fanpage-${id}-${i}-${randomBytes(4).toString("hex")}`;
    return (text) => post(agent, page, text);
  };
  let tags = 0;
  const tag = () => `w${(++tags).toString(36)}`;
  const sessions: Poller[] = [];
  await pool(Array.from({ length: n }, (_, i) => i), 50, async (i) => {
    const ask = await asker(i);
    const token = (await ask(lines("login", tag(), `web${id}s${i}r${randomBytes(3).toString("hex")}`))).split("\n")[4];
    await ask(lines("connect", tag(), token, room));
    const cursor = (await ask(lines("history", tag(), token, room, 1))).split("\n")[4];
    sessions.push({
      cursor,
      poll: async (c) => {
        const r = (await ask(lines("request", tag(), token, room, c, 30_000))).split("\n");
        return r[0] === "poll" ? { cursor: r[3], count: Number(r[5]) } : { cursor: c, count: 0 };
      },
    });
  });
  await fanoutRounds(sessions);
}

/**
 * Every session keeps a long poll held; "round R" arms a round, "collect R
 * MS" prints {times (epoch ms of each session's first delivery in the
 * round), missing}; "stop" ends.
 */
async function fanoutRounds(sessions: Poller[]): Promise<void> {
  let round = 0;
  let stopped = false;
  const times = new Map<Poller, number>();
  let roundWaker: (() => void) | null = null;
  const arm = async (s: Poller) => {
    // Bounded: ends when the driver stops or the process's stdin closes.
    while (!stopped) {
      let r;
      try {
        r = await s.poll(s.cursor);
      } catch {
        return;
      }
      const at = nowMs();
      s.cursor = r.cursor;
      if (r.count > 0 && round > 0 && !times.has(s)) {
        times.set(s, at);
        if (times.size === sessions.length) roundWaker?.();
      }
    }
  };
  for (const s of sessions) void arm(s);
  out({ ready: true, sessions: sessions.length });
  for (;;) {
    const cmd = (await nextCommand()).split(" ");
    if (cmd[0] === "round") {
      round = Number(cmd[1]);
      times.clear();
    } else if (cmd[0] === "collect") {
      const deadline = Number(cmd[2]);
      if (times.size < sessions.length) {
        await Promise.race([new Promise<void>((r) => (roundWaker = r)), sleep(deadline)]);
        roundWaker = null;
      }
      out({ times: [...times.values()], missing: sessions.length - times.size });
    } else if (cmd[0] === "stop") {
      stopped = true;
      break;
    }
  }
  process.exit(0);
}

async function sessionsMode(): Promise<void> {
  const [port, countArg, socketsArg, room, holdArg, id] = args;
  const to = server(port);
  const count = Number(countArg), sockets = Number(socketsArg), hold = Number(holdArg);
  const eps: Endpoint[] = [];
  for (let i = 0; i < sockets; i++) eps.push(await Endpoint.open());
  const tokens: string[] = [];
  const t0 = performance.now();
  let entries = 0;
  await pool(Array.from({ length: count }, (_, i) => i), 200, async (i) => {
    const ep = eps[i % sockets];
    const token = await ep.login(to, `mem${id}s${i}r${randomBytes(3).toString("hex")}`);
    await ep.join(to, token, room);
    const first = await ep.poll(to, token, room, "0");
    entries += first.count; // read after the await: lanes run concurrently
    tokens[i] = token;
  });
  const loginMs = performance.now() - t0;
  for (let i = 0; i < Math.min(hold, count); i++) {
    const ep = eps[i % sockets];
    const tag = ep.tag();
    ep.request(to, tag, lines("request", tag, tokens[i], room, "a=999999999", 30_000), 0).catch(() => {});
  }
  // A cursor past every stored message: the server holds these polls.
  out({ ready: true, loginMs, entries });
  while ((await nextCommand()) !== "stop");
  process.exit(0);
}

async function fill(): Promise<void> {
  const [db, countArg] = args;
  const count = Number(countArg);
  const { Store } = await import("../lib/store/store.ts");
  const t0 = performance.now();
  const store = Store.open(db, "a", { sync: "normal" });
  const session = randomBytes(32).toString("hex");
  const at = Date.now() - 60_000;
  store.begin();
  store.appendLocal({ kind: "login", session, userName: "filler", ttl: 300 }, at);
  store.appendLocal({ kind: "open", session, groupName: "big" }, at);
  store.commit();
  const base = Number(store.vector().get("a") ?? 0);
  store.close();
  // The rest straight into the tables, as appendLocal would write them on a
  // one-server cluster: deps "0" (no other origin), conflict key ksum = seq,
  // dseq = the op's aseq, no twin (fresh tags), visible.
  const { DatabaseSync } = await import("node:sqlite");
  const sql = new DatabaseSync(db);
  sql.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL");
  const CHUNK = 100_000;
  for (let from = 0; from < count; from += CHUNK) {
    const n = Math.min(CHUNK, count - from);
    sql.exec("BEGIN");
    sql.prepare(
      `WITH RECURSIVE k(i) AS (SELECT ? UNION ALL SELECT i + 1 FROM k WHERE i < ?)
       INSERT INTO ops (origin, seq, kind, deps, at, session, room, user, tag, msg, ttl)
       SELECT 'a', ? + i, 'msg', '0', ? + i / 100, ?, 'big', 'filler', 'f' || i,
              'stored message number ' || i || ' of the memory benchmark, padded to about a hundred bytes of text.', NULL
       FROM k`,
    ).run(from + 1, from + n, base, at, session);
    sql.prepare(
      `INSERT INTO messages (rkey, dseq, origin, seq, session, tag, hidden, ksum)
       SELECT 'big', aseq, origin, seq, session, tag, 0, seq FROM ops WHERE kind = 'msg' AND seq > ? ORDER BY aseq`,
    ).run(base + from);
    sql.exec("COMMIT");
  }
  sql.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  const rows = (sql.prepare("SELECT count(*) AS n FROM messages").get() as { n: number }).n;
  sql.close();
  out({ ms: performance.now() - t0, rows });
}

const modes: Record<string, () => Promise<void>> = { adds, echoes, fanout, fanecho: fanEcho, webfanout: webFanout, sessions: sessionsMode, fill };
if (!modes[mode]) {
  console.error(`unknown mode ${mode}`);
  process.exit(2);
}
modes[mode]().catch((e) => {
  console.error((e as Error).stack ?? e);
  process.exit(1);
});
