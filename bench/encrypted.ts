/**
 * Encryption beside plaintext, in the same run (not a test): two clusters
 * of two real servers, one with every path plaintext (no key=: clients and
 * peer links plaintext, --allow-plaintext) and one with every path
 * encrypted (key=: clients through lib/secure, peer links Noise_KKpsk0),
 * each figure taken on both, alternating, several runs each.
 *
 * - acked adds/s of one server, 8 clients x 16 in flight (each client its
 *   own socket and session; encrypted clients seal in this process);
 * - reading a 1,000-message backlog from the server a client logged in at,
 *   and from the next server it fails over to with the same token (plaintext:
 *   an unproven address there, cut to 3x per request; encrypted: one
 *   handshake with it, included in the time);
 * - delivery from an add at server a to a held poll at server b, p50 and p99
 *   (client legs and the server link encrypted or not).
 *
 *   node bench/encrypted.ts [--runs N] [--seconds N] [--server-runtime node|deno] [--json] [--adds-only] [--perf]
 *
 * The add figures come in pairs, ABBA (neither way always first), each
 * printed with the machine's load average; `--perf` splits server a's CPU
 * per add by perf's groups. `TMPDIR=/dev/shm` puts the servers' databases
 * on tmpfs (the disk's latency out of the loop).
 *
 * The load runs under this process's runtime (Node: Deno's node:dgram loses
 * datagrams at these rates), the servers under --server-runtime. `npm run
 * bench` runs it with --json (bench/encrypted_rows.ts) for its ratio table.
 */
import { rmSync } from "node:fs";
import os from "node:os";
import process from "node:process";
import { defineCommand, fail, parseCommandLine } from "../lib/config/cli.ts";
import { bindUdp } from "../lib/net/udp_node.ts";
import { runtimeVersion } from "../lib/platform/runtime.ts";
import { ClientTransport } from "../lib/secure/client_transport.ts";
import { generateKeyPair } from "../lib/secure/suite.ts";
import type { Address } from "../lib/wire/address.ts";
import { randomBytes } from "../lib/client/random.ts";
import { cursorText, readAll } from "../testing/cluster_ops.ts";
import { lines, makeCluster, parsePoll, removeTempDirs, type ServerHandle, startServer } from "../testing/harness.ts";
import { formatNumber, formatSummary, percentile, summarize } from "./_stats.ts";
import { cpuSeconds, type Runtime, runtimeCommand } from "./_child.ts";
import { runtimePid } from "../testing/proc_stats.ts";
import { perfAvailable, startPerf, summarizePerf } from "./_perf.ts";

const COMMAND = defineCommand({
  name: "encrypted",
  about: "The encrypted client transport beside plaintext: acked adds/s, a backlog read after failover, cross-server delivery.",
  usage: "npm run bench:encrypted -- [--runs N] [--seconds N] [--server-runtime node|deno] [--json] [--adds-only] [--perf]",
  flags: {
    runs: { type: "string", value: "N", default: "3", help: "runs of each figure, each way" },
    seconds: { type: "string", value: "N", default: "3", help: "seconds of adds per run" },
    "server-runtime": { type: "string", value: "node|deno", default: "node", help: "the runtime the servers run under (the load stays on this one)" },
    json: { type: "boolean", default: false, help: "end with one line `JSON {...}` of the medians (for npm run bench)" },
    "adds-only": { type: "boolean", default: false, help: "only the two add figures: acked adds/s and server CPU per add at a steady rate (before/after pairs, profiles)" },
    perf: { type: "boolean", default: false, help: "sample server a with Linux perf during each acked-adds run and print its CPU µs per add by group (bench/_perf.ts); for JS names give the servers --perf-basic-prof (NODE_OPTIONS)" },
  },
  notes: "Servers under Deno: npm run bench:encrypted -- --server-runtime deno",
});
const { values } = parseCommandLine(COMMAND);
if (!/^[1-9]$/.test(values.runs!) || !/^[1-9]\d?$/.test(values.seconds!)) fail("encrypted", "--runs 1 to 9, --seconds 1 to 99");
if (values["server-runtime"] !== "node" && values["server-runtime"] !== "deno") fail("encrypted", "--server-runtime node or deno");
const SERVER_RUNTIME = values["server-runtime"] as Runtime;
const RUNS = Number(values.runs);
const SECONDS = Number(values.seconds);
if (values.perf && !perfAvailable()) fail("encrypted", "--perf needs Linux perf, allowed to sample (perf stat -e cpu-clock true)");
const enc = new TextEncoder();
const dec = new TextDecoder();
type Mode = "plaintext" | "encrypted";

/** One client socket to one server, plaintext or through a lib/secure ClientTransport; replies by tag. */
type Link = { request(text: string, timeoutMs?: number): Promise<string>; send(text: string): void; onReply: ((text: string) => void) | null; close(): Promise<void> };

async function link(to: Address, mode: Mode, key: Uint8Array): Promise<Link> {
  const waiting = new Map<string, (text: string) => void>();
  const ct = mode === "encrypted" ? new ClientTransport({ serverKey: key, random: randomBytes, newKeyPair: generateKeyPair }) : null;
  const l: Link = {
    onReply: null,
    send(text) {
      const bytes = enc.encode(text);
      if (ct === null) socket.send(bytes, to);
      else for (const d of ct.seal(bytes, Date.now())) socket.send(d, to);
    },
    request(text, timeoutMs = 10_000) {
      const tag = text.split("\n")[1];
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => (waiting.delete(tag), reject(new Error(`no reply to ${text.slice(0, 40)}`))), timeoutMs);
        waiting.set(tag, (t) => (clearTimeout(timer), resolve(t)));
        l.send(text);
      });
    },
    close: () => socket.close(),
  };
  const deliver = (bytes: Uint8Array) => {
    const text = dec.decode(bytes);
    const tag = text.slice(text.indexOf("\n") + 1, text.indexOf("\n", text.indexOf("\n") + 1));
    const w = waiting.get(tag);
    if (w) (waiting.delete(tag), w(text));
    else l.onReply?.(text);
  };
  const socket = await bindUdp({ host: "127.0.0.1", port: 0 }, (bytes) => {
    if (ct === null) return deliver(bytes);
    const r = ct.receive(bytes, Date.now());
    for (const d of r.send) socket.send(d, to);
    if (r.plaintext !== null) deliver(r.plaintext);
  }, { recvBufferSize: 1 << 22, sendBufferSize: 1 << 22 });
  return l;
}

let tags = 0;
/** Adds never answered within 5 s (a lost datagram: the load does not resend). */
let lost = 0;
const tag = () => (tags++).toString(36);

/** Logs `name` in and makes it a member of `room`: connect, else open, else (another client opened it meanwhile) connect again. */
async function enter(l: Link, name: string, room: string): Promise<string> {
  const token = (await l.request(lines("login", tag(), name))).split("\n")[4];
  let joined = await l.request(lines("connect", tag(), token, room));
  if (joined.includes("no-room")) joined = await l.request(lines("open", tag(), token, room));
  if (joined.includes("room-exists")) joined = await l.request(lines("connect", tag(), token, room));
  if (!joined.startsWith("ok")) throw new Error(`${name} could not join ${room}: ${joined.slice(0, 80)}`);
  return token;
}

/** Adds answered with an error (not counted as acked: an error reply is not a stored message). */
let refused = 0;
/** This (load) process's CPU µs per acked add in each addRate run: its 8 clients compete with the server for the same cores. */
const loadCpu: Record<Mode, number[]> = { plaintext: [], encrypted: [] };

/** Counts an add's reply: acked when `ok`, refused otherwise. */
const countAdd = (reply: string, acked: () => void) => (reply.startsWith("ok\n") ? acked() : refused++);

/** 8 clients logged in to `to` and in `room`. */
function clientsIn(to: Address, key: Uint8Array, mode: Mode, room: string): Promise<{ l: Link; token: string }[]> {
  return Promise.all(Array.from({ length: 8 }, async (_, i) => {
    const l = await link(to, mode, key);
    return { l, token: await enter(l, `${room}u${i}`, room) };
  }));
}

/** The server's CPU µs per acked add (process `pid`) under a steady `perSecond` adds/s from 8 clients for SECONDS: the same batching both ways. */
async function steadyCpu(to: Address, key: Uint8Array, mode: Mode, run: number, pid: number, perSecond: number): Promise<number> {
  const room = `steady${mode[0]}${run}`;
  const clients = await clientsIn(to, key, mode, room);
  let acked = 0, n = 0;
  const cpu0 = cpuSeconds(pid);
  const each = perSecond / 8 / 100;
  let owed = 0;
  const timer = setInterval(() => {
    owed += each;
    for (; owed >= 1; owed--) {
      for (const [i, { l, token }] of clients.entries()) {
        l.request(lines("add", `s${i}x${(n++).toString(36)}`, token, `message ${n} from client ${i} of the encrypted benchmark`, room), 5000).then((r) => countAdd(r, () => acked++), () => lost++);
      }
    }
  }, 10);
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  clearInterval(timer);
  await new Promise((r) => setTimeout(r, 500));
  const us = (cpuSeconds(pid) - cpu0) * 1e6 / acked;
  await Promise.all(clients.map((c) => c.l.close()));
  return us;
}

/** Acked adds/s of 8 clients keeping 16 adds in flight each for SECONDS, and the server's CPU µs per acked add (process `pid`). */
async function addRate(to: Address, key: Uint8Array, mode: Mode, run: number, pid: number): Promise<[number, number]> {
  const room = `adds${mode[0]}${run}`;
  const clients = await clientsIn(to, key, mode, room);
  const stopAt = Date.now() + SECONDS * 1000;
  const started = performance.now();
  const cpu0 = cpuSeconds(pid), own0 = process.cpuUsage();
  const perfFile = `${os.tmpdir()}/encrypted-${mode}-${run}-${process.pid}.perf`;
  const perf = values.perf ? startPerf(pid, perfFile) : null;
  const counts = await Promise.all(clients.map(({ l, token }, i) =>
    new Promise<number>((resolve) => {
      let acked = 0, inFlight = 0, n = 0;
      const send = () => {
        inFlight++;
        l.request(lines("add", `${i}x${(n++).toString(36)}`, token, `message ${n} from client ${i} of the encrypted benchmark`, room), 5000)
          .then((r) => countAdd(r, () => acked++), () => lost++)
          .finally(() => {
            inFlight--;
            if (Date.now() < stopAt) send();
            else if (inFlight === 0) resolve(acked);
          });
      };
      for (let k = 0; k < 16; k++) send();
    })
  ));
  const total = counts.reduce((a, b) => a + b, 0);
  const rate = total / ((performance.now() - started) / 1000);
  const cpuUs = (cpuSeconds(pid) - cpu0) * 1e6 / total;
  const own = process.cpuUsage(own0);
  if (perf) await printPerf(perf, perfFile, mode, cpuUs);
  loadCpu[mode].push((own.user + own.system) / total);
  await Promise.all(clients.map((c) => c.l.close()));
  return [rate, cpuUs];
}

/** Server a's CPU per add (`cpuUs`) split by perf's groups (bench/_perf.ts), largest first; the perf file is removed. */
async function printPerf(perf: { stop(): Promise<void> }, file: string, mode: Mode, cpuUs: number): Promise<void> {
  await perf.stop();
  const s = summarizePerf(file);
  rmSync(file, { force: true });
  if (s === null) return console.log(`  perf, ${mode}: no samples`);
  const groups = s.groups.slice(0, 12).map(([g, pct]) => `${g} ${(pct * cpuUs / 100).toFixed(1)}`);
  console.log(`  perf, ${mode}, server a's CPU µs per add by group: ${groups.join("; ")}`);
}

/** A link as testing/cluster_ops.ts's readers take a client. */
const asClient = (l: Link) => ({ request: (_to: Address, text: string | Uint8Array, ms?: number) => l.request(typeof text === "string" ? text : dec.decode(text), ms) });

/** ms to read `room` whole from the login server, then from the next server with the same token. */
async function backlog(a: Address, b: Address, keys: Uint8Array[], mode: Mode, room: string, run: number): Promise<[number, number]> {
  const la = await link(a, mode, keys[0]);
  const token = await enter(la, `reader${mode[0]}${run}`, room);
  let t0 = performance.now();
  const fromA = await readAll(asClient(la), a, token, room);
  const msA = performance.now() - t0;
  await la.close();
  const lb = await link(b, mode, keys[1]);
  t0 = performance.now();
  const fromB = await readAll(asClient(lb), b, token, room);
  const msB = performance.now() - t0;
  await lb.close();
  if (fromA.ids.length !== fromB.ids.length) throw new Error(`backlog: ${fromA.ids.length} at a, ${fromB.ids.length} at b`);
  return [msA, msB];
}

/** ms from each of `n` adds at a to the held poll at b that shows it. */
async function crossDelivery(a: Address, b: Address, keys: Uint8Array[], mode: Mode, run: number, n: number): Promise<number[]> {
  const room = `cross${mode[0]}${run}`;
  const w = await link(a, mode, keys[0]);
  const r = await link(b, mode, keys[1]);
  const wt = await enter(w, `${room}w`, room);
  await new Promise((res) => setTimeout(res, 300)); // the room reaches b
  const rt = await enter(r, `${room}r`, room);
  let cursor = cursorText(parsePoll(await r.request(lines("request", tag(), rt, room, "0"))));
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const held = r.request(lines("request", tag(), rt, room, cursor, 10000), 15_000);
    await new Promise((res) => setTimeout(res, 5));
    const t0 = performance.now();
    await w.request(lines("add", tag(), wt, `ping ${i}`, room));
    const p = parsePoll(await held);
    if (p.entries.length > 0) out.push(performance.now() - t0);
    cursor = cursorText(p);
  }
  await w.close();
  await r.close();
  return out;
}

const runtime = runtimeVersion();
// Two clusters of two servers: every path plaintext (no key=: clients and peer links plaintext, with --allow-plaintext),
// and every path encrypted (key=: clients through lib/secure, peer links Noise_KKpsk0).
const clusters = {} as Record<Mode, { a: ServerHandle; b: ServerHandle; keys: Uint8Array[]; pidA: number }>;
const args = ["--rate-limit", "0", "--one-disk-acks"];
for (const m of ["plaintext", "encrypted"] as const) {
  const { file, entries } = await makeCluster(["a", "b"], undefined, { keys: m === "encrypted" });
  const [a, b] = await Promise.all(["a", "b"].map((id) => startServer({ id, servers: file, extraArgs: args, command: (argv) => runtimeCommand(SERVER_RUNTIME, "server.ts", argv) })));
  clusters[m] = { a, b, keys: entries.map((e) => e.key ?? new Uint8Array(32)), pidA: runtimePid(a.pid) };
}
const modes: Mode[] = ["plaintext", "encrypted"];
const json: Record<string, number> = {};
/** The backlog after failover and cross-server delivery (all but the two add figures), into `json`. */
async function otherFigures(): Promise<void> {
  // 1,000 messages of ~120 bytes in one room, on both servers of each cluster.
  const room = "backlog";
  for (const m of modes) {
    const wl = await link(clusters[m].a.clientAddr, m, clusters[m].keys[0]);
    const wt = await enter(wl, "backlogwriter", room);
    for (let i = 0; i < 1000; i += 50) {
      await Promise.all(Array.from({ length: 50 }, (_, k) => wl.request(lines("add", tag(), wt, `backlog message ${i + k} `.padEnd(120, "x"), room))));
    }
    await wl.close();
  }
  await new Promise((res) => setTimeout(res, 1000));
  const reads: Record<Mode, { a: number[]; b: number[] }> = { plaintext: { a: [], b: [] }, encrypted: { a: [], b: [] } };
  for (let run = 0; run < RUNS; run++) {
    for (const m of modes) {
      const [ms1, ms2] = await backlog(clusters[m].a.clientAddr, clusters[m].b.clientAddr, clusters[m].keys, m, room, run);
      reads[m].a.push(ms1);
      reads[m].b.push(ms2);
    }
  }
  for (const m of modes) {
    const ra = summarize(reads[m].a), rb = summarize(reads[m].b);
    console.log(`  1,000-message backlog, ${m}: login server ${formatSummary(ra)} ms, after failover ${formatSummary(rb)} ms, ratio ${(rb.median / ra.median).toFixed(2)}x`);
  }

  const lat: Record<Mode, number[]> = { plaintext: [], encrypted: [] };
  for (let run = 0; run < RUNS; run++) {
    const p50: Record<Mode, number> = { plaintext: 0, encrypted: 0 };
    for (const m of run % 2 === 0 ? modes : [...modes].reverse()) {
      const xs = await crossDelivery(clusters[m].a.clientAddr, clusters[m].b.clientAddr, clusters[m].keys, m, run, 100);
      lat[m].push(...xs);
      p50[m] = percentile(xs, 50);
    }
    console.log(`  delivery pair ${run + 1}: p50 ${p50.plaintext.toFixed(2)} vs ${p50.encrypted.toFixed(2)} ms, ${(p50.encrypted / p50.plaintext).toFixed(2)}x; load average ${os.loadavg()[0].toFixed(1)}`);
  }
  for (const m of modes) {
    const xs = lat[m].sort((x, y) => x - y);
    console.log(`  add at a -> held poll at b, ${m}, ${xs.length} messages: p50 ${percentile(xs, 50).toFixed(2)} ms, p99 ${percentile(xs, 99).toFixed(2)} ms`);
  }
  console.log(`  ratio of p50 encrypted / plaintext: ${(percentile(lat.encrypted, 50) / percentile(lat.plaintext, 50)).toFixed(2)}x (goal <= 1.2x)`);
  // Where the difference is: the encrypted cluster's peer link with plaintext clients (it runs --allow-plaintext), alternating with all plaintext.
  const split: Record<Mode, number[]> = { plaintext: [], encrypted: [] };
  for (let run = 0; run < RUNS; run++) {
    for (const m of modes) split[m].push(...await crossDelivery(clusters[m].a.clientAddr, clusters[m].b.clientAddr, clusters[m].keys, "plaintext", RUNS + run, 100));
  }
  const peerOnly = percentile(split.encrypted.sort((x, y) => x - y), 50) / percentile(split.plaintext.sort((x, y) => x - y), 50);
  console.log(`  the peer link alone (plaintext clients on both clusters): p50 ${percentile(split.encrypted, 50).toFixed(2)} vs ${percentile(split.plaintext, 50).toFixed(2)} ms, ${peerOnly.toFixed(2)}x`);
  json.plainCrossP50 = percentile(lat.plaintext, 50);
  json.encCrossP50 = percentile(lat.encrypted, 50);
}

try {
  console.log(`encrypted: load under ${runtime}, servers under ${SERVER_RUNTIME} (--one-disk-acks), ${RUNS} runs each way, alternating;`);
  console.log(`  plaintext: a cluster without key= (clients and peer links plaintext); encrypted: one with key= (clients and peer links encrypted)`);
  const rates: Record<Mode, number[]> = { plaintext: [], encrypted: [] };
  const cpu: Record<Mode, number[]> = { plaintext: [], encrypted: [] };
  // Pairs in the order ABBA…: neither way always runs first; each pair's ratio with the machine's load average beside it.
  const pairRatios: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    for (const m of run % 2 === 0 ? modes : [...modes].reverse()) {
      const [rate, us] = await addRate(clusters[m].a.clientAddr, clusters[m].keys[0], m, run, clusters[m].pidA);
      rates[m].push(rate);
      cpu[m].push(us);
    }
    pairRatios.push(rates.encrypted[run] / rates.plaintext[run]);
    console.log(`  pair ${run + 1}: ${formatNumber(rates.plaintext[run])} vs ${formatNumber(rates.encrypted[run])} adds/s, ${pairRatios[run].toFixed(2)}x; server CPU ${cpu.plaintext[run].toFixed(0)} vs ${cpu.encrypted[run].toFixed(0)} µs per add; load average ${os.loadavg()[0].toFixed(1)}`);
  }
  for (const m of modes) console.log(`  acked adds/s, 8 clients x 16 in flight, ${m}: ${formatSummary(summarize(rates[m]))}; server CPU ${formatSummary(summarize(cpu[m]))} µs per add, load process ${formatSummary(summarize(loadCpu[m]))}`);
  if (lost > 0) console.log(`  (${lost} adds unanswered within 5 s)`);
  if (refused > 0) console.log(`  (${refused} adds answered with an error, not counted)`);
  const ratio = summarize(rates.encrypted).median / summarize(rates.plaintext).median;
  console.log(`  ratio encrypted / plaintext (medians): ${ratio.toFixed(2)}x (goal >= 0.8x); server CPU per add ${(summarize(cpu.encrypted).median / summarize(cpu.plaintext).median).toFixed(2)}x`);
  console.log(`  ratio by pair: ${formatSummary(summarize(pairRatios), 2)}x`);
  json.plainAdds = summarize(rates.plaintext).median;
  json.encAdds = summarize(rates.encrypted).median;
  const steady: Record<Mode, number[]> = { plaintext: [], encrypted: [] };
  for (let run = 0; run < RUNS; run++) for (const m of modes) steady[m].push(await steadyCpu(clusters[m].a.clientAddr, clusters[m].keys[0], m, run, clusters[m].pidA, 1000));
  for (const m of modes) console.log(`  server CPU per acked add at a steady 1,000 adds/s, ${m}: ${formatSummary(summarize(steady[m]))} µs`);
  console.log(`  ratio encrypted / plaintext: ${(summarize(steady.encrypted).median / summarize(steady.plaintext).median).toFixed(2)}x`);
  if (!values["adds-only"]) await otherFigures();
  // One line for bench/run.ts (bench/encrypted_measurement.ts): the ratio table's rows.
  if (values.json) console.log(`JSON ${JSON.stringify(json)}`);
} finally {
  await Promise.all(Object.values(clusters).flatMap((c) => [c.a.stop(), c.b.stop()]));
  removeTempDirs();
}
process.exit(0);
