/**
 * One side of a limits measurement, run as a child process under the runtime
 * being measured (Node or Deno). Prints JSON lines on stdout, takes commands
 * on stdin, exits when stdin closes (or after 10 minutes in any case).
 *
 *   echo TRANSPORT [BUF]           echo server (socket buffers of BUF bytes); prints {"port"}
 *   ping TRANSPORT PORT COUNT      sequential round trips; prints {"p50","p99",...} in µs
 *   sink TRANSPORT RCVBUF          counts datagrams per burst; prints {"port"};
 *                                  stdin "count ID" → {"id","count"}
 *   blast TRANSPORT PORT           stdin "burst ID RATE N" → sends N 100-byte
 *                                  datagrams at RATE/s; prints {"id","sent","ms","errors"}
 *   sqlite DIR SYNC BATCH ROWS SECONDS [RATE]   inserts; prints {"rows","ms","perSecond","p50","p99","max"} (per transaction, µs);
 *                                  with RATE, transaction i is due at i/RATE s and timed as its own time plus how
 *                                  long the earlier ones held it past then (open loop: a slow one delays the next,
 *                                  as requests wait behind a server's commit; the runtime's timer is not counted)
 *   fan TRANSPORT                  fan-out anchor; prints {"port"}: a datagram "reg" is
 *                                  answered "ok" and its source kept; any other
 *                                  datagram is answered with one FAN_BYTES datagram
 *                                  to every source kept, in one loop
 *
 * TRANSPORT is "dgram" (node:dgram, lib/net/udp_node.ts) or "deno" (Deno.listenDatagram, lib/net/udp_deno.ts).
 */
import { join } from "node:path";
import process from "node:process";
import { createInterface } from "node:readline";
import { setImmediate } from "node:timers";
import { bindUdp } from "../lib/net/udp_node.ts";
import type { Address } from "../lib/wire/address.ts";
import type { OnDatagram, Transport, UdpOptions } from "../lib/wire/transport.ts";

const LOOPBACK = "127.0.0.1";
const DATAGRAM_BYTES = 100;

setTimeout(() => process.exit(3), 600_000).unref();

function out(value: unknown): void {
  process.stdout.write(JSON.stringify(value) + "\n");
}

async function bind(kind: string, onDatagram: OnDatagram, options: UdpOptions = {}): Promise<Transport> {
  const at = { host: LOOPBACK, port: 0 };
  if (kind === "dgram") return bindUdp(at, onDatagram, options);
  if (kind === "deno") {
    const { bindDenoUdp } = await import("../lib/net/udp_deno.ts");
    return bindDenoUdp(at, onDatagram, options);
  }
  throw new RangeError(`transport "${kind}" is not dgram or deno`);
}

/** Calls `handle` for each stdin line; exits when stdin closes. */
function commands(handle: (words: string[]) => Promise<void> | void, onEnd: () => Promise<void>): void {
  const rl = createInterface({ input: process.stdin });
  let queue = Promise.resolve();
  rl.on("line", (line) => {
    queue = queue.then(() => handle(line.trim().split(/\s+/))).catch((e) => out({ error: String(e) }));
  });
  rl.on("close", () => {
    queue.then(onEnd).finally(() => process.exit(0));
  });
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function echo(kind: string, buf: number): Promise<void> {
  const options = buf > 0 ? { recvBufferSize: buf, sendBufferSize: buf } : {};
  const t: Transport = await bind(kind, (bytes, from) => t.send(bytes, from), options);
  out({ port: t.address.port });
  commands(() => {}, () => t.close());
}

/** About the size of a poll reply carrying one short message (the DistChat fan-out it anchors). */
const FAN_BYTES = 120;

async function fan(kind: string): Promise<void> {
  const to = new Map<string, Address>();
  const reply = new Uint8Array(FAN_BYTES).fill(0x66);
  const ok = new TextEncoder().encode("ok");
  const t: Transport = await bind(kind, (bytes, from) => {
    if (bytes.length === 3 && new TextDecoder().decode(bytes) === "reg") {
      to.set(`${from.host}:${from.port}`, from);
      t.send(ok, from);
      return;
    }
    for (const a of to.values()) t.send(reply, a);
  }, { sendBufferSize: 4 << 20 });
  out({ port: t.address.port });
  commands(() => {}, () => t.close());
}

/** Nearest-rank percentile of ascending samples. */
const sortedAt = (sorted: readonly number[], p: number): number => sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)];

async function ping(kind: string, port: number, count: number): Promise<void> {
  const to: Address = { host: LOOPBACK, port };
  let answer: (() => void) | null = null;
  const t = await bind(kind, () => answer?.());
  const payload = new Uint8Array(DATAGRAM_BYTES).fill(0x61);
  const once = () =>
    new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        answer = null;
        resolve(false);
      }, 1000);
      answer = () => {
        clearTimeout(timer);
        answer = null;
        resolve(true);
      };
      t.send(payload, to);
    });
  const warmup = Math.min(500, count);
  for (let i = 0; i < warmup; i++) await once();
  const rtts: number[] = [];
  let lost = 0;
  const deadline = performance.now() + 60_000;
  for (let i = 0; i < count && performance.now() < deadline; i++) {
    const t0 = performance.now();
    if (await once()) rtts.push((performance.now() - t0) * 1000);
    else lost++;
  }
  rtts.sort((a, b) => a - b);
  out({ count: rtts.length, lost, p50: sortedAt(rtts, 50), p99: sortedAt(rtts, 99), mean: rtts.reduce((a, b) => a + b, 0) / rtts.length });
  await t.close();
  process.exit(0);
}

async function sink(kind: string, rcvbuf: number): Promise<void> {
  const counts = new Map<number, number>();
  const t = await bind(kind, (bytes) => {
    if (bytes.length < 4) return;
    const id = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0);
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }, rcvbuf > 0 ? { recvBufferSize: rcvbuf } : {});
  out({ port: t.address.port });
  commands((words) => {
    if (words[0] !== "count") throw new SyntaxError(`unknown command ${words[0]}`);
    const id = Number(words[1]);
    out({ id, count: counts.get(id) ?? 0 });
    counts.delete(id);
  }, () => t.close());
}

async function blast(kind: string, port: number): Promise<void> {
  const to: Address = { host: LOOPBACK, port };
  const t = await bind(kind, () => {});
  commands(async (words) => {
    if (words[0] !== "burst") throw new SyntaxError(`unknown command ${words[0]}`);
    const [id, rate, n] = words.slice(1).map(Number);
    const payload = new Uint8Array(DATAGRAM_BYTES).fill(0x62);
    new DataView(payload.buffer).setUint32(0, id);
    const errorsBefore = t.sendErrors;
    const t0 = performance.now();
    let sent = 0;
    while (sent < n) {
      const due = Math.min(n, Math.ceil(((performance.now() - t0) * rate) / 1000) + 1);
      while (sent < due) {
        t.send(payload, to);
        sent++;
      }
      await tick();
    }
    const ms = performance.now() - t0;
    await sleep(20); // let send callbacks report errors
    out({ id, sent, ms, errors: t.sendErrors - errorsBefore });
  }, () => t.close());
}

async function sqlite(dir: string, sync: string, batch: number, rows: number, seconds: number, rate = 0): Promise<void> {
  if (sync !== "NORMAL" && sync !== "FULL") throw new RangeError(`synchronous ${sync} is not NORMAL or FULL`);
  const { DatabaseSync } = await import("node:sqlite");
  const db = new DatabaseSync(join(dir, `bench-${sync}-${batch}.sqlite`));
  db.exec(`PRAGMA journal_mode=WAL; PRAGMA synchronous=${sync};`);
  db.exec("CREATE TABLE m (id INTEGER PRIMARY KEY, room TEXT NOT NULL, body TEXT NOT NULL)");
  const insert = db.prepare("INSERT INTO m (room, body) VALUES (?, ?)");
  const body = "x".repeat(100);
  const t0 = performance.now();
  const until = t0 + seconds * 1000;
  let done = 0;
  /** Each transaction's time, µs: the floor's tail (bench/_floor.ts) is this commit's p99. */
  const each: number[] = [];
  // Paced: a commit's own time plus how long the commits before it held it past its due moment (a stalled sync delays
  // the ones behind it) — not the runtime's timer: Node fires a fractional wait up to 1 ms early, Deno ~0.3–1 ms late
  // (docs/PERFORMANCE_NOTES.md §8b "Deno's tails"), which timing from the due moment counted as the disk's.
  let prevEnd = t0;
  for (let n = 0; done < rows && performance.now() < until; n++) {
    const due = t0 + (n * 1000) / rate;
    if (rate > 0 && due > performance.now()) await new Promise((resolve) => setTimeout(resolve, due - performance.now()));
    const c0 = performance.now();
    db.exec("BEGIN");
    for (let i = 0; i < batch; i++) insert.run("lobby", body);
    db.exec("COMMIT");
    const end = performance.now();
    each.push((end - c0 + (rate > 0 ? Math.max(0, prevEnd - due) : 0)) * 1000);
    prevEnd = end;
    done += batch;
  }
  const ms = performance.now() - t0;
  const mode = (db.prepare("PRAGMA journal_mode").get() as { journal_mode: string }).journal_mode;
  db.close();
  each.sort((x, y) => x - y);
  out({ rows: done, ms, perSecond: (done / ms) * 1000, journal: mode, p50: sortedAt(each, 50), p99: sortedAt(each, 99), max: each.at(-1) });
}

const [role, ...args] = process.argv.slice(2);
switch (role) {
  case "echo":
    await echo(args[0], Number(args[1] ?? 0));
    break;
  case "ping":
    await ping(args[0], Number(args[1]), Number(args[2]));
    break;
  case "sink":
    await sink(args[0], Number(args[1] ?? 0));
    break;
  case "blast":
    await blast(args[0], Number(args[1]));
    break;
  case "fan":
    await fan(args[0]);
    break;
  case "sqlite":
    await sqlite(args[0], args[1], Number(args[2]), Number(args[3]), Number(args[4]), Number(args[5] ?? 0));
    break;
  default:
    console.error(`Unknown role "${role}": echo, ping, sink, blast, fan or sqlite`);
    process.exit(2);
}
