/**
 * Why the slowest listings of a chaos run (testing/chaos.ts) were slow on
 * the servers that stayed up (issue 27; `npm run chaos -- --trace`): for
 * each acked message, the copy's confirmer (read from a running server's
 * database at the end) and what that confirmer was doing from the ack until
 * the last of those servers listed it — `up`, `dead` (killed, in the
 * harness's 1 s wait), `starting` (its process starting, then its start's
 * wait to hear every peer: heard, and before this fix sending no `got`),
 * `rejoining` (listening, catching up before it takes writes) — and how
 * long after the confirmer took writes the listing came. A listing that
 * comes just after its confirmer took writes waited for it (a `got` it
 * sends only then); one that comes during `starting` or `rejoining` did not.
 * A listing released with others is told by the copy that headed the poll
 * that listed them (it held the room), with that copy's confirmer.
 * Given the servers' ids, a listing last at the confirmer's *far* server
 * (after it in the ring, not one of the `near` ones, so told its `got` once
 * a second: lib/acks/gots.ts) is marked and counted (fartail, 2026-12-07).
 * Inference from the outside, not a server's own trace: a reader's poll
 * every 100 ms, the start and "taking writes" lines.
 *
 * @example
 * ```ts
 * const lines = traceSlowest({ acked, listed, restarts, confOf: confirmers(dbPath) });
 * ```
 */
import { DatabaseSync } from "node:sqlite";
import { Ring } from "../lib/acks/ring.ts";

/** A restart as the run saw it (ms since the epoch): the kill -9, the start line, when it took writes, and its `listening` line (reads answered) if it printed one. */
export type Restart = { killed: number; back: number; writes: number; listening?: number };

/** What a confirmer was doing at some moment (see the file comment). */
export type Phase = "up" | "dead" | "starting" | "rejoining";

/** The harness's wait between a kill -9 and the restart, ms (testing/chaos.ts). */
const RESTART_WAIT_MS = 1000;

/** The phase at `t` of a server with these restarts. */
export function phaseAt(restarts: readonly Restart[], t: number): Phase {
  for (const r of restarts) {
    if (t < r.killed || t >= r.writes) continue;
    return t < r.killed + RESTART_WAIT_MS ? "dead" : t < r.back ? "starting" : "rejoining";
  }
  return "up";
}

/** Every message op's confirmer ("" for none) by msgID ("origin.seq"), read from a server's database (it may be running: WAL). */
export function confirmers(dbPath: string): Map<string, string> {
  const db = new DatabaseSync(dbPath);
  try {
    const rows = db.prepare("SELECT origin, seq, conf FROM ops WHERE kind = 'msg'").all() as { origin: string; seq: number; conf: string | null }[];
    return new Map(rows.map((r) => [`${r.origin}.${r.seq}`, r.conf ?? ""]));
  } finally {
    db.close();
  }
}

/**
 * An acked message and when the last of the servers not killed meanwhile
 * listed it (ms since the epoch), and which; `head`: the first msgID that
 * server listed in the same poll — the copy that held the room there, when
 * another (stable delivery lists nothing past an unsettled copy).
 */
export type Listed = { id: string; text: string; at: number; listedAt: number; lastServer: string; head?: string };

/** The phases a server went through in [from, to], in order, each once ("up → starting → rejoining → up"). */
function phases(restarts: readonly Restart[], from: number, to: number): string {
  const marks = [from, ...restarts.flatMap((r) => [r.killed, r.killed + RESTART_WAIT_MS, r.back, r.writes]).filter((t) => t > from && t < to), to];
  const out: Phase[] = [];
  for (const t of marks) if (out.at(-1) !== phaseAt(restarts, t)) out.push(phaseAt(restarts, t));
  return out.join(" → ");
}

/**
 * Lines on the `slowest` slowest listings (the 1% slowest by default, at
 * least 10), and a summary over every listing slower than `slowMs` (1.5 s:
 * confirmerDownMs) of what the confirmer of the copy that held it (itself,
 * or the head of the poll that listed it: `Listed.head`) was doing just
 * before it.
 */
export function traceSlowest(
  o: { listed: readonly Listed[]; restarts: ReadonlyMap<string, readonly Restart[]>; confOf: ReadonlyMap<string, string>; ids?: readonly string[]; slowMs?: number; slowest?: number },
): string[] {
  const slowMs = o.slowMs ?? 1500;
  const sorted = [...o.listed].sort((x, y) => (y.listedAt - y.at) - (x.listedAt - x.at));
  const explain = (l: Listed) => {
    const head = l.head ?? l.id;
    const conf = o.confOf.get(head) ?? "?";
    const rs = o.restarts.get(conf) ?? [];
    const before = phaseAt(rs, l.listedAt - 100); // the poll before the one that listed it
    const took = rs.find((r) => r.writes <= l.listedAt && r.writes >= l.at - 5000);
    return { head, held: head !== l.id, conf, before, path: phases(rs, l.at, l.listedAt), afterWrites: took ? l.listedAt - took.writes : null, far: isFar(conf, l.lastServer) };
  };
  /** `server` is one the confirmer tells its `got` only every gotAllEveryMs (not near it in the ring of `ids`). */
  const isFar = (conf: string, server: string) => o.ids !== undefined && o.ids.includes(conf) && server !== conf && !new Ring(o.ids, conf).near.includes(server);
  const lines: string[] = [];
  for (const l of sorted.slice(0, o.slowest ?? Math.max(10, Math.ceil(o.listed.length / 100)))) {
    const e = explain(l);
    const writes = e.afterWrites === null ? "" : `; listed ${e.afterWrites} ms after ${e.conf} took writes`;
    const whose = e.held ? `held by ${e.head}, its confirmer` : "confirmer";
    const far = e.far ? ", the confirmer's far server" : "";
    lines.push(`trace: ${l.id} "${l.text}" listed ${l.listedAt - l.at} ms after its ack (last at ${l.lastServer}${far}); ${whose} ${e.conf}: ${e.path}${writes}`);
  }
  const slow = sorted.filter((l) => l.listedAt - l.at > slowMs).map(explain);
  const count = (f: (e: ReturnType<typeof explain>) => boolean) => slow.filter(f).length;
  lines.push(
    `trace: ${slow.length} listing(s) slower than ${slowMs} ms on the servers not killed (${count((e) => e.held)} held by another copy); the confirmer of the copy that held each, just before the listing: ` +
      (["up", "dead", "starting", "rejoining"] as const).map((p) => `${p} ${count((e) => e.before === p)}`).join(", ") +
      `; listed within 300 ms after their confirmer took writes: ${count((e) => e.afterWrites !== null && e.afterWrites <= 300)}; ` +
      `confirmer restarted meanwhile: ${count((e) => e.path !== "up")}; ` +
      `last listed at the confirmer's far server (its \`got\` every gotAllEveryMs) with the confirmer up all along: ${count((e) => e.far && e.path === "up")} of ${count((e) => e.path === "up")}`,
  );
  return lines;
}

/** An acked message and when the last of all the servers listed it (ms since the epoch), and which. */
export type ListedOnAll = { at: number; listedAt: number; lastServer: string };

/**
 * A line on the listings on all servers slower than `slowMs` (2 s: issue
 * 27's goal): how many were last listed by a server killed before the
 * listing and not back (its start line) at the ack, and for those, when that server listed it counted
 * from its process's spawn (the kill + the harness's 1 s wait) and from its
 * start line (`back`; negative: before it, as it reads while its start still
 * hears its peers, docs/ARCHITECTURE.md "Incarnations") — p50 / p90 / max;
 * and how many of those it listed 1.35–1.7 s after its listening line: at
 * the end of its own wait for a confirmer it never heard
 * (LIVENESS.confirmerDownMs counted from its start, give or take the
 * watcher's poll).
 */
export function traceRestartedListings(listed: readonly ListedOnAll[], restarts: ReadonlyMap<string, readonly Restart[]>, slowMs = 2000): string {
  const slow = listed.filter((l) => l.listedAt - l.at > slowMs);
  const spawned: number[] = [], back: number[] = [], listening: number[] = [];
  for (const l of slow) {
    const r = (restarts.get(l.lastServer) ?? []).findLast((r) => r.killed <= l.listedAt && r.back >= l.at);
    if (!r) continue;
    spawned.push(l.listedAt - r.killed - RESTART_WAIT_MS);
    if (Number.isFinite(r.back)) back.push(l.listedAt - r.back);
    if (r.listening !== undefined) listening.push(l.listedAt - r.listening);
  }
  const q = (v: number[]) => {
    const s = [...v].sort((x, y) => x - y);
    return s.length ? `${s[Math.floor(s.length / 2)]} / ${s[Math.min(s.length - 1, Math.floor(s.length * 0.9))]} / ${s.at(-1)}` : "-";
  };
  return `trace: ${slow.length} listing(s) on all servers slower than ${slowMs} ms; ${spawned.length} last listed by a server down at the ack or killed after it, and restarted: ` +
    `listed after its spawn p50/p90/max ${q(spawned)} ms, after its start line ${q(back)} ms (${back.filter((b) => b < 0).length} before it)` +
    (listening.length ? `, after its listening line ${q(listening)} ms (${listening.filter((ms) => ms >= 1350 && ms < 1700).length} of them 1.35–1.7 s after it)` : "");
}
