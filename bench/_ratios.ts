/**
 * The figures of one bench run that have an anchor in the same run, and the
 * table of their ratios that leads BENCHMARKS.md (issue 14: a goal that is an
 * absolute number is met or missed by the weather; a ratio to an anchor
 * measured minutes apart on the same machine is not).
 *
 * Measurements `record` figures under fixed keys as they run; bench/run.ts
 * renders `ratioTable()` from whatever this run measured.
 *
 * @example
 * ```ts
 * record("irc.p50", 0.28);
 * record("node.cross.p50", 0.7);
 * renderTable(ratioTable()); // … | 2.50× | ≤ 2× | missed |
 * ```
 */
import { formatNumber } from "./_stats.ts";
import type { Table } from "./_report.ts";

const figures = new Map<string, number>();

/** Records a figure of this run under `key` (e.g. "node.adds8"). */
export function record(key: string, value: number): void {
  if (Number.isFinite(value)) figures.set(key, value);
}

type Ratio = {
  figure: string;
  /** Key of the measured figure; `${rt}` is the runtime. */
  measured: string;
  anchor: string;
  anchorKey: string;
  unit: string;
  /** The ratio must be at most (`max`) or at least (`min`) this. */
  goal: { max: number } | { min: number };
  /** Only for this runtime. */
  only?: string;
};

/** The five figures of issue 14, per runtime. */
const RATIOS: Ratio[] = [
  { figure: "cross-server delivery from the send, p50 (3 servers, 200/s)", measured: "${rt}.cross.p50", anchor: "three linked ngircd, same pattern", anchorKey: "irc.p50", unit: "ms", goal: { max: 2 } },
  { figure: "cross-server delivery from the send, p50 (as above)", measured: "${rt}.cross.p50", anchor: "the floor: one-row FULL commit + UDP round trip (bench/_floor.ts)", anchorKey: "${rt}.floor", unit: "ms", goal: { max: 1.5 } },
  { figure: "cross-server delivery from the send, p99", measured: "${rt}.cross.p99", anchor: "three linked ngircd, same pattern", anchorKey: "irc.p99", unit: "ms", goal: { max: 3 } },
  { figure: "acked adds/s, one server, 8 clients × 16 in flight", measured: "${rt}.adds8", anchor: "echo server, same runtime and load", anchorKey: "${rt}.echo8", unit: "/s", goal: { min: 0.5 } },
  { figure: "acked adds/s, one server, 8 clients (as above)", measured: "${rt}.adds8", anchor: "Deno.listenDatagram's 0-loss receive rate", anchorKey: "${rt}.recv", unit: "/s", goal: { min: 0.8 }, only: "deno" },
  { figure: "messages/s stored on all of 3 servers, 8 clients", measured: "${rt}.stored3", anchor: "acked adds/s of one server (above)", anchorKey: "${rt}.adds8", unit: "/s", goal: { min: 0.8 } },
  { figure: "CPU of all 3 servers per message stored on all 3, 8 clients (as above)", measured: "${rt}.cpu3", anchor: "3 × one server's CPU per acked add, 8 clients", anchorKey: "${rt}.cpu1x3", unit: "µs", goal: { max: 1.3 } },
  { figure: "catch-up of 10,000 messages, rows/s from the process start", measured: "${rt}.catchup10k", anchor: "SQLite insert, FULL, 100 rows/commit", anchorKey: "${rt}.sqlite100", unit: "rows/s", goal: { min: 0.25 } },
  { figure: "catch-up of 100,000 messages, rows/s", measured: "${rt}.catchup100k", anchor: "SQLite insert, FULL, 100 rows/commit", anchorKey: "${rt}.sqlite100", unit: "rows/s", goal: { min: 0.25 } },
  { figure: "acked adds/s, every path encrypted (clients and peer links)", measured: "${rt}.enc.adds8", anchor: "every path plaintext, same load, alternating", anchorKey: "${rt}.plain.adds8", unit: "/s", goal: { min: 0.8 } },
  { figure: "cross-server delivery p50, every path encrypted", measured: "${rt}.enc.cross.p50", anchor: "every path plaintext, alternating", anchorKey: "${rt}.plain.cross.p50", unit: "ms", goal: { max: 1.2 } },
  { figure: "fan-out of one message to 1,000 long pollers, p99", measured: "${rt}.fanout.p99", anchor: "UDP echo of 1,000 datagrams to 1,000 sockets, p99", anchorKey: "${rt}.fanecho.p99", unit: "ms", goal: { max: 3 } },
];

const show = (v: number | undefined, unit: string) =>
  v === undefined ? "not run" : unit === "ms" ? `${formatNumber(v, 2)} ms` : unit === "µs" ? `${formatNumber(v, 1)} µs` : `${formatNumber(v)}${unit === "/s" ? "/s" : ""}`;

/** The ratio table of what this run measured, Node rows then Deno rows. */
export function ratioTable(runtimes: readonly string[] = ["node", "deno"]): Table {
  const rows: string[][] = [];
  for (const rt of runtimes) {
    for (const r of RATIOS) {
      if (r.only && r.only !== rt) continue;
      const mKey = r.measured.replace("${rt}", rt), aKey = r.anchorKey.replace("${rt}", rt);
      const m = figures.get(mKey), a = figures.get(aKey);
      if (m === undefined && a === undefined) continue;
      const ratio = m !== undefined && a !== undefined && a > 0 ? m / a : undefined;
      const goalText = "max" in r.goal ? `≤ ${r.goal.max}×` : `≥ ${r.goal.min}×`;
      const met = ratio === undefined ? "–" : ("max" in r.goal ? ratio <= r.goal.max : ratio >= r.goal.min) ? "met" : "missed";
      rows.push([
        r.figure,
        rt === "node" ? "Node" : "Deno",
        show(m, r.unit),
        `${r.anchor}: ${show(a, r.unit)}`,
        ratio === undefined ? "–" : `${ratio.toFixed(2)}×`,
        goalText,
        met,
      ]);
    }
  }
  return { head: ["figure", "server runtime", "DistChat", "anchor (same run)", "ratio", "goal", ""], rows };
}
