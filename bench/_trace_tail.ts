/**
 * The slowest deliveries of a `bench/trace.ts delivery` run, and what they
 * have in common (private to bench/trace.ts): for the slowest `share` of the
 * adds, the stage that grew most over its median, and what else ran on any
 * server while each add was under way — a checkpoint in a worker thread, a
 * garbage collection, a long timer callback (a chore), a long fsync — with
 * the same shares over all adds beside them, so a cause is told from a
 * coincidence.
 *
 * @example
 * ```ts
 * const s = deliveryStages(adds, a.main, b.main, { bPeer });
 * const t = slowestDeliveries(s, [{ id: "a", trace: a }, { id: "b", trace: b }, { id: "c", trace: c }]);
 * console.log(t.table, t.common);
 * ```
 */
import type { Ev, ProcessTrace } from "./_trace_read.ts";
import { markdownTable } from "./_trace_read.ts";
import { percentile } from "./_stats.ts";
import type { TracedAdd } from "./_trace_stages.ts";

/** What ran on one server during [t0, t1] (µs): checkpoints in its workers, GCs, timer callbacks and syncs of its main thread. */
function during(p: ProcessTrace, t0: number, t1: number) {
  const within = (e: Ev) => e[1] + Number(e[2]) >= t0 && e[1] <= t1;
  const main = p.main.filter(within);
  return {
    ck: p.workers.flatMap((w) => w.filter((e) => e[0] === "ck" && within(e))),
    gc: main.filter((e) => e[0] === "gc"),
    tm: main.filter((e) => e[0] === "tm"),
    fs: main.filter((e) => e[0] === "fs"),
    ex: main.filter((e) => e[0] === "ex" || e[0] === "sql"),
  };
}

const max = (es: Ev[]) => es.reduce((m, e) => Math.max(m, Number(e[2])), 0);
const short = (name: string) => name.replace(/ \(.*$/, "");

/** Thresholds (µs) above which a checkpoint, GC, timer callback or sync counts as "long" in the shares. */
const LONG = { ck: 1000, gc: 1000, tm: 500, fs: 2000 };

/** The slowest `share` of the matched adds: one row each, and the shares of long events among them and among all. */
export function slowestDeliveries(s: { names: string[]; perAdd: { add: TracedAdd; parts: number[] }[] }, servers: { id: string; trace: ProcessTrace }[], share = 0.02) {
  const total = (x: { add: TracedAdd }) => x.add.arrived - x.add.sent;
  const sorted = [...s.perAdd].sort((x, y) => total(y) - total(x));
  const slow = sorted.slice(0, Math.max(1, Math.ceil(sorted.length * share)));
  const medians = s.names.map((_, i) => percentile(s.perAdd.map((x) => x.parts[i]), 50));
  const flags = (x: { add: TracedAdd }) => {
    const seen = { ck: new Set<string>(), gc: new Set<string>(), tm: new Set<string>(), fs: new Set<string>() };
    const notes: string[] = [];
    for (const { id, trace } of servers) {
      const d = during(trace, x.add.sent, x.add.arrived);
      if (max(d.ck) >= LONG.ck) (seen.ck.add(id), notes.push(`${id} checkpoint ${max(d.ck)} µs`));
      if (max(d.gc) >= LONG.gc) (seen.gc.add(id), notes.push(`${id} GC ${max(d.gc)} µs`));
      const longTm = d.tm.filter((e) => Number(e[2]) >= LONG.tm);
      for (const e of longTm) (seen.tm.add(id), notes.push(`${id} timer ${e[3]} ms "${e[4]}" ${e[2]} µs`));
      if (max(d.fs) >= LONG.fs) (seen.fs.add(id), notes.push(`${id} ${d.fs.find((e) => Number(e[2]) === max(d.fs))![3]} ${max(d.fs)} µs`));
      const longEx = d.ex.filter((e) => Number(e[2]) >= LONG.tm);
      for (const e of longEx.slice(0, 2)) notes.push(`${id} ${e[0]} ${e[2]} µs ${String(e[3]).slice(0, 40)}`);
    }
    return { seen, notes };
  };
  const rows = slow.map((x) => {
    const excess = x.parts.map((p, i) => p - medians[i]);
    const worst = excess.indexOf(Math.max(...excess));
    return [(total(x) / 1000).toFixed(2), short(s.names[worst]), x.parts[worst].toFixed(0), flags(x).notes.join("; ") || "–"];
  });
  const shareOf = (xs: typeof sorted, k: "ck" | "gc" | "tm" | "fs") => `${((100 * xs.filter((x) => flags(x).seen[k].size > 0).length) / xs.length).toFixed(0)}%`;
  // Whether the server was still syncing an earlier commit when the add's datagram reached it (sent by the writer, for a;
  // sent by a, after the first 8 stages, for b): the add's own commit waits for that sync (one sync in flight).
  const syncing = (id: string, stagesBefore: number) => (x: { add: TracedAdd; parts: number[] }) => {
    const t = x.add.sent + x.parts.slice(0, stagesBefore).reduce((a, b) => a + b, 0);
    const main = servers.find((v) => v.id === id)?.trace.main ?? [];
    return main.some((e) => e[0] === "fs" && e[1] < t && e[1] + Number(e[2]) > t);
  };
  const inFlight = (xs: typeof sorted, id: string, n: number) => `${((100 * xs.filter(syncing(id, n)).length) / xs.length).toFixed(0)}%`;
  const common = markdownTable(
    ["during the add, on any server", `the slowest ${slow.length}`, `all ${sorted.length}`],
    ([["ck", `a checkpoint ≥ ${LONG.ck} µs (worker thread)`], ["gc", `a GC pause ≥ ${LONG.gc} µs`], ["tm", `a timer callback ≥ ${LONG.tm} µs`], ["fs", `a sync or file write ≥ ${LONG.fs} µs (in place, or its wait on the thread pool)`]] as const)
      .map(([k, label]) => [label, shareOf(slow, k), shareOf(sorted, k)])
      .concat([
        ["a still syncing an earlier commit when the add reached it", inFlight(slow, "a", 0), inFlight(sorted, "a", 0)],
        ["b still syncing an earlier commit when the add reached it", inFlight(slow, "b", 8), inFlight(sorted, "b", 8)],
      ]),
  );
  return { table: markdownTable(["ms", "stage grown most", "its µs", "what else ran meanwhile"], rows), common };
}
