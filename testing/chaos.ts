/**
 * The chaos run of real server processes (docs/ARCHITECTURE.md "Acks"):
 * N servers whose peer traffic crosses fault-injecting proxies (loss,
 * duplication, jitter), clients whose own datagrams and replies are lost
 * too, and a kill -9 of a random server every few seconds (restarted on
 * its database a second later; the next kill picks among the servers up,
 * so when a restart takes longer than the gap, two are down at once:
 * `twoDown`). Each client adds
 * numbered lines one at a time, retransmitting the same datagram (same
 * tag) and failing over to the next server of servers.txt after three
 * silent sends, as docs/PROTOCOL.md tells a client to.
 *
 * When the faults stop it checks, on every server:
 * - every acked (msgID, text) is listed under that msgID;
 * - no msgID and no text is listed twice;
 * - each client's lines are listed in the order it sent them, and were
 *   shown in that order to a reader polling that server all along (its
 *   watcher, chaos_visibility.ts);
 * and how long the servers took to agree (convergence). An acked msgID
 * not listed is told apart: its text listed under another id (a twin copy
 * shown instead: the acked id is hidden) or nowhere (lost).
 *
 * tests/chaos_test.ts runs a short one in `npm test`; scripts/chaos.ts a
 * long one (`npm run chaos -- --seconds 120`); with `membership`, a server
 * is added and one retired while all this goes on (chaos_membership.ts).
 *
 * @example
 * ```ts
 * const r = await runChaos({ servers: 5, clients: 4, seconds: 20, seed: 1 });
 * r.problems; // [] when all is well
 * ```
 */
import { join } from "node:path";
import { escapeText } from "../lib/wire/codec.ts";
import { mulberry32 } from "./prng.ts";
import { connectWhenThere, enter, type FaultyCluster, login, readAll, sleep, startFaultyCluster, tag } from "./cluster_ops.ts";
import { type Address, lines, type ServerHandle, udpClient, type UdpClient } from "./harness.ts";
import { ChaosClient } from "./chaos_client.ts";
import { secureUdpClient } from "./secure_client.ts";
import { changeMembership } from "./chaos_membership.ts";
import { watchVisibility } from "./chaos_visibility.ts";
import { confirmers, type Listed, type ListedOnAll, type Restart, traceRestartedListings, traceSlowest } from "./chaos_trace.ts";

export type ChaosOptions = {
  servers: number;
  clients: number;
  /** How long the faults last. */
  seconds: number;
  seed: number;
  /** Peer-datagram loss and duplication (0..1), jitter in ms. Defaults 0.1, 0.05, 20. */
  loss?: number;
  duplicate?: number;
  jitterMs?: number;
  /** Loss of client datagrams and replies (each way). Default 0.1. */
  clientLoss?: number;
  /** A kill -9 about this often, ms; 0: none. Default 4000. */
  killEveryMs?: number;
  /** Clients speak the encrypted transport (default true); false: plaintext (the servers run with --allow-plaintext). */
  encrypted?: boolean;
  /** Extra server flags (e.g. --one-disk-acks). */
  serverArgs?: string[];
  /** How long the servers may take to agree once the faults stop. Default 15 s. */
  convergeMs?: number;
  /** Add a server a third of the way in and retire the first two thirds in (testing/chaos_membership.ts). */
  membership?: boolean;
  /**
   * A rolling upgrade by crashes: the servers start on this argv (a previous
   * release, testing/previous_release.ts) and every kill -9 restarts its
   * server on this release, the kills going round the servers in order.
   */
  previousRelease?: (args: string[]) => string[];
  /** Explain the slowest listings on the servers not killed: each copy's confirmer and what it was doing (testing/chaos_trace.ts). */
  trace?: boolean;
  log?: (line: string) => void;
};

export type ChaosReport = {
  acked: number;
  /** Adds that were never acked (a client gave up after 30 s). */
  unacked: number;
  /** `rate-limited` answers to adds (each add was sent again a second later, as docs/PROTOCOL.md says). */
  rateLimited: number;
  kills: number;
  /** Servers running this release at the end, of those started on `previousRelease` (0 without it). */
  upgraded: number;
  /** ms from the end of the faults until every server listed the same, complete room; null: never. */
  convergedMs: number | null;
  /** With `membership`: the server added and the one retired. */
  changed?: { added: string; retired: string };
  /** Each violated property, with an example. */
  problems: string[];
  /** Ack latency, ms (p50, p99, max). */
  latency: { p50: number; p99: number; max: number };
  /**
   * From an ack until every server listed the message (polled every 100 ms),
   * ms: over all servers; over the servers that were up when it was acked;
   * over the servers not killed between the ack and their listing it (what
   * replication and stable delivery take, without a restart in the way);
   * `missing`: acked messages some server never listed.
   */
  visible: { all: Quantiles; upAtAck: Quantiles; notKilled: Quantiles; missing: number };
  /** From each kill -9 until the restarted server said it listens (1 s of that is the wait before the restart), ms. */
  outageMs: Quantiles;
  /** From a restarted server's start until it took writes (its "… ms after start" line), ms; `of`: restarts, `never`: those killed again first. */
  catchUp: Quantiles & { of: number; never: number };
  /** Kills made while another server was still down (two down at once). */
  twoDown: number;
  /** With `trace`: the lines of testing/chaos_trace.ts. */
  trace?: string[];
};

/** p50, p99 and max of some ms. */
export type Quantiles = { p50: number; p99: number; max: number };

/** The quantiles of `values` (0s when there are none). */
function quantiles(values: number[]): Quantiles {
  const ms = [...values].sort((x, y) => x - y);
  const q = (p: number) => ms.length ? ms[Math.min(ms.length - 1, Math.floor(p * ms.length))] : 0;
  return { p50: q(0.5), p99: q(0.99), max: ms.at(-1) ?? 0 };
}

/** How long each restarted server took from its start to take writes (docs/OPERATIONS.md "Restarting a server"). */
function catchUpMs(servers: ServerHandle[]): Quantiles & { of: number; never: number } {
  const ms = servers.flatMap((h) => tookWritesMs(h) ?? []);
  return { ...quantiles(ms), of: servers.length, never: servers.length - ms.length };
}

/** A restarted server's "taking writes (…; N ms after start)" line: N, or undefined when it never took writes. */
function tookWritesMs(h: ServerHandle): number | undefined {
  const m = /taking writes \(.*; (\d+) ms after start\)/.exec(h.stderr());
  return m ? Number(m[1]) : undefined;
}

/** Each server's restarts for testing/chaos_trace.ts: killed, back, and when it took writes (counted from the start line; its next kill when it never did). */
function restartsOf(outages: ReadonlyMap<string, [number, number, ServerHandle?][]>): Map<string, Restart[]> {
  return new Map([...outages].map(([id, os]) => [id, os.map(([killed, back, h], k) => ({
    killed,
    back,
    writes: Math.min(back + ((h && tookWritesMs(h)) ?? Infinity), os[k + 1]?.[0] ?? Infinity),
    listening: h?.listeningAt,
  }))]));
}

const ROOM = "chaos";

const plainClient = (host: string) => udpClient(host);

export async function runChaos(o: ChaosOptions): Promise<ChaosReport> {
  const log = o.log ?? (() => {});
  const ids = Array.from({ length: o.servers }, (_, i) => String.fromCharCode(97 + i));
  const rand = mulberry32(o.seed);
  const spare = String.fromCharCode(97 + o.servers);
  const upgraded = new Set<string>();
  const fc: FaultyCluster = await startFaultyCluster(
    ids,
    { loss: o.loss ?? 0.1, duplicate: o.duplicate ?? 0.05, jitterMs: o.jitterMs ?? 20, seed: o.seed },
    o.serverArgs ?? [],
    o.membership ? [spare] : [],
    (id) => (upgraded.has(id) ? undefined : o.previousRelease),
  );
  const udps: UdpClient[] = [];
  const problems: string[] = [];
  let kills = 0, twoDown = 0;
  try {
    const addrs = ids.map((id) => fc.clientAddr[id]);
    // Each reader, client and watcher from its own loopback address, as users on their own hosts: the servers' per-address
    // request rate (docs/PROTOCOL.md `rate-limited`, 2,000 a second) is then not shared by the whole run. Shared, it
    // was the likely cause of the adds refused `rate-limited` in 2 of 6 runs: a watcher drains a restarted server's
    // backlog in a tight loop of polls.
    let hosts = 10;
    const udpClient = () => {
      const host = `127.0.0.${hosts++}`;
      return o.encrypted === false ? plainClient(host) : secureUdpClient(fc.keys, host);
    };
    // A reader session joined on every server, and one session per client.
    const reader = await udpClient();
    udps.push(reader);
    const readTok = await login(reader, addrs[0], "reader");
    await enter(reader, addrs[0], readTok, ROOM);
    const toks: string[] = [];
    const clients: ChaosClient[] = [];
    for (let c = 0; c < o.clients; c++) {
      const u = await udpClient();
      udps.push(u);
      const home = c % ids.length;
      toks.push(await login(u, addrs[home], `chaos${c}`));
      await connectWhenThere(u, addrs[home], toks[c], ROOM);
      const loss = o.clientLoss ?? 0.1;
      const r = mulberry32(o.seed * 1000 + c);
      clients.push(new ChaosClient(u, addrs, home, () => r() < loss));
    }
    // Every session and membership on every server before the faults start.
    for (const a of addrs) for (const [c, t] of toks.entries()) await connectWhenThere(udps[c + 1], a, t, ROOM);
    const watchers = await Promise.all(addrs.map(() => udpClient()));
    udps.push(...watchers);
    let watching = true;
    const seen = watchVisibility(watchers, addrs, readTok, ROOM, () => !watching);
    log(`chaos: ${ids.length} servers, ${o.clients} clients, ${o.seconds} s of faults, seed ${o.seed}`);

    const end = Date.now() + o.seconds * 1000;
    const acked: { client: number; n: number; id: string; text: string; ms: number; at: number; down: string[]; by: string }[] = [];
    let unacked = 0, rateLimited = 0;
    const serverAt = (a: Address | null) => ids.find((id) => a !== null && fc.clientAddr[id].port === a.port) ?? "?";
    const down = new Set<string>();
    /** Per server, when it was killed and when it was back up (Infinity: not yet), and the restarted process. */
    const outages = new Map<string, [number, number, ServerHandle?][]>(ids.map((id) => [id, []]));
    const adders = clients.map(async (cl, c) => {
      for (let n = 1; Date.now() < end; n++) {
        const text = `c${c} line ${n}`;
        const start = Date.now();
        const request = lines("add", tag(), toks[c], escapeText(text), ROOM);
        let reply = await cl.request(request, 30_000);
        // A server joining or being retired answers `unavailable`: the same add goes to the next server.
        // `rate-limited`: wait and resend (docs/PROTOCOL.md), counted apart.
        for (let i = 0; i < 50 && Date.now() - start < 30_000; i++) {
          const code = reply?.split("\n")[2];
          if (code === "rate-limited") {
            rateLimited++;
            log(`chaos: ${text}: rate-limited by ${serverAt(cl.lastFrom)}: ${reply?.split("\n")[3]}`);
            await sleep(1000);
          } else if (code === "unavailable") cl.current = (cl.current + 1) % cl.servers.length;
          else break;
          reply = await cl.request(request, 30_000 - (Date.now() - start));
        }
        if (reply === null) {
          unacked++;
          continue;
        }
        const f = reply.split("\n");
        if (f[0] !== "ok") {
          problems.push(`${text}: ${reply.replace(/\n/g, " | ")}`);
          continue;
        }
        acked.push({ client: c, n, id: f[5], text, ms: Date.now() - start, at: Date.now(), down: [...down], by: serverAt(cl.lastFrom) });
      }
    });
    // Kills at seeded times, each restart in the background, so the number of
    // kills depends on the seed alone, not on how long a slow machine takes
    // to bring a server back.
    const restarts: Promise<void>[] = [];
    const restarted: ServerHandle[] = [];
    const active = new Set(ids), paused = { on: false };
    const changes = o.membership ? changeMembership({ fc, ids, spare, active, down, paused, addrs, seconds: o.seconds, log }) : null;
    const killer = (async () => {
      const every = o.killEveryMs ?? 4000;
      if (every <= 0) return;
      const start = Date.now();
      for (let at = every * (0.5 + rand()); start + at + 1000 < end; at += every * (0.5 + rand())) {
        await sleep(Math.max(0, start + at - Date.now()));
        const up = [...active].filter((id) => !down.has(id));
        if (up.length === 0 || paused.on) continue;
        // Upgrading: the next server in order (round the ring again once all are); else any.
        const id = o.previousRelease ? ids[kills % ids.length] : up[Math.floor(rand() * up.length)];
        if (down.has(id)) continue;
        down.add(id);
        if (down.size > 1) twoDown++;
        const outage: [number, number, ServerHandle?] = [Date.now(), Infinity];
        outages.get(id)?.push(outage);
        await fc.servers[id].kill9();
        kills++;
        log(`chaos: kill -9 ${id}`);
        restarts.push((async () => {
          await sleep(1000);
          if (o.previousRelease) upgraded.add(id);
          restarted.push(outage[2] = await fc.start(id, [], { waitForWrites: false })); // "back" when it listens: it reads at once, writes once caught up
          outage[1] = Date.now();
          down.delete(id);
        })());
      }
    })();
    await Promise.all([...adders, killer]);
    await Promise.all(restarts);
    const changed = await changes?.catch((e) => void problems.push(`membership change: ${(e as Error).message}`));
    // The servers checked: those running now, in file order.
    const live = [...ids, spare].filter((id) => active.has(id));
    const liveAddrs = live.map((id) => fc.clientAddr[id]);
    for (const p of Object.values(fc.proxies)) p.setFaults({ loss: 0, duplicate: 0, jitterMs: 0 });
    log(`chaos: faults stopped; ${acked.length} acked, ${unacked} unacked, ${kills} kills`);

    // Convergence: every server lists the same room, holding every acked line.
    const healed = Date.now();
    let listings: { ids: string[]; msgs: string[] }[] = [];
    let convergedMs: number | null = null;
    while (Date.now() - healed < (o.convergeMs ?? 15_000)) {
      listings = await Promise.all(liveAddrs.map((a) => readAll(reader, a, readTok, ROOM).catch(() => ({ ids: [], msgs: [] }))));
      const first = JSON.stringify(listings[0].ids);
      const have = new Set(listings[0].ids);
      if (listings.every((l) => JSON.stringify([...l.ids].sort()) === JSON.stringify([...JSON.parse(first)].sort())) &&
        acked.every((a) => have.has(a.id))) {
        convergedMs = Date.now() - healed;
        break;
      }
      await sleep(250);
    }
    if (convergedMs === null) {
      const sets = listings.map((l) => JSON.stringify([...l.ids].sort()));
      const why = sets.every((x) => x === sets[0]) ? "they list the same msgIDs, but not every acked one" : "their msgIDs differ";
      problems.push(`the servers did not agree within the convergence time (${why})`);
    }
    watching = false;
    await seen.done;
    // Servers retired by a membership change never list what came after: only those running now count.
    const counted = (i: number) => live.includes(ids[i]);
    const visibleAll: number[] = [], visibleUp: number[] = [], visibleNotKilled: number[] = [];
    const killedBetween = (id: string, from: number, to = Infinity) => (outages.get(id) ?? []).some(([k, u]) => k <= to && u >= from);
    let missing = 0;
    const listed: Listed[] = [], onAll: ListedOnAll[] = [];
    // Per server, the first msgID each of its watcher's polls listed, by the poll's time (the trace's `head`).
    const heads = o.trace ? ids.map((_, i) => {
      const first = new Map<number, string>();
      for (const id of seen.shownOrder(i)) {
        const t = seen.allAt(id, (j) => j === i) ?? 0;
        if (!first.has(t)) first.set(t, id);
      }
      return first;
    }) : [];
    for (const a of acked) {
      const all = seen.allAt(a.id, counted);
      const up = seen.allAt(a.id, (i) => counted(i) && !a.down.includes(ids[i]));
      if (all === null) missing++;
      else visibleAll.push(Math.max(0, all - a.at)), onAll.push({ at: a.at, listedAt: all, lastServer: ids.find((_, i) => counted(i) && seen.allAt(a.id, (j) => j === i) === all) ?? "" });
      if (up !== null) visibleUp.push(Math.max(0, up - a.at));
      let lastServer = "", lastAt = -Infinity;
      const clean = seen.allAt(a.id, (i, t) => {
        const ok = counted(i) && !killedBetween(ids[i], a.at, t);
        if (ok && t !== undefined && t > lastAt) [lastServer, lastAt] = [ids[i], t];
        return ok;
      });
      if (clean !== null) visibleNotKilled.push(Math.max(0, clean - a.at));
      if (clean !== null) listed.push({ id: a.id, text: a.text, at: a.at, listedAt: clean, lastServer, head: heads[ids.indexOf(lastServer)]?.get(lastAt) });
    }
    /** The first inversion of each client's acked lines in `pos` (msgID → position; ids absent are skipped). */
    const inversions = (pos: ReadonlyMap<string, number>) =>
      Array.from({ length: o.clients }, (_, c) => {
        const mine = acked.filter((a) => a.client === c && pos.has(a.id)).sort((x, y) => x.n - y.n);
        const k = mine.findIndex((y, k) => k > 0 && pos.get(mine[k - 1].id)! > pos.get(y.id)!);
        const [x, y] = [mine[k - 1], mine[k]];
        return k < 0 ? null : `"${y.text}" (${y.id}, acked by ${y.by}) comes before "${x.text}" (${x.id}, acked by ${x.by})`;
      }).filter((v) => v !== null);
    listings.forEach((l, i) => {
      const id = live[i];
      const byId = new Map<string, string>(), idOf = new Map<string, string>();
      l.ids.forEach((m, k) => (byId.set(m, l.msgs[k]), idOf.set(l.msgs[k], m)));
      if (byId.size !== l.ids.length) problems.push(`server ${id} lists a msgID twice`);
      if (new Set(l.msgs).size !== l.msgs.length) {
        const seen = new Set<string>();
        const dup = l.msgs.find((m) => seen.has(m) || !seen.add(m));
        problems.push(`server ${id} lists a line twice: ${dup}`);
      }
      for (const a of acked) {
        if (byId.get(a.id) !== a.text) {
          // A twin copy of the same add (docs/ARCHITECTURE.md "Acks") lists the text under another id: not lost, but the acked id is hidden.
          const twin = byId.has(a.id) ? "" : idOf.has(a.text) ? `; its text is listed under ${idOf.get(a.text)} (the acked id is hidden)` : "; its text is listed nowhere (lost)";
          problems.push(`server ${id}: acked ${a.id} "${a.text}" (acked by ${a.by}) is listed as ${JSON.stringify(byId.get(a.id) ?? null)}${twin}`);
        }
      }
      // Order: of each client's acked lines that this server lists (a missing one is reported above, not as an inversion).
      const at = new Map(l.ids.map((m, k) => [m, k]));
      for (const inv of inversions(at)) problems.push(`server ${id}: ${inv} in its final listing`);
      // And in the order its watcher was shown them as they came (what a reader polling there saw).
      const w = ids.indexOf(id);
      const shown = new Map(w < 0 ? [] : seen.shownOrder(w).map((m, k) => [m, k]));
      for (const inv of inversions(shown)) problems.push(`server ${id}: ${inv} as a reader polling it was shown them`);
    });
    const trace = o.trace ? traceSlowest({ listed, ids, restarts: restartsOf(outages), confOf: confirmers(join(fc.dir, `${live[0]}.sqlite`)) }) : undefined;
    trace?.push(traceRestartedListings(onAll, restartsOf(outages)));
    return {
      trace,
      acked: acked.length,
      unacked,
      rateLimited,
      kills,
      upgraded: upgraded.size,
      convergedMs,
      changed: changed ?? undefined,
      problems,
      latency: quantiles(acked.map((a) => a.ms)),
      visible: { all: quantiles(visibleAll), upAtAck: quantiles(visibleUp), notKilled: quantiles(visibleNotKilled), missing },
      twoDown,
      catchUp: catchUpMs(restarted),
      outageMs: quantiles([...outages.values()].flat().filter(([, u]) => Number.isFinite(u)).map(([k, u]) => u - k)),
    };
  } finally {
    await fc.stop();
    await Promise.all(udps.map((u) => u.close()));
  }
}
