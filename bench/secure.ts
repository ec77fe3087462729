/**
 * What the encrypted transport (lib/secure/) costs one core, in-process,
 * without sockets (not a test): the server side of a client handshake
 * (mac1, the Noise NK responder: two X25519 and a key pair, the session
 * made), a cookie reply under load, sealing and opening one data
 * datagram of 200 and of 1,400 bytes, one add's encrypted client path (the
 * request opened and the reply sealed by a ServerTransport, the reply opened
 * by a ClientTransport), and a 300-byte peer datagram through
 * two servers' PeerTransports and as a group datagram (lib/secure/group.ts). Several runs; prints the median and
 * the range, and writes the table to a file. The figures are per second of
 * this process's CPU time (process.cpuUsage), which other load on the
 * machine does not change; the wall-clock rate is beside them.
 *
 *   node bench/secure.ts [--runs N] [--out FILE]     npx deno run -A bench/secure.ts [...]
 */
import { writeFileSync } from "node:fs";
import process from "node:process";
import { defineCommand, fail, parseCommandLine } from "../lib/config/cli.ts";
import { randomBytes } from "node:crypto";
import { ClientTransport } from "../lib/secure/client_transport.ts";
import { decodeEnvelope, type Data, type Group } from "../lib/secure/envelope.ts";
import { GroupReceiver, GroupSender } from "../lib/secure/group.ts";
import { PeerTransport } from "../lib/secure/peer_transport.ts";
import { ServerTransport } from "../lib/secure/server_transport.ts";
import { TransportSession } from "../lib/secure/session.ts";
import { generateKeyPair } from "../lib/secure/suite.ts";
import { runtimeVersion } from "../lib/platform/runtime.ts";
import { formatNumber, formatSummary, summarize } from "./_stats.ts";

const COMMAND = defineCommand({
  name: "secure",
  about: "The encrypted transport's cost on one core (no sockets): handshakes per second at the server, cookie replies per second, µs to seal and to open a 200- and a 1,400-byte datagram, µs of one add's client path at the server and at the client.",
  usage: "npm run bench:secure -- [--runs N] [--out FILE]",
  flags: {
    runs: { type: "string", value: "N", default: "5", help: "runs of each measurement" },
    out: { type: "string", value: "FILE", help: "where the table goes too (default data/bench-secure-<runtime>.md)" },
  },
  notes: "With Deno: npx deno run -A bench/secure.ts",
});
const { values } = parseCommandLine(COMMAND);
if (!/^[1-9]\d?$/.test(values.runs!)) fail("secure", `--runs must be 1 to 99, got "${values.runs}"`);
const RUNS = Number(values.runs);
const runtime = runtimeVersion();
const out = values.out ?? `data/bench-secure-${runtime.split(" ")[0]}.md`;

const serverKey = generateKeyPair();
const base = { staticKey: serverKey, random: (n: number) => new Uint8Array(randomBytes(n)), newKeyPair: generateKeyPair };

/** Runs `f` and gives its wall-clock and CPU time, ms. */
function timed(f: () => void): { wall: number; cpu: number } {
  const cpu0 = process.cpuUsage(), t = performance.now();
  f();
  const cpu = process.cpuUsage(cpu0);
  return { wall: performance.now() - t, cpu: (cpu.user + cpu.system) / 1000 };
}

/** Handshakes per second at the server (CPU and wall): `n` initiations from `n` clients, answered one after the other. */
function handshakes(n: number, underLoad: boolean): { cpu: number; wall: number } {
  const server = new ServerTransport({ ...base, now: 0, handshakesPerSecond: Infinity, maxPending: n + 1 });
  const inits = Array.from({ length: n }, () => new ClientTransport({ serverKey: serverKey.publicKey, ...base }).seal(new Uint8Array(1), 0)[0]);
  const t = timed(() => {
    for (let i = 0; i < n; i++) {
      const r = server.receive(inits[i], `10.0.${i >> 8}.${i & 255}:4000`, 1, underLoad);
      if (r.kind !== "handshake") throw new Error(`initiation ${i}: ${r.kind}`);
    }
  });
  return { cpu: n / (t.cpu / 1000), wall: n / (t.wall / 1000) };
}

/** CPU µs to seal, and to open, one datagram of `size` bytes (`n` of each). */
function sealOpen(size: number, n: number): { seal: number; open: number } {
  const k1 = new Uint8Array(randomBytes(32)), k2 = new Uint8Array(randomBytes(32));
  const a = new TransportSession({ localIndex: 1, remoteIndex: 2, sendKey: k1, receiveKey: k2, createdAt: 0, initiator: true });
  const b = new TransportSession({ localIndex: 2, remoteIndex: 1, sendKey: k2, receiveKey: k1, createdAt: 0, initiator: false });
  const body = new Uint8Array(randomBytes(size));
  const sealed: Uint8Array[] = new Array(n);
  const s = timed(() => {
    for (let i = 0; i < n; i++) sealed[i] = a.seal(body, 1)!;
  });
  const decoded = sealed.map((d) => decodeEnvelope(d) as Data);
  const o = timed(() => {
    for (let i = 0; i < n; i++) if (!b.open(decoded[i], 1).ok) throw new Error("did not open");
  });
  return { seal: (s.cpu * 1000) / n, open: (o.cpu * 1000) / n };
}

/** CPU µs per peer datagram of `size` bytes: sealed by one server's PeerTransport and opened by its peer's, and as a group datagram to 2 receivers. */
function peerLink(size: number, n: number): { pair: number; groupSeal: number; groupOpen: number } {
  const keys = { a: generateKeyPair(), b: generateKeyPair() };
  const link = (self: "a" | "b", peer: "a" | "b") =>
    new PeerTransport({ ...base, selfId: self, staticKey: keys[self], peers: [{ id: peer, publicKey: keys[peer].publicKey }], clusterKey: null, now: 0 });
  const a = link("a", "b"), b = link("b", "a");
  const init = a.seal("b", new Uint8Array(1), 0)[0];
  const resp = b.receive(init, "127.0.0.1:1", 0).toPeer[0];
  for (const d of a.receive(resp, "127.0.0.1:2", 0).toPeer) b.receive(d, "127.0.0.1:1", 0);
  const body = new Uint8Array(randomBytes(size)).fill(0x61, 0, 1);
  const pair = timed(() => {
    for (let i = 0; i < n; i++) if (b.receive(a.seal("b", body, 1)[0], "127.0.0.1:1", 1).kind !== "data") throw new Error("not opened");
  });
  const sender = new GroupSender({ peers: ["b", "c"], random: base.random, now: 0 });
  const receiver = new GroupReceiver({ windowBits: 4096 });
  receiver.learn("a", sender.grants("b")[0], 0);
  const sealed: Uint8Array[] = new Array(n);
  const gs = timed(() => {
    for (let i = 0; i < n; i++) sealed[i] = sender.seal(body, 1)!;
  });
  const go = timed(() => {
    for (let i = 0; i < n; i++) if (!receiver.open(decodeEnvelope(sealed[i]) as Group).ok) throw new Error("not opened");
  });
  return { pair: (pair.cpu * 1000) / n, groupSeal: (gs.cpu * 1000) / n, groupOpen: (go.cpu * 1000) / n };
}

/**
 * CPU µs of one add's encrypted client path: at the server, the request
 * (~100 bytes) through ServerTransport.receive and its reply (~90) through
 * ServerTransport.seal, as lib/server/secure_intake.ts runs them; at the
 * client, the reply through ClientTransport.receive.
 */
function addPath(n: number): { server: number; client: number } {
  const server = new ServerTransport({ ...base, now: 0 });
  const client = new ClientTransport({ serverKey: serverKey.publicKey, ...base });
  const from = "127.0.0.1:5000";
  const enc = new TextEncoder();
  const reply = enc.encode("ok\n1x2\nadd\nmessage 5 from client 1 of the encrypted benchmark\nadds1\na.123\n");
  const response = server.receive(client.seal(enc.encode("login\n1\nbob\n"), 1)[0], from, 1).send!;
  for (const d of client.receive(response, 1).send) server.receive(d, from, 1);
  const requests = Array.from({ length: n }, (_, i) => client.seal(enc.encode(`add\n1x${i}\ntoken${i}\nmessage ${i} from client 1 of the encrypted benchmark\nadds1\n`), 1)[0]);
  const replies: Uint8Array[] = new Array(n);
  const s = timed(() => {
    for (let i = 0; i < n; i++) {
      const r = server.receive(requests[i], from, 1);
      if (r.kind !== "data") throw new Error(`request ${i}: ${r.kind}`);
      replies[i] = server.seal(r.session, reply, 1)!.bytes;
    }
  });
  const c = timed(() => {
    for (let i = 0; i < n; i++) if (client.receive(replies[i], 1).plaintext === null) throw new Error(`reply ${i} did not open`);
  });
  return { server: (s.cpu * 1000) / n, client: (c.cpu * 1000) / n };
}

// Warm-up, so that the first run is not the JIT's.
handshakes(300, false);
handshakes(300, true);
sealOpen(200, 5000);
sealOpen(1400, 5000);
peerLink(300, 2000);
addPath(5000);

const hs = { cpu: [] as number[], wall: [] as number[] }, cookies = { cpu: [] as number[], wall: [] as number[] };
const cost: Record<number, { seal: number[]; open: number[] }> = { 200: { seal: [], open: [] }, 1400: { seal: [], open: [] } };
const peer = { pair: [] as number[], groupSeal: [] as number[], groupOpen: [] as number[] };
const add = { server: [] as number[], client: [] as number[] };
for (let r = 0; r < RUNS; r++) {
  for (const [into, underLoad, n] of [[hs, false, 2000], [cookies, true, 5000]] as const) {
    const x = handshakes(n, underLoad);
    into.cpu.push(x.cpu);
    into.wall.push(x.wall);
  }
  for (const size of [200, 1400]) {
    const c = sealOpen(size, 20_000);
    cost[size].seal.push(c.seal);
    cost[size].open.push(c.open);
  }
  const p = peerLink(300, 10_000);
  peer.pair.push(p.pair);
  peer.groupSeal.push(p.groupSeal);
  peer.groupOpen.push(p.groupOpen);
  const a = addPath(20_000);
  add.server.push(a.server);
  add.client.push(a.client);
}

const row = (what: string, v: number[], digits: number, unit: string, wall?: number[]) =>
  `| ${what} | ${formatSummary(summarize(v), digits)} | ${unit} | ${wall ? formatSummary(summarize(wall), digits) : ""} |`;
const table = [
  `Encrypted transport on one core, ${runtime}, ${RUNS} runs: median (min–max), per second of this process's CPU time; wall-clock rates beside. ${new Date().toISOString().slice(0, 10)}`,
  "",
  "| figure | value | unit | wall clock |",
  "|---|---:|---|---:|",
  row("server side of a client handshake (NK responder, session made)", hs.cpu, 0, "handshakes/s", hs.wall),
  row("cookie reply under load (no Diffie-Hellman)", cookies.cpu, 0, "replies/s", cookies.wall),
  row("seal a 200-byte datagram", cost[200].seal, 1, "µs"),
  row("open a 200-byte datagram", cost[200].open, 1, "µs"),
  row("seal a 1,400-byte datagram", cost[1400].seal, 1, "µs"),
  row("open a 1,400-byte datagram", cost[1400].open, 1, "µs"),
  row("one add at the server: the request opened (ServerTransport.receive) and the reply sealed (ServerTransport.seal)", add.server, 1, "µs"),
  row("the reply opened by the client (ClientTransport.receive)", add.client, 1, "µs"),
  row("a 300-byte peer datagram: sealed by a server's PeerTransport and opened by its peer's (KKpsk0 session)", peer.pair, 1, "µs"),
  row("the same as a group datagram to 2 receivers: sealed once, 2 tags", peer.groupSeal, 1, "µs"),
  row("the group datagram opened by one receiver", peer.groupOpen, 1, "µs"),
  "",
  `(per run: ${formatNumber(2000)} handshakes, ${formatNumber(5000)} cookie replies, ${formatNumber(20_000)} datagrams of each size and adds, ${formatNumber(10_000)} peer and group datagrams)`,
].join("\n");
console.log(table);
try {
  writeFileSync(out, table + "\n");
  console.log(`\nwritten to ${out}`);
} catch (e) {
  fail("secure", `cannot write ${out}: ${(e as Error).message}`, 1);
}
