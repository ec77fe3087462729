/**
 * The SQLite store under the replication simulation (used by
 * tests/replication_store_sim_test.ts): one seeded run of a chat workload
 * over 3–4 Store-backed nodes with loss, duplication, jitter, partitions and
 * crashes, and the checks of the chat state once healed.
 */
import { join } from "node:path";
import type { Op } from "../lib/wire/messages.ts";
import type { Prng } from "../testing/prng.ts";
import { mulberry32, pick, randomInt } from "../testing/prng.ts";
import { Store } from "../lib/store/store.ts";
import { isLive } from "../lib/rules/conflict.ts";
import { nameKey } from "../lib/wire/names.ts";
import type { OpInput } from "../lib/store/store.ts";
import type { Vector } from "../lib/wire/vector.ts";
import { EMPTY, equals, formatVector, get } from "../lib/wire/vector.ts";
import { tempDir } from "../testing/harness.ts";
import type { OpHead } from "../testing/memory_log.ts";
import { SimCluster } from "../testing/sim_network.ts";
import type { Faults, SimLog } from "../testing/sim_network.ts";

const FAULTS: Faults = { loss: 0.2, dup: 0.05, minLatencyMs: 1, maxLatencyMs: 40 };
const FAULTS_END = 6000;
const REPAIR_MS = 10_000;
const TTL = 300;
const NAMES = ["alice", "bob", "carol", "dave", "eve", "frank"];
const ROOMS = ["lobby", "dev", "random", "ops", "music"];

// --- the store as the simulation's op log ---------------------------------------

/** A Store on a database file; `crash()` drops it uncleanly, `restart()` reopens the file. */
export class StoreLog implements SimLog {
  store: Store | null;
  readonly path: string;
  readonly self: string;

  constructor(dir: string, self: string) {
    this.self = self;
    this.path = join(dir, `${self}.sqlite`);
    this.store = Store.open(this.path, self, { sync: "normal" });
  }

  get s(): Store {
    if (this.store === null) throw new Error(`store of ${this.self} used while crashed`);
    return this.store;
  }

  vector(): Vector {
    return this.s.vector();
  }

  applyRemote(op: Op): void {
    this.s.begin();
    this.s.applyRemote(op);
    this.s.commit();
    this.s.takeDirty();
  }

  opsAfter(v: Vector, limit: number): Op[] {
    return this.s.opsAfter(v, limit);
  }

  /** Stores an op made here through Store.appendLocal; it must get exactly the head the simulation gave it. */
  appendLocal(op: Op): void {
    const { origin: _o, seq: _s, deps: _d, at, ...input } = op;
    this.s.begin();
    const made = this.s.appendLocal(input as OpInput, at);
    this.s.commit();
    this.s.takeLocalOps();
    this.s.takeDirty();
    if (made.origin !== op.origin || made.seq !== op.seq || !equals(made.deps, op.deps)) {
      throw new Error(`store made ${made.origin}.${made.seq} ${formatVector(made.deps)}, sim expected ${op.origin}.${op.seq}`);
    }
  }

  /** A crash: committed data stays on disk, nothing else is saved. */
  crash(): void {
    this.store?.db.close();
    this.store = null;
  }

  restart(now: number): void {
    if (this.store !== null) return;
    this.store = Store.open(this.path, this.self, { sync: "normal" });
    this.store.sessions.loadLive(now);
  }

  close(): void {
    this.store?.close();
    this.store = null;
  }
}

// --- one run -----------------------------------------------------------------------

type Session = { id: string; user: string };
type MsgMade = { op: Op & { kind: "msg" } };
export type Counts = { ops: number; nameRaces: number; roomRaces: number; failoverTwins: number; logouts: number };

let sessionNo = 0;
/** A session id as servers store it: 64 hex digits (here the seed and a counter). */
const newSession = (seed: number) => seed.toString(16).padStart(8, "0") + (++sessionNo).toString(16).padStart(56, "0");

/** Returns problems found (empty when all is well) and what the workload did. */
export function runSeed(
  seed: number,
): { problems: string[]; nameDisagreements: string[]; counts: Counts; convergedAfter: number | null } {
  sessionNo = 0;
  const prng: Prng = mulberry32(seed * 104729 + 3);
  const ids = ["a", "b", "c", "d"].slice(0, 3 + (seed % 2));
  const dir = tempDir("distchat-storesim-");
  const logs = new Map<string, StoreLog>();
  const cluster = new SimCluster<StoreLog>({
    ids,
    seed,
    faults: FAULTS,
    key: seed % 2 === 0 ? undefined : null,
    makeLog: (id) => {
      const l = new StoreLog(dir, id);
      logs.set(id, l);
      return l;
    },
  });
  const net = cluster.net;
  const counts: Counts = { ops: 0, nameRaces: 0, roomRaces: 0, failoverTwins: 0, logouts: 0 };
  const sessions: Session[] = [];
  const up = (id: string) => cluster.nodes.get(id)!.up;
  const store = (id: string) => logs.get(id)!.s;
  const now = () => Math.floor(cluster.now);
  const make = (id: string, session: string, body: (h: OpHead) => Op): Op => {
    counts.ops++;
    return cluster.createOp(id, (h) => body({ ...h, session }))[0];
  };
  /** Sessions live at node `id` (as its server would accept their token). */
  const liveAt = (id: string) =>
    sessions.filter((s) => {
      const r = store(id).session(s.id);
      return r !== null && isLive(r, now());
    });
  let tagNo = 0;

  const login = (id: string, user: string): void => {
    if (store(id).sessions.liveHolder(user, now()) !== null) return; // name-taken
    const s = { id: newSession(seed), user };
    sessions.push(s);
    make(id, s.id, (h) => ({ ...h, kind: "login", userName: user, ttl: TTL }));
  };
  const caseOf = (name: string) =>
    [...name].map((ch) => (prng() < 0.5 ? ch.toUpperCase() : ch)).join("");
  const open = (id: string, s: Session, room: string): void => {
    if (store(id).rooms.name(room) !== null) return; // room-exists
    make(id, s.id, (h) => ({ ...h, kind: "open", groupName: room }));
  };

  const step = (): void => {
    const live = ids.filter(up);
    if (live.length === 0) return;
    const id = pick(prng, live);
    const r = prng();
    if (r < 0.12) {
      login(id, pick(prng, NAMES));
      return;
    }
    if (r < 0.17 && live.length >= 2) {
      // The same name claimed on two servers at once.
      const user = pick(prng, NAMES);
      const [x, y] = [...live].sort(() => prng() - 0.5);
      if (store(x).sessions.liveHolder(user, now()) === null && store(y).sessions.liveHolder(user, now()) === null) {
        counts.nameRaces++;
        login(x, user);
        login(y, user.toUpperCase());
      }
      return;
    }
    const here = liveAt(id);
    if (here.length === 0) {
      login(id, pick(prng, NAMES));
      return;
    }
    const s = pick(prng, here);
    if (r < 0.25) {
      open(id, s, caseOf(pick(prng, ROOMS)));
      return;
    }
    if (r < 0.29 && live.length >= 2) {
      // The same room created on two servers at once, in different case.
      const room = pick(prng, ROOMS);
      const [x, y] = [...live].sort(() => prng() - 0.5);
      const sy = liveAt(y);
      if (sy.length > 0 && store(x).rooms.name(room) === null && store(y).rooms.name(room) === null) {
        counts.roomRaces++;
        open(x, s.id && liveAt(x).length > 0 ? pick(prng, liveAt(x)) : s, caseOf(room));
        open(y, pick(prng, sy), room.toUpperCase());
      }
      return;
    }
    if (r < 0.4) {
      const room = pick(prng, ROOMS);
      if (store(id).rooms.name(room) === null) return; // no-room
      make(id, s.id, (h) => ({ ...h, kind: "join", groupName: room }));
      return;
    }
    if (r < 0.95) {
      const rooms = ROOMS.filter((room) => store(id).rooms.isMember(room, s.id));
      if (rooms.length === 0) return; // not-member
      const room = pick(prng, rooms);
      const tag = `m${++tagNo}`;
      const msg = `${s.user} says ${tagNo} ${[..."é€😀\\"].slice(0, 1 + randomInt(prng, 4)).join("")}`;
      const body = (h: OpHead): Op => ({ ...h, kind: "msg", tag, groupName: room, userName: s.user, msg });
      make(id, s.id, body);
      if (prng() < 0.2) {
        // Failover: the client resends the same add (same token and tag) to another server
        // that has not got the first copy yet, and that server stores it too.
        const others = live.filter((x) =>
          x !== id && liveAt(x).some((t) => t.id === s.id) && store(x).rooms.isMember(room, s.id) &&
          store(x).messages.byTag(s.id, tag) === null
        );
        if (others.length > 0) {
          counts.failoverTwins++;
          make(pick(prng, others), s.id, body);
        }
      }
      return;
    }
    counts.logouts++;
    make(id, s.id, (h) => ({ ...h, kind: "logout" }));
  };

  for (let i = 0; i < 220; i++) net.at(prng() * (FAULTS_END - 500), step);
  for (let i = 0; i < 2; i++) {
    const start = prng() * 4000;
    const cut = 1 + randomInt(prng, ids.length - 1);
    const shuffled = [...ids].sort(() => prng() - 0.5);
    net.at(start, () => net.partition([shuffled.slice(0, cut), shuffled.slice(cut)]));
    net.at(start + 300 + prng() * 1500, () => net.heal());
  }
  const crash = (id: string) => {
    if (!up(id)) return;
    cluster.crash(id);
    logs.get(id)!.crash();
  };
  const restart = (id: string) => {
    if (up(id)) return;
    logs.get(id)!.restart(now());
    cluster.restart(id);
  };
  for (let i = 0; i < 1 + (seed % 2); i++) {
    const id = pick(prng, ids);
    const start = prng() * 4500;
    net.at(start, () => crash(id));
    net.at(start + 200 + prng() * 1300, () => restart(id));
  }
  net.at(FAULTS_END, () => {
    net.heal();
    for (const id of ids) restart(id);
  });

  const problems: string[] = [];
  let nameDisagreements: string[] = [];
  let convergedAfter: number | null = null;
  try {
    cluster.runUntil(FAULTS_END);
    const at = cluster.runUntilConverged(FAULTS_END + REPAIR_MS);
    if (at === null) problems.push(`did not converge within ${REPAIR_MS} ms after the faults ended`);
    else convergedAfter = at - FAULTS_END;
    cluster.runUntil(cluster.now + 200);
    problems.push(...cluster.problems());
    const st = stateProblems(ids, (id) => store(id), cluster.created, sessions, now());
    problems.push(...st.problems);
    nameDisagreements = st.nameDisagreements;
  } catch (e) {
    problems.push(`threw: ${(e as Error).stack ?? e}`);
  } finally {
    for (const l of logs.values()) l.close();
  }
  return { problems, nameDisagreements, counts, convergedAfter };
}

// --- the checks ------------------------------------------------------------------

/** Everything on which the nodes' chat state disagrees or breaks an invariant. */
export function stateProblems(
  ids: string[],
  store: (id: string) => Store,
  created: Op[],
  sessions: Session[],
  now: number,
): { problems: string[]; nameDisagreements: string[] } {
  const out: string[] = [];
  const names2: string[] = [];
  const byId = new Map(created.map((op) => [`${op.origin}.${op.seq}`, op]));
  const msgs: MsgMade[] = created.filter((op): op is Op & { kind: "msg" } => op.kind === "msg").map((op) => ({ op }));
  const pairs = new Set(msgs.map((m) => `${m.op.session} ${m.op.tag}`));
  const first = ids[0];

  // Rooms: the same display names everywhere.
  const rooms = store(first).rooms.after(null, 10_000);
  for (const id of ids.slice(1)) {
    const r = store(id).rooms.after(null, 10_000);
    if (JSON.stringify(r) !== JSON.stringify(rooms)) out.push(`rooms differ: ${first} ${rooms.join(",")} vs ${id} ${r.join(",")}`);
  }

  // Messages: the same visible set per room, each (session, tag) once, causal order.
  let reference: Map<string, string[]> | null = null;
  for (const id of ids) {
    const visible = new Map<string, string[]>();
    const seenPairs = new Map<string, string>();
    for (const room of rooms) {
      const list = [...store(id).uncovered(room, EMPTY)].map((e) => `${e.origin}.${e.seq}`);
      const pos = new Map<string, number>();
      for (const [i, m] of list.entries()) {
        if (pos.has(m)) out.push(`${id}: ${m} listed twice in ${room}`);
        pos.set(m, i);
        const op = byId.get(m);
        if (!op || op.kind !== "msg") {
          out.push(`${id}: ${room} lists ${m}, which is not a message made`);
          continue;
        }
        if (nameKey(op.groupName) !== nameKey(room)) out.push(`${id}: ${m} of ${op.groupName} listed in ${room}`);
        const pair = `${op.session} ${op.tag}`;
        if (seenPairs.has(pair)) out.push(`${id}: (session, tag) ${op.tag} visible twice: ${seenPairs.get(pair)} and ${m}`);
        seenPairs.set(pair, m);
      }
      // Causal order: everything m depends on (same origin earlier, or covered by its deps) is listed first.
      for (const [m, i] of pos) {
        const op = byId.get(m)!;
        for (const [d, j] of pos) {
          const dep = byId.get(d)!;
          const needed = dep.origin === op.origin ? dep.seq < op.seq : dep.seq <= get(op.deps, dep.origin);
          if (needed && j > i) out.push(`${id}: ${room}: ${m} listed before ${d}, which it depends on`);
        }
      }
      visible.set(room, [...pos.keys()].sort());
    }
    for (const p of pairs) if (!seenPairs.has(p)) out.push(`${id}: message ${p.split(" ")[1]} not visible`);
    if (reference === null) reference = visible;
    else {
      for (const room of rooms) {
        const a = reference.get(room)!.join(" "), b = visible.get(room)!.join(" ");
        if (a !== b) out.push(`visible messages of ${room} differ between ${first} and ${id}`);
      }
    }
  }

  // Names: never two live sessions, and the same live holder everywhere.
  const names = new Set(sessions.map((s) => nameKey(s.user)));
  let holders: string | null = null;
  for (const id of ids) {
    const h: string[] = [];
    for (const name of [...names].sort()) {
      const liveOnes = sessions.filter((s) => {
        if (nameKey(s.user) !== name) return false;
        const r = store(id).session(s.id);
        return r !== null && isLive(r, now);
      });
      if (liveOnes.length > 1) out.push(`${id}: ${name} held by ${liveOnes.length} live sessions`);
      h.push(`${name}=${liveOnes.map((s) => s.id.replace(/^0+/, "")).join("+") || "-"}`);
    }
    const text = h.join(" ");
    if (holders === null) holders = text;
    else if (text !== holders) {
      const a = holders.split(" "), b = text.split(" ");
      for (const [i, x] of a.entries()) {
        if (x === b[i]) continue;
        const name = x.split("=")[0];
        names2.push(`live holder of ${name} differs: ${first} ${x.split("=")[1]} vs ${id} ${b[i].split("=")[1]}`);
        // The ops of that name's sessions, in each node's delivery order.
        const mine = new Set(sessions.filter((s) => nameKey(s.user) === name).map((s) => s.id));
        for (const n of [first, id]) {
          const ops = store(n).opsAfter(EMPTY, Infinity).filter((op) => mine.has(op.session) && op.kind !== "msg");
          names2.push(`  ${n}: ` + ops.map((op) => `${op.origin}.${op.seq}:${op.kind}:${op.session.replace(/^0+/, "")}@${op.at}`).join(" "));
        }
      }
    }
  }
  return { problems: out, nameDisagreements: names2 };
}

