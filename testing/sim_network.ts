/**
 * A deterministic in-memory server network for replication tests: a virtual
 * clock, an event queue, and seeded faults (loss, duplication, latency
 * jitter that reorders, partitions), plus `SimCluster`, N nodes each made
 * of an op log + Replicator + PeerAuth that talk through real encoded
 * datagrams (codec and HMAC included). Generic over the op log, so the
 * SQLite store can be run through the same simulation.
 *
 * @example
 * ```ts
 * const c = new SimCluster({ ids: ["a", "b", "c"], seed: 7, makeLog: () => new MemoryLog() });
 * c.createOp("a");
 * c.runUntil(5000);
 * c.problems(); // [] when every node holds the same ops in causal order
 * ```
 */
import { decodePeer } from "../lib/wire/codec.ts";
import type { Op } from "../lib/wire/messages.ts";
import { MAX_DATAGRAM } from "../lib/wire/messages.ts";
import { createPeerAuth } from "../lib/replication/peer_auth.ts";
import type { PeerAuth } from "../lib/replication/peer_auth.ts";
import type { Prng } from "./prng.ts";
import { mulberry32, pick, randomBytes, randomInt } from "./prng.ts";
import { Replicator } from "../lib/replication/replicator.ts";
import type { OpLog, Outgoing, ReplicatorOptions } from "../lib/replication/replicator.ts";
import { covers, EMPTY, equals, formatVector, get } from "../lib/wire/vector.ts";
import { opText } from "../lib/wire/codec.ts";
import { nextOpHead } from "./memory_log.ts";
import type { OpHead } from "./memory_log.ts";

// --- the network ---------------------------------------------------------------

export type Faults = {
  /** Probability a datagram is lost. */
  loss: number;
  /** Probability a datagram arrives twice. */
  dup: number;
  /** Latency is uniform in [minLatencyMs, maxLatencyMs]: datagrams overtake each other. */
  minLatencyMs: number;
  maxLatencyMs: number;
};

export const NO_FAULTS: Faults = { loss: 0, dup: 0, minLatencyMs: 0.1, maxLatencyMs: 1 };

type Event = { at: number; n: number; run: () => void };

export class SimNetwork {
  now = 0;
  faults: Faults;
  readonly prng: Prng;
  readonly stats = { sent: 0, delivered: 0, lost: 0, duplicated: 0, cut: 0, bytes: 0, maxBytes: 0 };
  #heap: Event[] = [];
  #n = 0;
  #cut = new Set<string>();

  constructor(seed: number, faults: Faults = NO_FAULTS) {
    this.prng = mulberry32(seed);
    this.faults = faults;
  }

  /** Runs `run` at virtual time `at` (events at the same time run in the order scheduled). */
  at(at: number, run: () => void): void {
    const e = { at: Math.max(at, this.now), n: this.#n++, run };
    const h = this.#heap;
    h.push(e);
    for (let i = h.length - 1; i > 0;) {
      const p = (i - 1) >> 1;
      if (!before(h[i], h[p])) break;
      [h[i], h[p]] = [h[p], h[i]];
      i = p;
    }
  }

  /** Sends `bytes` from one node to another; `deliver` runs on arrival (maybe never, maybe twice). */
  send(from: string, to: string, bytes: Uint8Array, deliver: (bytes: Uint8Array) => void): void {
    this.stats.sent++;
    this.stats.bytes += bytes.length;
    this.stats.maxBytes = Math.max(this.stats.maxBytes, bytes.length);
    if (this.#cut.has(`${from} ${to}`)) {
      this.stats.cut++;
      return;
    }
    const { loss, dup, minLatencyMs, maxLatencyMs } = this.faults;
    if (this.prng() < loss) {
      this.stats.lost++;
      return;
    }
    const copies = this.prng() < dup ? 2 : 1;
    if (copies === 2) this.stats.duplicated++;
    for (let i = 0; i < copies; i++) {
      const latency = minLatencyMs + this.prng() * (maxLatencyMs - minLatencyMs);
      this.at(this.now + latency, () => {
        this.stats.delivered++;
        deliver(bytes);
      });
    }
  }

  /** Cuts every link between nodes of different groups (both ways). */
  partition(groups: readonly (readonly string[])[]): void {
    for (const g of groups) {
      for (const h of groups) {
        if (g === h) continue;
        for (const a of g) for (const b of h) this.#cut.add(`${a} ${b}`);
      }
    }
  }

  heal(): void {
    this.#cut.clear();
  }

  /** Runs events until virtual time `until` (inclusive); the clock ends there. */
  runUntil(until: number): void {
    const h = this.#heap;
    while (h.length > 0 && h[0].at <= until) {
      const e = h[0];
      const last = h.pop()!;
      if (h.length > 0) {
        h[0] = last;
        for (let i = 0;;) {
          const l = 2 * i + 1, r = l + 1;
          let m = i;
          if (l < h.length && before(h[l], h[m])) m = l;
          if (r < h.length && before(h[r], h[m])) m = r;
          if (m === i) break;
          [h[i], h[m]] = [h[m], h[i]];
          i = m;
        }
      }
      this.now = e.at;
      e.run();
    }
    this.now = Math.max(this.now, until);
  }
}

function before(a: Event, b: Event): boolean {
  return a.at < b.at || (a.at === b.at && a.n < b.n);
}

// --- the cluster ---------------------------------------------------------------

/** What the simulation needs from a log besides OpLog: storing an op made here. */
export type SimLog = OpLog & { appendLocal(op: Op): void };

export type SimNode<L extends SimLog> = {
  id: string;
  log: L;
  replicator: Replicator;
  auth: PeerAuth;
  up: boolean;
  /** Datagrams that failed to decode (must stay 0) and auth drops by reason. */
  decodeErrors: number;
  authDrops: Record<string, number>;
  /** Replicator status totals of earlier incarnations (before crashes). */
  past: { sent: number; asksSent: number };
};

export type ClusterOptions<L extends SimLog> = {
  ids: readonly string[];
  seed: number;
  /** Called once per node: the log survives crashes. */
  makeLog: (id: string) => L;
  faults?: Faults;
  /** Cluster key; null: unauthenticated datagrams. Default: a key from the seed. */
  key?: Uint8Array | null;
  replicator?: ReplicatorOptions;
  /** How often each node's tick runs, ms. Default 25. */
  tickMs?: number;
};

export class SimCluster<L extends SimLog> {
  readonly net: SimNetwork;
  readonly nodes = new Map<string, SimNode<L>>();
  readonly prng: Prng;
  readonly created: Op[] = [];
  #key: Uint8Array | null;
  #options: ClusterOptions<L>;

  constructor(options: ClusterOptions<L>) {
    this.#options = options;
    this.net = new SimNetwork(options.seed, options.faults ?? NO_FAULTS);
    this.prng = mulberry32(options.seed ^ 0x5eed);
    this.#key = options.key === undefined ? randomBytes(this.prng, 32) : options.key;
    const tickMs = options.tickMs ?? 25;
    for (const id of options.ids) {
      const node = {
        id,
        log: options.makeLog(id),
        up: true,
        decodeErrors: 0,
        authDrops: {},
        past: { sent: 0, asksSent: 0 },
      };
      this.nodes.set(id, this.#boot(node as SimNode<L>));
      const phase = this.prng() * tickMs;
      const tick = () => {
        const n = this.nodes.get(id)!;
        if (n.up) this.#send(n, n.replicator.tick(this.net.now));
        this.net.at(this.net.now + tickMs, tick);
      };
      this.net.at(phase, tick);
    }
  }

  get now(): number {
    return this.net.now;
  }

  /** A new Replicator and PeerAuth for a node: what a restart keeps is only the log. */
  #boot(node: SimNode<L>): SimNode<L> {
    const peers = this.#options.ids.filter((p) => p !== node.id);
    node.replicator = new Replicator({ self: node.id, peers, log: node.log, options: this.#options.replicator });
    node.auth = createPeerAuth({
      key: this.#key,
      peers,
      now: () => this.net.now,
      random: (n) => randomBytes(this.prng, n),
    });
    return node;
  }

  crash(id: string): void {
    const node = this.nodes.get(id)!;
    if (!node.up) return;
    const s = node.replicator.status(this.now);
    node.past.sent += s.sent;
    node.past.asksSent += s.asksSent;
    node.up = false;
  }

  restart(id: string): void {
    const node = this.nodes.get(id)!;
    if (node.up) return;
    this.#boot(node);
    node.up = true;
  }

  /** Makes one op at `id` (like a server handling a request) and fans it out. */
  createOp(id: string, body: (head: OpHead, prng: Prng) => Op = randomOpBody): Op[] {
    return this.createOps(id, 1, body);
  }

  /** Makes `n` ops at `id` in one batch (one group commit) and fans them out. */
  createOps(id: string, n: number, body: (head: OpHead, prng: Prng) => Op = randomOpBody): Op[] {
    const node = this.nodes.get(id)!;
    const ops: Op[] = [];
    for (let i = 0; i < n; i++) {
      const session = [...randomBytes(this.prng, 32)].map((b) => b.toString(16).padStart(2, "0")).join("");
      const op = body(nextOpHead(node.log.vector(), id, Math.floor(this.now), session), this.prng);
      node.log.appendLocal(op);
      ops.push(op);
    }
    this.created.push(...ops);
    this.#send(node, node.replicator.localOps(ops, this.now));
    return ops;
  }

  runUntil(t: number): void {
    this.net.runUntil(t);
  }

  /**
   * Runs until every node holds every op made, checking every `stepMs`;
   * returns the time that happened, or null if not by `deadline`.
   */
  runUntilConverged(deadline: number, stepMs = 10): number | null {
    while (this.now < deadline) {
      if (this.converged()) return this.now;
      this.runUntil(Math.min(deadline, this.now + stepMs));
    }
    return this.converged() ? this.now : null;
  }

  converged(): boolean {
    let first: Map<string, number> | null = null;
    for (const n of this.nodes.values()) {
      const v = n.log.vector();
      if (first === null) first = new Map(v);
      else if (!equals(first, v)) return false;
    }
    const made = new Map<string, number>();
    for (const op of this.created) made.set(op.origin, Math.max(made.get(op.origin) ?? 0, op.seq));
    return first !== null && equals(first, made);
  }

  /** Everything wrong with the cluster's state now; [] when all logs agree. */
  problems(): string[] {
    const out: string[] = [];
    const want = new Map(this.created.map((op) => [`${op.origin}.${op.seq}`, opText(op)]));
    for (const n of this.nodes.values()) {
      const ops = n.log.opsAfter(EMPTY, Infinity);
      const seen = new Set<string>();
      let v = new Map<string, number>();
      for (const op of ops) {
        const id = `${op.origin}.${op.seq}`;
        if (seen.has(id)) out.push(`${n.id}: ${id} twice`);
        seen.add(id);
        if (get(v, op.origin) !== op.seq - 1) out.push(`${n.id}: ${id} after ${op.origin}.${get(v, op.origin)}`);
        if (!covers(v, op.deps)) out.push(`${n.id}: ${id} before its deps ${formatVector(op.deps)}`);
        if (want.get(id) !== opText(op)) out.push(`${n.id}: ${id} differs from the op made`);
        v = new Map(v).set(op.origin, Math.max(get(v, op.origin), op.seq));
      }
      if (seen.size !== want.size) out.push(`${n.id}: holds ${seen.size} of ${want.size} ops (${formatVector(v)})`);
      const s = n.replicator.status(this.now);
      if (n.up && s.buffered !== 0) out.push(`${n.id}: ${s.buffered} ops still buffered`);
      if (n.decodeErrors !== 0) out.push(`${n.id}: ${n.decodeErrors} datagrams did not decode`);
    }
    if (this.net.stats.maxBytes > MAX_DATAGRAM) out.push(`a datagram of ${this.net.stats.maxBytes} bytes was sent`);
    return out;
  }

  /** Datagrams all nodes sent (all incarnations). */
  datagramsSent(): number {
    return this.net.stats.sent;
  }

  #send(node: SimNode<L>, out: Outgoing[]): void {
    for (const o of out) {
      const bytes = node.auth.seal(o.datagram);
      for (const to of o.to) {
        this.net.send(node.id, to, bytes, (b) => this.#receive(to, b));
      }
    }
  }

  #receive(id: string, bytes: Uint8Array): void {
    const node = this.nodes.get(id)!;
    if (!node.up) return;
    const r = decodePeer(bytes);
    if (!r.ok) {
      node.decodeErrors++;
      return;
    }
    const a = node.auth.verify(r.value);
    if (!a.ok) {
      if (a.answer) this.#send(node, [{ to: [r.value.datagram.from], datagram: { ...a.answer, from: node.id } }]);
      if (a.reason === "handshake") return;
      node.authDrops[a.reason] = (node.authDrops[a.reason] ?? 0) + 1;
      node.replicator.noteDropped(a.reason);
      return;
    }
    this.#send(node, node.replicator.receive(r.value.datagram, this.now));
  }
}

// --- the standard scenario ---------------------------------------------------------

const SCENARIO_IDS = ["a", "b", "c", "d", "e"];
const SCENARIO_FAULTS: Faults = { loss: 0.2, dup: 0.05, minLatencyMs: 1, maxLatencyMs: 40 };
/** When partitions heal and crashed nodes come back; no op is made after. */
export const FAULTS_END = 6000;
/** Time allowed to converge after that. */
export const REPAIR_MS = 10_000;

export type Outcome = {
  seed: number;
  nodes: number;
  ops: number;
  datagrams: number;
  /** Everything wrong at the end; [] when all is well. */
  problems: string[];
  /** When all nodes held all ops (virtual ms), null if not within REPAIR_MS after FAULTS_END. */
  convergedAt: number | null;
  /** Asks sent in 3 s once converged (the steady state should have none). */
  asksAfter: number;
};

/**
 * One random run of the replication simulation: 3–5 nodes, 150 ops (some in
 * batches), 20% loss, 5% duplication, 1–40 ms latency, two partitions that
 * heal, one or two crashes (sometimes one still partitioned or down when the
 * faults end at FAULTS_END). Then no op is made; loss and duplication go
 * on. The same seed gives the same run. Generic over the log: pass the
 * SQLite store's factory to run it through the same faults.
 */
export function runScenario<L extends SimLog>(seed: number, makeLog: (id: string) => L): Outcome {
  const prng: Prng = mulberry32(seed * 7919 + 1);
  const ids = SCENARIO_IDS.slice(0, 3 + (seed % 3));
  const cluster = new SimCluster({
    ids,
    seed,
    makeLog,
    faults: SCENARIO_FAULTS,
    // Odd seeds run without a key: duplicated datagrams then reach the engine
    // instead of being refused as replays.
    key: seed % 2 === 0 ? undefined : null,
  });
  const net = cluster.net;
  const up = (id: string) => cluster.nodes.get(id)!.up;

  for (let i = 0; i < 150; i++) {
    net.at(prng() * (FAULTS_END - 500), () => {
      const live = ids.filter(up);
      if (live.length === 0) return;
      const id = pick(prng, live);
      cluster.createOps(id, prng() < 0.1 ? 2 + randomInt(prng, 4) : 1);
    });
  }
  for (let i = 0; i < 2; i++) {
    const start = prng() * 4000;
    const cut = 1 + randomInt(prng, ids.length - 1);
    const shuffled = [...ids].sort(() => prng() - 0.5);
    net.at(start, () => net.partition([shuffled.slice(0, cut), shuffled.slice(cut)]));
    net.at(start + 300 + prng() * 1200, () => net.heal());
  }
  for (let i = 0; i < 1 + (seed % 2); i++) {
    const id = pick(prng, ids);
    const start = prng() * 4500;
    net.at(start, () => cluster.crash(id));
    net.at(start + 200 + prng() * 1300, () => cluster.restart(id));
  }
  // Some runs end their faults mid-partition or with a node just crashed,
  // so the quiet phase has work left.
  if (seed % 4 === 0) {
    const shuffled = [...ids].sort(() => prng() - 0.5);
    net.at(FAULTS_END - 1500, () => net.partition([shuffled.slice(0, 1), shuffled.slice(1)]));
  }
  if (seed % 3 === 0) {
    const id = pick(prng, ids);
    net.at(FAULTS_END - 300, () => cluster.crash(id));
  }
  net.at(FAULTS_END, () => {
    net.heal();
    for (const id of ids) cluster.restart(id);
  });

  cluster.runUntil(FAULTS_END);
  const convergedAt = cluster.runUntilConverged(FAULTS_END + REPAIR_MS);
  const problems = cluster.problems();
  // Once converged, the steady state is heartbeats only: no asks.
  const asks = () => [...cluster.nodes.values()].reduce((n, x) => n + x.replicator.status(cluster.now).asksSent, 0);
  cluster.runUntil(cluster.now + 300);
  const before = asks();
  cluster.runUntil(cluster.now + 3000);
  const asksAfter = asks() - before;
  problems.push(...cluster.problems().filter((p) => !problems.includes(p)));
  if (convergedAt === null) problems.unshift(`did not converge within ${REPAIR_MS} ms after the faults ended`);
  return {
    seed,
    nodes: ids.length,
    ops: cluster.created.length,
    datagrams: net.stats.sent,
    problems,
    convergedAt,
    asksAfter,
  };
}

// --- random ops ------------------------------------------------------------------

const NAMES = ["alice", "bob", "carol", "dave", "eve"];
const ROOMS = ["lobby", "dev", "random", "ops"];
const PIECES = ["a", "b", " ", "é", "€", "😀", "\n", "\\", "\r", "z"];
const PIECE_BYTES = PIECES.map((p) => new TextEncoder().encode(p).length);

/** Message text of about `bytes` UTF-8 bytes (at most 2000), with multibyte chars and escapes. */
export function randomMsg(prng: Prng, bytes: number): string {
  let s = "";
  let n = 0;
  for (;;) {
    const i = randomInt(prng, PIECES.length);
    const p = PIECES[i], len = PIECE_BYTES[i];
    if (n + len > bytes) break;
    s += p;
    n += len;
  }
  return s === "" ? "x" : s;
}

/** A random op body: mostly short messages, some 2000-byte ones, other kinds. */
export function randomOpBody(h: OpHead, prng: Prng): Op {
  const r = prng();
  const room = pick(prng, ROOMS);
  if (r < 0.6) {
    const long = prng() < 0.15;
    const msg = randomMsg(prng, long ? 1900 + randomInt(prng, 101) : 1 + randomInt(prng, 60));
    return { ...h, kind: "msg", tag: `t${randomInt(prng, 1e6)}`, groupName: room, userName: pick(prng, NAMES), msg };
  }
  if (r < 0.7) return { ...h, kind: "login", userName: pick(prng, NAMES), ttl: 300 };
  if (r < 0.85) return { ...h, kind: "touch" };
  if (r < 0.9) return { ...h, kind: "logout" };
  return { ...h, kind: pick(prng, ["open", "join", "leave"] as const), groupName: room };
}
