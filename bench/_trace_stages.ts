/**
 * One add's path from the writer through server a to a long poller on b,
 * cut into stages from the event traces of bench/_trace_preload.ts (private
 * to bench/trace.ts). Every time is CLOCK_MONOTONIC µs, so a's, b's and the
 * driver's events line up.
 *
 * @example
 * ```ts
 * const s = deliveryStages(adds, traceOfA.main, traceOfB.main, { bPeer: 7002 });
 * console.log(s.table);
 * ```
 */
import type { Ev } from "./_trace_read.ts";
import { markdownTable } from "./_trace_read.ts";
import { percentile } from "./_stats.ts";

/** What the driver saw of one add (µs): its tag, when it was sent, acked, and arrived at the poller. */
export type TracedAdd = { tag: string; sent: number; acked: number; arrived: number };

/** The first event at or after `t` that `ok` accepts, by binary search then scan. */
function first(events: readonly Ev[], t: number, ok: (e: Ev) => boolean, limit = 4000): Ev | undefined {
  let lo = 0, hi = events.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (events[mid][1] < t) lo = mid + 1;
    else hi = mid;
  }
  for (let i = lo; i < Math.min(events.length, lo + limit); i++) if (ok(events[i])) return events[i];
  return undefined;
}

/** The last event before `t` that `ok` accepts. */
function lastBefore(events: readonly Ev[], t: number, ok: (e: Ev) => boolean): Ev | undefined {
  let lo = 0, hi = events.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (events[mid][1] <= t) lo = mid + 1;
    else hi = mid;
  }
  for (let i = lo - 1; i >= Math.max(0, lo - 4000); i--) if (ok(events[i])) return events[i];
  return undefined;
}

const end = (e: Ev) => e[1] + Number(e[2]);
const is = (kind: string, what: string | RegExp) => (e: Ev) => {
  if (e[0] !== kind) return false;
  const label = String(kind === "rx" || kind === "tx" ? e[5] : e[3]);
  return typeof what === "string" ? label === what : what.test(label);
};

/** Stage durations per add (µs) and a table of their median and p90. */
export function deliveryStages(adds: readonly TracedAdd[], a: readonly Ev[], b: readonly Ev[], o: { bPeer: number }) {
  const names = [
    "writer → a's receive callback starts (loopback, a wakes)",
    "a: receive callback (decode, checks, handler, SQLite statements)",
    "a: callback end → the commit's turn (Clock.soon batching window)",
    "a: COMMIT",
    "a: fsync of the write-ahead log",
    "a: high-water mark file written",
    "a: after the sync → send() of the add to b (after-callbacks, subscribers, encode)",
    "a: send() → the datagram leaves (node:dgram: within send() since lib/net/udp_node.ts answers the lookup at once; before, when the callback returned)",
    "a → b: datagram in flight, b wakes",
    "b: receive callback (decode, auth, replicate, apply)",
    "b: callback end → the commit's turn",
    "b: COMMIT (not yet synced: onShown)",
    "b: COMMIT end → send() of the poll reply (wake, read, encode)",
    "b: send() → the reply leaves (b's fsync, got, the rest of the callback)",
    "b → poller: reply in flight, the bench process reads it",
  ];
  const stages: number[][] = names.map(() => []);
  /** Each matched add with its stages (µs, in the order of `names`): bench/_trace_tail.ts reads the slowest. */
  const perAdd: { add: TracedAdd; parts: number[] }[] = [];
  const totals: number[] = [], sums: number[] = [], acks: number[] = [], turnsA: number[] = [], turnsB: number[] = [];
  const sqlA: number[] = [], sqlB: number[] = [];
  const ackParts = { pollToGot: [] as number[], gotToAck: [] as number[], fsyncB: [] as number[] };
  let unmatched = 0;
  const why = new Map<string, number>();
  for (const add of adds) {
    if (!add || !add.arrived) {
      unmatched++;
      continue;
    }
    const rxA = first(a, add.sent - 50, is("rx", `add ${add.tag}`));
    const commitA = rxA && first(a, end(rxA), is("ex", "COMMIT"));
    const imA = commitA && lastBefore(a, commitA[1], (e) => e[0] === "im");
    const fsA = commitA && first(a, commitA[1], is("fs", "fsyncSync"));
    const hwmA = fsA && first(a, end(fsA), is("fs", "writeFileSync"), 50);
    const txA = commitA && first(a, commitA[1], (e) => e[0] === "tx" && e[3] === o.bPeer && String(e[5]).startsWith("add "));
    const goA = txA && first(a, txA[1], (e) => e[0] === "go" && e[6] === txA[1] && e[5] === txA[5] && e[3] === txA[3]);
    const rxB = goA && first(b, goA[1], is("rx", /^add [a-z]/));
    const commitB = rxB && first(b, end(rxB), is("ex", "COMMIT"));
    const imB = commitB && lastBefore(b, commitB[1], (e) => e[0] === "im");
    const pollB = commitB && first(b, commitB[1], is("tx", /^poll /));
    const goB = pollB && first(b, pollB[1], (e) => e[0] === "go" && e[6] === pollB[1] && e[5] === pollB[5]);
    const fsB = commitB && first(b, commitB[1], is("fs", "fsyncSync"));
    const gotB = fsB && first(b, end(fsB), is("tx", /^got /));
    const gotA = gotB && first(a, gotB[1], is("rx", /^got /));
    const ackA = first(a, add.sent, is("tx", `ok ${add.tag}`), 20_000);
    if (!rxA || !commitA || !imA || !fsA || !txA || !goA || !rxB || !commitB || !imB || !pollB || !goB || add.arrived < goB[1]) {
      const missing = !rxA ? "a's receive" : !commitA || !imA ? "a's commit" : !fsA ? "a's fsync" : !txA || !goA ? "a's fan-out" : !rxB ? "b's receive"
        : !commitB || !imB ? "b's commit" : "b's poll reply";
      why.set(missing, (why.get(missing) ?? 0) + 1);
      unmatched++;
      continue;
    }
    const syncEnd = hwmA && hwmA[1] < txA[1] ? end(hwmA) : end(fsA);
    const parts = [
      rxA[1] - add.sent,
      Number(rxA[2]),
      imA[1] - end(rxA),
      Number(commitA[2]),
      Number(fsA[2]),
      hwmA && hwmA[1] < txA[1] ? Number(hwmA[2]) : 0,
      txA[1] - syncEnd,
      goA[1] - txA[1],
      rxB[1] - goA[1],
      Number(rxB[2]),
      imB[1] - end(rxB),
      Number(commitB[2]),
      pollB[1] - end(commitB),
      goB[1] - pollB[1],
      add.arrived - goB[1],
    ];
    // The stages between the commit's immediate starting and COMMIT (other writes of the batch, checks) are small; they go to "a: COMMIT"'s neighbours' total.
    parts.forEach((p, i) => stages[i].push(p));
    perAdd.push({ add, parts });
    totals.push(add.arrived - add.sent);
    sums.push(parts.reduce((s, p) => s + p, 0));
    turnsA.push(a.filter((e) => e[1] >= rxA[1] && e[1] <= txA[1] && (e[0] === "rx" || e[0] === "im" || e[0] === "tm")).length);
    turnsB.push(b.filter((e) => e[1] >= rxB[1] && e[1] <= pollB[1] && (e[0] === "rx" || e[0] === "im" || e[0] === "tm")).length);
    const statement = (e: Ev) => e[0] === "sql" || e[0] === "ex";
    sqlA.push(a.filter((e) => e[1] >= syncEnd && e[1] < txA[1] && statement(e)).length);
    sqlB.push(b.filter((e) => e[1] >= end(commitB) && e[1] < pollB[1] && statement(e)).length);
    if (ackA) acks.push(ackA[1] - add.sent);
    if (fsB && gotB && gotA && ackA) {
      ackParts.pollToGot.push(gotB[1] - pollB[1]);
      ackParts.fsyncB.push(Number(fsB[2]));
      ackParts.gotToAck.push(ackA[1] - gotA[1]);
    }
  }
  const q = (xs: number[], p: number) => xs.length ? percentile(xs, p).toFixed(0) : "–";
  const row = (label: string, xs: number[]) => [label, q(xs, 10), q(xs, 50), q(xs, 90)];
  const rows = names.map((n, i) => row(n, stages[i]));
  rows.push(row("sum of the stages", sums));
  rows.push(row("**send → poll reply read (measured)**", totals));
  rows.push(row("callbacks a ran from the add's arrival to its fan-out (rx, immediates, timers)", turnsA));
  rows.push(row("callbacks b ran from the add's arrival to the poll reply", turnsB));
  rows.push(row("SQLite statements a ran between its sync and the fan-out's send()", sqlA));
  rows.push(row("SQLite statements b ran between its COMMIT and the poll reply's send()", sqlB));
  rows.push(row("ack: send → ok sent by a", acks));
  rows.push(row("… of which b's fsync (after the poll reply)", ackParts.fsyncB));
  rows.push(row("… b's poll reply → b's got sent", ackParts.pollToGot));
  rows.push(row("… a hears got → a sends the ok (recheck, saved reply commit)", ackParts.gotToAck));
  return {
    table: markdownTable(["stage", "p10 µs", "p50 µs", "p90 µs"], rows),
    names,
    perAdd,
    notes: [`${totals.length} adds matched in both traces, ${unmatched} not (${[...why].map(([k, n]) => `${n} without ${k}`).join(", ") || "none"})`],
  };
}
