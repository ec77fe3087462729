/**
 * Benchmark of one server process (not a test): acked adds per second with
 * 1 and 8 concurrent clients, and long-poll delivery latency (add sent →
 * held poll answered) p50/p99. Prints figures.
 *
 *   node bench/server_adds.ts [--seconds 5] [--window 32] [--sync full|normal]
 *
 * Each client has its own socket and session and keeps `window` adds in
 * flight, retransmitting (same tag) after 1 s without an ack.
 */
import { defineCommand, parseCommandLine } from "../lib/config/cli.ts";
import { lines, removeTempDirs, startServer, udpClient, type UdpClient } from "../testing/harness.ts";
import type { Address } from "../lib/wire/address.ts";
import { bindUdp } from "../lib/net/udp_node.ts";
import { runtimeVersion } from "../lib/platform/runtime.ts";

const COMMAND = defineCommand({
  name: "server_adds",
  about: "One server process: acked adds/s with 1 and 8 clients, and long-poll delivery latency.",
  usage: "node_modules/.bin/node bench/server_adds.ts [--seconds N] [--window N] [--sync full|normal]",
  flags: {
    seconds: { type: "string", value: "N", default: "5", help: "seconds of adds" },
    window: { type: "string", value: "N", default: "32", help: "requests in flight per client" },
    sync: { type: "string", value: "full|normal", default: "full", help: "the server's --sync" },
  },
});
const { values } = parseCommandLine(COMMAND);
const SECONDS = Number(values.seconds);
const WINDOW = Number(values.window);
const enc = new TextEncoder();
const dec = new TextDecoder();

async function session(c: UdpClient, to: Address, name: string, room: string): Promise<string> {
  const token = (await c.request(to, lines("login", "l", name))).split("\n")[4];
  const r = await c.request(to, lines("connect", "c", token, room));
  if (r.includes("no-room")) await c.request(to, lines("open", "o", token, room));
  return token;
}

/** One client keeping `window` adds in flight for `ms`; resolves with the number acked. */
async function addLoad(to: Address, token: string, room: string, window: number, ms: number, id: number): Promise<number> {
  const inFlight = new Map<string, { bytes: Uint8Array; sentAt: number }>();
  let next = 0;
  let acked = 0;
  let stopAt = 0;
  let done: () => void = () => {};
  const finished = new Promise<void>((r) => (done = r));
  const t = await bindUdp({ host: "127.0.0.1", port: 0 }, (bytes) => {
    const tag = dec.decode(bytes.subarray(0, 40)).split("\n")[1];
    if (!inFlight.delete(tag)) return;
    acked++;
    if (Date.now() < stopAt) send();
    else if (inFlight.size === 0) done();
  }, { recvBufferSize: 1 << 22, sendBufferSize: 1 << 22 });
  const send = () => {
    const tag = `${id.toString(36)}x${(next++).toString(36)}`;
    const bytes = enc.encode(lines("add", tag, token, `message ${next} from client ${id}`, room));
    inFlight.set(tag, { bytes, sentAt: Date.now() });
    t.send(bytes, to);
  };
  const retry = setInterval(() => {
    const now = Date.now();
    for (const f of inFlight.values()) if (now - f.sentAt > 1000) (f.sentAt = now, t.send(f.bytes, to));
  }, 250);
  stopAt = Date.now() + ms;
  for (let i = 0; i < window; i++) send();
  await Promise.race([finished, new Promise((r) => setTimeout(r, ms + 5000))]);
  clearInterval(retry);
  await t.close();
  return acked;
}

async function throughput(to: Address, clients: number, window: number): Promise<number> {
  const tokens: string[] = [];
  const c = await udpClient();
  for (let i = 0; i < clients; i++) tokens.push(await session(c, to, `bench${clients}w${window}u${i}`, `bench${clients}w${window}`));
  await c.close();
  const started = Date.now();
  const counts = await Promise.all(tokens.map((t, i) => addLoad(to, t, `bench${clients}w${window}`, window, SECONDS * 1000, i)));
  const secs = (Date.now() - started) / 1000;
  return counts.reduce((a, b) => a + b, 0) / secs;
}

async function pollLatency(to: Address, rounds: number): Promise<number[]> {
  const reader = await udpClient();
  const writer = await udpClient();
  const r = await session(reader, to, "latreader", "latency");
  const w = await session(writer, to, "latwriter", "latency");
  let cursor = "0";
  const first = (await reader.request(to, lines("request", "p0", r, "latency", cursor))).split("\n");
  cursor = first[3];
  const out: number[] = [];
  for (let i = 1; i <= rounds; i++) {
    reader.send(to, lines("request", `p${i}`, r, "latency", cursor, 30000));
    await new Promise((res) => setTimeout(res, 5)); // let the poll be held
    const t0 = performance.now();
    writer.send(to, lines("add", `a${i}`, w, `ping ${i}`, "latency"));
    const d = await reader.next(10_000);
    if (!d) throw new Error("held poll not answered");
    out.push(performance.now() - t0);
    cursor = d.text.split("\n")[3];
    await writer.next(5000); // the add's ack
  }
  await reader.close();
  await writer.close();
  return out.sort((a, b) => a - b);
}

const pct = (xs: number[], p: number) => xs[Math.min(xs.length - 1, Math.floor(xs.length * p))];

const srv = await startServer({ id: "a", extraArgs: ["--rate-limit", "0", "--sync", String(values.sync)] });
try {
  console.log(`server_adds: ${runtimeVersion()}, server under the same runtime, --sync ${values.sync}, ${SECONDS} s per run`);
  for (const [clients, window] of [[1, 1], [1, WINDOW], [8, 1], [8, WINDOW]]) {
    const rate = await throughput(srv.clientAddr, clients, window);
    console.log(`  ${clients} client(s), ${String(window).padStart(2)} in flight each: ${Math.round(rate)} acked adds/s`);
  }
  const lat = await pollLatency(srv.clientAddr, 300);
  console.log(
    `  long-poll delivery (add sent → held poll answered), ${lat.length} rounds: ` +
      `p50 ${pct(lat, 0.5).toFixed(2)} ms, p99 ${pct(lat, 0.99).toFixed(2)} ms, max ${lat[lat.length - 1].toFixed(2)} ms`,
  );
} finally {
  await srv.stop();
  removeTempDirs();
}
