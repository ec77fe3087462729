/**
 * Cluster figures (not a test): three real servers (the runtime running this
 * script), `--sync normal --rate-limit 0`, peer traffic through seeded
 * fault-injecting UDP proxies (testing/cluster_ops.ts). Prints a table:
 *
 * - convergence: 300 adds made concurrently on a, b, c with 20% loss / 5%
 *   duplication; time from the last ack until every server lists all 300;
 * - repair: one add whose fan-out to c is dropped (c's proxy cut, healed
 *   after the ack); time from the heal until c lists it, no other traffic;
 * - catch-up: c stopped, 10,000 adds on a, c restarted; time from restart
 *   until c lists all 10,000 (no faults);
 * - delivery latency: adds on a at ~200/s, a long poller on b; time from the
 *   add's ack on a to its arrival at the poller on b, p50/p99 (no faults).
 *
 *   node bench/cluster.ts          deno run -A bench/cluster.ts
 *   BENCH_SEED=3 ...               another proxy seed
 */
import process from "node:process";
import { runtimeVersion } from "../lib/platform/runtime.ts";
import { lines, removeTempDirs, udpClient, type UdpClient } from "../testing/harness.ts";
import {
  add,
  connectWhenThere,
  cursorText,
  enter,
  type FaultyCluster,
  login,
  parsePoll,
  readAll,
  sleep,
  startFaultyCluster,
  tag,
  within,
} from "../testing/cluster_ops.ts";

const SEED = Number(process.env.BENCH_SEED ?? 1);
const IDS = ["a", "b", "c"];
const ARGS = ["--rate-limit", "0"];
const rows: [string, string, string][] = [];

type Setup = { fc: FaultyCluster; u: Record<string, UdpClient>; tok: Record<string, string> };

async function setup(loss: number, duplicate: number, room: string): Promise<Setup> {
  const fc = await startFaultyCluster(IDS, { loss, duplicate, seed: SEED }, ARGS);
  const u: Record<string, UdpClient> = {};
  const tok: Record<string, string> = {};
  for (const id of IDS) {
    u[id] = await udpClient();
    tok[id] = await login(u[id], fc.clientAddr[id], `bench_${id}`);
  }
  await enter(u.a, fc.clientAddr.a, tok.a, room);
  for (const id of IDS.slice(1)) await connectWhenThere(u[id], fc.clientAddr[id], tok[id], room);
  return { fc, u, tok };
}

async function teardown(s: Setup): Promise<void> {
  await s.fc.stop();
  await Promise.all(Object.values(s.u).map((c) => c.close()));
}

/** True when server `id` lists exactly the msgIDs in `want`. */
async function holds(s: Setup, id: string, room: string, want: Set<string>): Promise<boolean> {
  const l = await readAll(s.u[id], s.fc.clientAddr[id], s.tok[id], room);
  return l.ids.length === want.size && l.ids.every((m) => want.has(m));
}

async function addMany(s: Setup, id: string, room: string, n: number, parallel: number, into: Set<string>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: parallel }, async () => {
    while (next < n) into.add(await add(s.u[id], s.fc.clientAddr[id], s.tok[id], room, `${id} ${next++}`));
  }));
}

async function convergence(): Promise<void> {
  const s = await setup(0.2, 0.05, "conv");
  try {
    const want = new Set<string>();
    const t0 = performance.now();
    await Promise.all(IDS.map((id) => addMany(s, id, "conv", 100, 8, want)));
    const acked = performance.now();
    const ms = await within(30_000, async () => {
      for (const id of IDS) if (!(await holds(s, id, "conv", want))) return false;
      return true;
    }, 10);
    rows.push([
      "convergence, 300 adds on 3 servers, 20% loss / 5% dup",
      ms === null ? "not within 30 s" : `${ms} ms after last ack`,
      `adds took ${Math.round(acked - t0)} ms; ${IDS.reduce((n, id) => n + s.fc.proxies[id].stats.dropped, 0)} datagrams dropped`,
    ]);

    // Repair of one lost datagram, same cluster, faults still on.
    const one = new Set(want);
    await sleep(500);
    s.fc.proxies.c.cut();
    one.add(await add(s.u.a, s.fc.clientAddr.a, s.tok.a, "conv", "lost one"));
    await sleep(100);
    s.fc.proxies.c.heal();
    const repair = await within(15_000, () => holds(s, "c", "conv", one), 10);
    rows.push([
      "repair of one lost fan-out datagram (20% loss / 5% dup on)",
      repair === null ? "not within 15 s" : `${repair} ms after heal`,
      "no other traffic; c read every 10 ms",
    ]);
  } finally {
    await teardown(s);
  }
}

async function catchUp(): Promise<void> {
  const N = 10_000;
  const s = await setup(0, 0, "catch");
  try {
    await s.fc.servers.c.stop();
    const want = new Set<string>();
    const t0 = performance.now();
    await addMany(s, "a", "catch", N, 64, want);
    const addMs = Math.round(performance.now() - t0);
    const restarted = performance.now();
    await s.fc.start("c");
    const ready = Math.round(performance.now() - restarted);
    // Read c incrementally (keeping the cursor) until it lists all N.
    let cursor = "0", seen = 0;
    const ms = await within(60_000, async () => {
      for (;;) {
        const p = parsePoll(await s.u.c.request(s.fc.clientAddr.c, lines("request", tag(), s.tok.c, "catch", cursor), 5000));
        seen += p.entries.length;
        cursor = cursorText(p);
        if (!p.more) break;
      }
      return seen >= N;
    }, 10);
    rows.push([
      `catch-up of a restarted server, ${N.toLocaleString("en")} missed messages`,
      ms === null ? `not within 60 s (${seen} listed)` : `${Math.round(performance.now() - restarted)} ms after restart`,
      `incl. ${ready} ms process start; ${N} adds took ${addMs} ms; no faults`,
    ]);
  } finally {
    await teardown(s);
  }
}

async function latency(): Promise<void> {
  const N = 250, RATE = 200;
  const s = await setup(0, 0, "lat");
  try {
    const acked = new Map<string, number>();
    const arrived = new Map<string, number>();
    let polling = true;
    const poller = (async () => {
      let cursor = (await readAll(s.u.b, s.fc.clientAddr.b, s.tok.b, "lat")).cursor;
      while (polling) {
        const r = await s.u.b.request(s.fc.clientAddr.b, lines("request", tag(), s.tok.b, "lat", cursor, 1000), 5000);
        const now = performance.now();
        const p = parsePoll(r);
        for (const e of p.entries) arrived.set(`${e.msgId.origin}.${e.msgId.n}`, now);
        cursor = cursorText(p);
      }
    })();
    await sleep(200);
    const start = performance.now();
    const pending: Promise<void>[] = [];
    for (let i = 0; i < N; i++) {
      const due = start + (i * 1000) / RATE;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      pending.push(add(s.u.a, s.fc.clientAddr.a, s.tok.a, "lat", `lat ${i}`).then((id) => void acked.set(id, performance.now())));
    }
    await Promise.all(pending);
    await within(5000, async () => [...acked.keys()].every((id) => arrived.has(id)), 20);
    polling = false;
    await poller;
    const d = [...acked].filter(([id]) => arrived.has(id)).map(([id, t]) => Math.max(0, arrived.get(id)! - t)).sort((x, y) => x - y);
    const pct = (q: number) => d[Math.min(d.length - 1, Math.floor(q * d.length))];
    rows.push([
      `delivery latency a (ack) -> long poller on b, ${N} msgs at ~${RATE}/s`,
      d.length === 0 ? "none arrived" : `p50 ${pct(0.5).toFixed(1)} ms, p99 ${pct(0.99).toFixed(1)} ms`,
      `${d.length}/${N} arrived; max ${d.length ? d[d.length - 1].toFixed(1) : "-"} ms; no faults`,
    ]);
  } finally {
    await teardown(s);
  }
}

try {
  await convergence();
  await catchUp();
  await latency();
} finally {
  removeTempDirs();
}
const w0 = Math.max(...rows.map((r) => r[0].length), 6), w1 = Math.max(...rows.map((r) => r[1].length), 6);
console.log(`DistChat cluster, 3 servers on ${runtimeVersion()}, --sync normal, proxy seed ${SEED}\n`);
console.log(`${"figure".padEnd(w0)} | ${"result".padEnd(w1)} | notes`);
console.log(`${"-".repeat(w0)}-|-${"-".repeat(w1)}-|------`);
for (const [a, b, c] of rows) console.log(`${a.padEnd(w0)} | ${b.padEnd(w1)} | ${c}`);
process.exit(0);
