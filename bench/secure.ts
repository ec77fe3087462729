/**
 * What the encrypted transport (lib/secure/) costs one core, in-process,
 * without sockets (not a test): the server side of a client handshake
 * (mac1, the Noise NK responder: two X25519 and a key pair, the session
 * made), a cookie reply under load, and sealing and opening one data
 * datagram of 200 and of 1,400 bytes. Several runs; prints the median and
 * the range, and writes the table to a file.
 *
 *   node bench/secure.ts [--runs N] [--out FILE]     npx deno run -A bench/secure.ts [...]
 */
import { writeFileSync } from "node:fs";
import { fail, parseCommandLine } from "../lib/config/cli.ts";
import { randomBytes } from "node:crypto";
import { ClientTransport } from "../lib/secure/client_transport.ts";
import { decodeEnvelope, type Data } from "../lib/secure/envelope.ts";
import { ServerTransport } from "../lib/secure/server_transport.ts";
import { TransportSession } from "../lib/secure/session.ts";
import { generateKeyPair } from "../lib/secure/suite.ts";
import { runtimeVersion } from "../lib/platform/runtime.ts";
import { formatNumber, formatSummary, summarize } from "./_stats.ts";

const HELP = `The encrypted transport's cost on one core (no sockets): handshakes per second at the server,
cookie replies per second, µs to seal and to open a 200- and a 1,400-byte datagram.

usage: node bench/secure.ts [--runs N] [--out FILE]      (deno: npx deno run -A bench/secure.ts)

  --runs N     runs of each measurement (default 5)
  --out FILE   where the table goes too (default data/bench-secure-<runtime>.md)`;
const { values } = parseCommandLine("secure", HELP, { runs: { type: "string", default: "5" }, out: { type: "string" } });
if (!/^[1-9]\d?$/.test(values.runs!)) fail("secure", `--runs must be 1 to 99, got "${values.runs}"`);
const RUNS = Number(values.runs);
const runtime = runtimeVersion();
const out = values.out ?? `data/bench-secure-${runtime.split(" ")[0]}.md`;

const serverKey = generateKeyPair();
const base = { staticKey: serverKey, random: (n: number) => new Uint8Array(randomBytes(n)), newKeyPair: generateKeyPair };

/** Handshakes per second at the server: `n` initiations from `n` clients, answered one after the other. */
function handshakes(n: number, underLoad: boolean): number {
  const server = new ServerTransport({ ...base, now: 0, handshakesPerSecond: Infinity, maxPending: n + 1 });
  const inits = Array.from({ length: n }, () => new ClientTransport({ serverKey: serverKey.publicKey, ...base }).seal(new Uint8Array(1), 0)[0]);
  const t = performance.now();
  for (let i = 0; i < n; i++) {
    const r = server.receive(inits[i], `10.0.${i >> 8}.${i & 255}:4000`, 1, underLoad);
    if (r.kind !== "handshake") throw new Error(`initiation ${i}: ${r.kind}`);
  }
  return n / ((performance.now() - t) / 1000);
}

/** µs to seal, and to open, one datagram of `size` bytes (`n` of each). */
function sealOpen(size: number, n: number): { seal: number; open: number } {
  const k1 = new Uint8Array(randomBytes(32)), k2 = new Uint8Array(randomBytes(32));
  const a = new TransportSession({ localIndex: 1, remoteIndex: 2, sendKey: k1, receiveKey: k2, createdAt: 0, initiator: true });
  const b = new TransportSession({ localIndex: 2, remoteIndex: 1, sendKey: k2, receiveKey: k1, createdAt: 0, initiator: false });
  const body = new Uint8Array(randomBytes(size));
  const sealed: Uint8Array[] = new Array(n);
  let t = performance.now();
  for (let i = 0; i < n; i++) sealed[i] = a.seal(body, 1)!;
  const seal = ((performance.now() - t) * 1000) / n;
  const decoded = sealed.map((d) => decodeEnvelope(d) as Data);
  t = performance.now();
  for (let i = 0; i < n; i++) if (!b.open(decoded[i], 1).ok) throw new Error("did not open");
  const open = ((performance.now() - t) * 1000) / n;
  return { seal, open };
}

// Warm-up, so that the first run is not the JIT's.
handshakes(300, false);
handshakes(300, true);
sealOpen(200, 5000);
sealOpen(1400, 5000);

const hs: number[] = [], cookies: number[] = [];
const cost: Record<number, { seal: number[]; open: number[] }> = { 200: { seal: [], open: [] }, 1400: { seal: [], open: [] } };
for (let r = 0; r < RUNS; r++) {
  hs.push(handshakes(2000, false));
  cookies.push(handshakes(5000, true));
  for (const size of [200, 1400]) {
    const c = sealOpen(size, 20_000);
    cost[size].seal.push(c.seal);
    cost[size].open.push(c.open);
  }
}

const row = (what: string, v: number[], digits: number, unit: string) => `| ${what} | ${formatSummary(summarize(v), digits)} | ${unit} |`;
const table = [
  `Encrypted transport on one core, ${runtime}, ${RUNS} runs: median (min–max). ${new Date().toISOString().slice(0, 10)}`,
  "",
  "| figure | value | unit |",
  "|---|---:|---|",
  row("server side of a client handshake (NK responder, session made)", hs, 0, "handshakes/s"),
  row("cookie reply under load (no Diffie-Hellman)", cookies, 0, "replies/s"),
  row("seal a 200-byte datagram", cost[200].seal, 1, "µs"),
  row("open a 200-byte datagram", cost[200].open, 1, "µs"),
  row("seal a 1,400-byte datagram", cost[1400].seal, 1, "µs"),
  row("open a 1,400-byte datagram", cost[1400].open, 1, "µs"),
  "",
  `(per run: ${formatNumber(2000)} handshakes, ${formatNumber(5000)} cookie replies, ${formatNumber(20_000)} datagrams of each size)`,
].join("\n");
console.log(table);
try {
  writeFileSync(out, table + "\n");
  console.log(`\nwritten to ${out}`);
} catch (e) {
  fail("secure", `cannot write ${out}: ${(e as Error).message}`, 1);
}
