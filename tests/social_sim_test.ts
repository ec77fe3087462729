/**
 * Accounts, direct messages and moderation in the replication simulation
 * (issue 13): random histories of ephemeral and password logins,
 * registrations, password changes and drops, room creation, joins, grants,
 * kicks, bans, unbans, invitations, modes, topics, room messages and DMs,
 * made on 3–5 Store-backed nodes (the real SQLite store and the real
 * replicator over the seeded in-memory network) with 20% loss, 5%
 * duplication, reordering jitter, two partitions that heal and a crash.
 * Each op is made only when the node's own state allows it, as the server's
 * handlers check (lib/handlers/), so concurrent conflicting actions
 * arise from the partitions and latency.
 *
 * Once healed, every node must hold the same accounts, room moderation
 * states, conversations and listed messages (notices included), and:
 * - a name has at most one account, the same on every node;
 * - a session of a banned name passes no room check (lib/handlers/direct.ts
 *   roomAccess) on any node — checked after every step on every node, not
 *   only at the end;
 * - a session may use a registered name only when bound to its account,
 *   the same verdict on every node;
 * - a DM conversation is reachable only by its two parties: every session
 *   whose part is in a conversation's key holds that name (and, for an
 *   unregistered part, is that very session).
 * SOCIAL_SIM_SEEDS=N runs more seeds; SOCIAL_SIM_SEED=K one.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import type { Op } from "../lib/wire/messages.ts";
import { MOD_ACTIONS } from "../lib/wire/messages.ts";
import { mulberry32, pick, randomInt } from "../testing/prng.ts";
import { isLive } from "../lib/rules/conflict.ts";
import { nameKey } from "../lib/wire/names.ts";
import { EMPTY } from "../lib/wire/vector.ts";
import { removeTempDirs, tempDir } from "../testing/harness.ts";
import type { OpHead } from "../testing/memory_log.ts";
import { SimCluster } from "../testing/sim_network.ts";
import type { Faults } from "../testing/sim_network.ts";
import { mayJoin, refusal } from "../lib/rules/moderation.ts";
import { regData, verifierData } from "../lib/rules/ledger.ts";
import { banned, conversation, partOf, roomAccess } from "../lib/handlers/direct.ts";
import { parts } from "../lib/store/conversations.ts";
import type { Store } from "../lib/store/store.ts";
import { StoreLog } from "./_store_sim.ts";

const FAULTS: Faults = { loss: 0.2, dup: 0.05, minLatencyMs: 1, maxLatencyMs: 40 };
const FAULTS_END = 6000;
const REPAIR_MS = 10_000;
const TTL = 300;
const NAMES = ["alice", "bob", "carol", "dave", "eve"];
const ROOMS = ["lobby", "dev", "ops"];
const KEY = "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE=";
const VERIFIER = { salt: "c2FsdHNhbHRzYWx0", iterations: 4096, storedKey: KEY, serverKey: KEY };

type Session = { id: string; user: string };

function runSeed(seed: number): { problems: string[]; counts: Record<string, number> } {
  const prng = mulberry32(seed * 7919 + 11);
  const ids = ["a", "b", "c", "d", "e"].slice(0, 3 + (seed % 3));
  const dir = tempDir("distchat-socialsim-");
  const logs = new Map<string, StoreLog>();
  const cluster = new SimCluster<StoreLog>({
    ids,
    seed,
    faults: FAULTS,
    key: null,
    makeLog: (id) => {
      const l = new StoreLog(dir, id);
      logs.set(id, l);
      return l;
    },
  });
  const net = cluster.net;
  const counts: Record<string, number> = {};
  const count = (k: string) => (counts[k] = (counts[k] ?? 0) + 1);
  const sessions: Session[] = [];
  let sessionNo = 0;
  const newSession = () => seed.toString(16).padStart(8, "0") + (++sessionNo).toString(16).padStart(56, "0");
  const up = (id: string) => cluster.nodes.get(id)!.up;
  const store = (id: string): Store => logs.get(id)!.s;
  const now = () => Math.floor(cluster.now);
  const make = (id: string, session: string, body: (h: OpHead) => Op): Op => cluster.createOp(id, (h) => body({ ...h, session }))[0];
  /** Sessions node `id` would serve: live, and allowed their name. */
  const usable = (id: string) =>
    sessions.filter((s) => {
      const r = store(id).session(s.id);
      return r !== null && isLive(r, now()) && store(id).accounts.mayUse(s.id, s.user);
    });
  let tagNo = 0;
  const problems: string[] = [];

  const step = (): void => {
    const live = ids.filter(up);
    if (live.length === 0) return;
    const id = pick(prng, live);
    const st = store(id);
    const r = prng();
    const here = usable(id);
    if (r < 0.1 || here.length === 0) {
      // An ephemeral login of a free, unregistered name, or a password login of a registered one.
      const user = pick(prng, NAMES);
      const acct = st.accounts.get(user);
      const s = { id: newSession(), user };
      if (acct !== null) {
        if (prng() < 0.5) return;
        count("password-login");
        sessions.push(s);
        make(id, s.id, (h) => ({ ...h, kind: "login", userName: user, ttl: TTL, account: acct.reg }));
      } else if (st.sessions.liveHolder(user, now()) === null) {
        count("login");
        sessions.push(s);
        make(id, s.id, (h) => ({ ...h, kind: "login", userName: user, ttl: TTL }));
      }
      return;
    }
    const s = pick(prng, here);
    const rec = st.session(s.id)!;
    if (r < 0.18) {
      const acct = st.accounts.get(s.user);
      if (acct === null) {
        count("register");
        make(id, s.id, (h) => ({ ...h, kind: "acct", action: "reg", userName: s.user, data: regData(VERIFIER, "-") }));
      } else if (prng() < 0.3) {
        count("drop");
        make(id, s.id, (h) => ({ ...h, kind: "acct", action: "drop", userName: s.user, data: acct.reg }));
      } else {
        count("password");
        make(id, s.id, (h) => ({ ...h, kind: "acct", action: "pass", userName: s.user, data: `${acct.reg} ${verifierData(VERIFIER)}` }));
      }
      return;
    }
    if (r < 0.26) {
      const room = pick(prng, ROOMS);
      if (st.rooms.name(room) === null) {
        count("open");
        make(id, s.id, (h) => ({ ...h, kind: "open", groupName: room }));
        return;
      }
      // As the server's connect: joins when not a member (or kicked), unless banned or not let in.
      if (banned(st, st.rooms.name(room)!, rec) !== null || "name" in roomAccess(st, room, rec) || !mayJoin(st.moderation.get(room), rec.user)) return;
      count("join");
      make(id, s.id, (h) => ({ ...h, kind: "join", groupName: st.rooms.name(room)! }));
      return;
    }
    if (r < 0.5) {
      // A moderation action, when this node's state allows it.
      const room = pick(prng, ROOMS);
      const name = st.rooms.name(room);
      if (name === null) return;
      const action = pick(prng, [...MOD_ACTIONS]);
      const target = action === "topic" ? "-" : action === "mode" ? pick(prng, ["+i", "-i"]) : pick(prng, NAMES);
      if (refusal(st.moderation.get(name), s.user, action, target) !== null) return;
      count(action);
      make(id, s.id, (h) => ({ ...h, kind: "mod", action, groupName: name, userName: s.user, target, text: action === "topic" ? `topic ${++tagNo}` : "" }));
      return;
    }
    if (r < 0.7) {
      const peer = pick(prng, NAMES);
      const c = conversation(st, rec, `@${peer}`, now());
      if ("problem" in c) return;
      count("dm");
      const tag = `d${++tagNo}`;
      make(id, s.id, (h) => ({ ...h, kind: "msg", tag, groupName: c.room, userName: s.user, msg: `dm ${tagNo}` }));
      return;
    }
    if (r < 0.95) {
      const rooms = ROOMS.filter((room) => "name" in roomAccess(st, room, rec));
      if (rooms.length === 0) return;
      const room = st.rooms.name(pick(prng, rooms))!;
      count("msg");
      const tag = `m${++tagNo}`;
      make(id, s.id, (h) => ({ ...h, kind: "msg", tag, groupName: room, userName: s.user, msg: `says ${tagNo}` }));
      return;
    }
    count("logout");
    make(id, s.id, (h) => ({ ...h, kind: "logout" }));
  };

  /** After every step, on every node: no session of a banned name reads a room. */
  const banCheck = (): void => {
    for (const id of ids.filter(up)) {
      const st = store(id);
      for (const room of ROOMS) {
        const name = st.rooms.name(room);
        if (name === null) continue;
        const m = st.moderation.get(name);
        for (const s of sessions) {
          const rec = st.session(s.id);
          if (rec === null || !m.bans.has(rec.ukey)) continue;
          if ("name" in roomAccess(st, name, rec)) problems.push(`${id}: banned ${s.user} reads ${name} at ${now()}`);
        }
      }
    }
  };

  for (let i = 0; i < 300; i++) {
    net.at(prng() * (FAULTS_END - 500), () => {
      step();
      banCheck();
    });
  }
  for (let i = 0; i < 2; i++) {
    const start = prng() * 4000;
    const cut = 1 + randomInt(prng, ids.length - 1);
    const shuffled = [...ids].sort(() => prng() - 0.5);
    net.at(start, () => net.partition([shuffled.slice(0, cut), shuffled.slice(cut)]));
    net.at(start + 500 + prng() * 1500, () => net.heal());
  }
  const victim = pick(prng, ids);
  const crashAt = prng() * 4500;
  net.at(crashAt, () => {
    if (!up(victim)) return;
    cluster.crash(victim);
    logs.get(victim)!.crash();
  });
  const restart = (id: string) => {
    if (up(id)) return;
    logs.get(id)!.restart(now());
    cluster.restart(id);
  };
  net.at(crashAt + 300 + prng() * 1000, () => restart(victim));
  net.at(FAULTS_END, () => {
    net.heal();
    for (const id of ids) restart(id);
  });

  try {
    cluster.runUntil(FAULTS_END);
    if (cluster.runUntilConverged(FAULTS_END + REPAIR_MS) === null) problems.push(`did not converge within ${REPAIR_MS} ms`);
    cluster.runUntil(cluster.now + 200);
    problems.push(...cluster.problems());
    banCheck();
    problems.push(...agreement(ids, store, sessions));
  } catch (e) {
    problems.push(`threw: ${(e as Error).stack ?? e}`);
  } finally {
    for (const l of logs.values()) l.close();
  }
  return { problems, counts };
}

/** A room's moderation state as comparable text. */
function modText(st: Store, room: string): string {
  const m = st.moderation.get(room);
  const sorted = (x: Map<string, unknown>) => [...x.keys()].sort().join(",");
  const kicks = [...m.kicks.entries()].map(([k, v]) => `${k}@${v.key.join(":")}/${v.by}/${v.ban}`).sort().join(",");
  return `owner=${m.owner} ops=${sorted(m.ops)} bans=${sorted(m.bans)} invites=${sorted(m.invites)} i=${m.inviteOnly} topic=${m.topic?.text ?? ""}/${m.topic?.by ?? ""} kicks=${kicks}`;
}

function agreement(ids: string[], store: (id: string) => Store, sessions: Session[]): string[] {
  const out: string[] = [];
  const views = ids.map((id) => {
    const st = store(id);
    const lines: string[] = [];
    for (const n of NAMES) {
      const a = st.accounts.get(n);
      lines.push(`account ${n}: ${a === null ? "-" : `${a.reg} ${a.name} ${a.storedKey.slice(0, 6)} ${a.publicKey}`}`);
    }
    for (const room of ROOMS) {
      if (st.rooms.name(room) === null) continue;
      lines.push(`room ${room}: ${modText(st, room)}`);
      lines.push(`listed ${room}: ${[...st.uncovered(room, EMPTY, true)].map((e) => `${e.origin}.${e.seq}`).sort().join(" ")}`);
    }
    const dms = st.db.prepare("SELECT part, rkey FROM dm_parts ORDER BY part, rkey").all() as { part: string; rkey: string }[];
    lines.push(`dm_parts: ${dms.map((d) => `${d.part}>${d.rkey}`).join(" ")}`);
    for (const rkey of new Set(dms.map((d) => d.rkey))) {
      lines.push(`listed ${rkey}: ${[...st.uncovered(rkey, EMPTY)].map((e) => `${e.origin}.${e.seq}`).sort().join(" ")}`);
    }
    for (const s of sessions) lines.push(`mayUse ${s.id.slice(-4)} ${s.user}: ${st.accounts.mayUse(s.id, s.user)}`);
    // Every conversation is reachable only by its parties.
    for (const d of dms) {
      for (const s of sessions) {
        const rec = st.session(s.id);
        if (rec === null || !st.accounts.mayUse(s.id, s.user)) continue;
        const p = partOf(st, rec);
        if (!parts(d.rkey).includes(p)) continue;
        const tilde = p.indexOf("~");
        if (nameKey(s.user) !== (tilde < 0 ? p : p.slice(0, tilde))) out.push(`${ids[0]}: ${s.user} reaches ${d.rkey}`);
        if (tilde >= 0 && st.accounts.get(s.user) === null && !rec.id.startsWith(p.slice(tilde + 1))) out.push(`${ids[0]}: session ${s.id.slice(-4)} reaches ${d.rkey} of another session`);
      }
    }
    return lines;
  });
  for (let i = 1; i < ids.length; i++) {
    for (const [k, line] of views[0].entries()) {
      if (views[i][k] !== line) out.push(`${ids[0]} vs ${ids[i]}:\n    ${line}\n    ${views[i][k]}`);
    }
  }
  return out;
}

const env = (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env ?? {};
const single = env.SOCIAL_SIM_SEED === undefined ? null : Number(env.SOCIAL_SIM_SEED);
const SEEDS = single !== null ? [single] : Array.from({ length: Number(env.SOCIAL_SIM_SEEDS ?? 12) }, (_, i) => i + 1);

test(`accounts, moderation and DMs settle alike on every node under loss, duplication, partitions and a crash (${SEEDS.length} seeds)`, () => {
  const failed: string[] = [];
  const totals: Record<string, number> = {};
  try {
    for (const seed of SEEDS) {
      const { problems, counts } = runSeed(seed);
      for (const [k, v] of Object.entries(counts)) totals[k] = (totals[k] ?? 0) + v;
      if (problems.length > 0) failed.push(`seed ${seed} (SOCIAL_SIM_SEED=${seed}):\n  ${problems.slice(0, 8).join("\n  ")}`);
    }
  } finally {
    removeTempDirs();
  }
  assert.equal(failed, [], failed.join("\n"));
  // The workload did what it is for.
  for (const k of ["register", "password-login", "drop", "ban", "kick", "op", "dm", "topic", "mode", "invite"]) {
    assert.ok((totals[k] ?? 0) > 0, `no ${k} in ${JSON.stringify(totals)}`);
  }
});

test.run();
