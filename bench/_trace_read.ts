/**
 * Reading the event traces bench/_trace_preload.ts writes (one file per
 * process and thread) and counting what happened between two marks: SQLite
 * statements by SQL text, `exec`s, syncs and file writes, datagrams by verb,
 * the callbacks the event loop ran, and libuv's count of loop turns. Private
 * to bench/ (bench/trace.ts).
 *
 * @example
 * ```ts
 * const t = readTraces(dir).get(pid)!;
 * const c = countBetween(t.main, t.marks[0], t.marks[1]);
 * c.sql.get("INSERT INTO ops …")?.n;
 * ```
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** One event line (see bench/_trace_preload.ts): [kind, t µs, …]. */
export type Ev = [string, number, ...(string | number)[]];

/** The traces of one process: its main thread, its workers, and the SIGUSR2 marks (t µs, loop turns). */
export type ProcessTrace = { main: Ev[]; workers: Ev[][]; marks: { t: number; loops: number }[] };

/** Every process's trace in `dir`, by pid, events sorted by start time. */
export function readTraces(dir: string): Map<number, ProcessTrace> {
  const out = new Map<number, ProcessTrace>();
  for (const f of readdirSync(dir)) {
    const m = /^trace-(\d+)-(\d+)\.jsonl$/.exec(f);
    if (!m) continue;
    const events = readFileSync(join(dir, f), "utf8").split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l) as Ev);
    events.sort((a, b) => a[1] - b[1]);
    const pid = Number(m[1]);
    const p = out.get(pid) ?? { main: [], workers: [], marks: [] };
    if (m[2] === "0") {
      p.main = events;
      p.marks = events.filter((e) => e[0] === "mark").map((e) => ({ t: e[1], loops: Number(e[3]) }));
    } else p.workers.push(events);
    out.set(pid, p);
  }
  return out;
}

/** A count and the µs it took. */
export type Tally = { n: number; us: number };

/** What happened in a span of one thread. */
export type Counts = {
  sql: Map<string, Tally>;
  exec: Map<string, Tally>;
  files: Map<string, Tally>;
  /** Datagrams received / sent, by verb (first line), and the µs of the receive callbacks. */
  rx: Map<string, Tally>;
  tx: Map<string, Tally>;
  /** Callbacks run: immediates, timers by period (ms), and their µs. */
  immediates: Tally;
  timers: Map<string, Tally>;
  /** Checkpoints in the worker threads. */
  checkpoints: Tally;
  /** Bytes sent. */
  txBytes: number;
};

const add = (m: Map<string, Tally>, k: string, us: number) => {
  const t = m.get(k) ?? { n: 0, us: 0 };
  t.n++;
  t.us += us;
  m.set(k, t);
};

/**
 * Counts the events of `main` (and checkpoints of `workers`) that started
 * in [t0, t1); datagrams on a port of `peerPorts` count as "(peer)".
 */
export function countBetween(p: ProcessTrace, t0: number, t1: number, peerPorts: ReadonlySet<number>): Counts {
  const c: Counts = {
    sql: new Map(),
    exec: new Map(),
    files: new Map(),
    rx: new Map(),
    tx: new Map(),
    immediates: { n: 0, us: 0 },
    timers: new Map(),
    checkpoints: { n: 0, us: 0 },
    txBytes: 0,
  };
  for (const e of p.main) {
    if (e[1] < t0 || e[1] >= t1) continue;
    const [kind, , a, b, , f] = e;
    if (kind === "sql") add(c.sql, String(b), Number(a));
    else if (kind === "ex") add(c.exec, String(b), Number(a));
    else if (kind === "fs") add(c.files, String(b), Number(a));
    else if (kind === "rx") add(c.rx, verbOf(String(f), peerPorts.has(Number(b))), Number(a));
    else if (kind === "tx") {
      add(c.tx, verbOf(String(e[5]), peerPorts.has(Number(a))), 0);
      c.txBytes += Number(e[4]);
    } else if (kind === "im") (c.immediates.n++, c.immediates.us += Number(a));
    else if (kind === "tm") add(c.timers, `every/after ${b} ms`, Number(a));
  }
  for (const w of p.workers) {
    for (const e of w) if (e[0] === "ck" && e[1] >= t0 && e[1] < t1) (c.checkpoints.n++, c.checkpoints.us += Number(e[2]));
  }
  return c;
}

/** The verb of a traced datagram head ("add t12" → "add"), marked "(peer)" on a peer socket. */
export function verbOf(head: string, peer: boolean): string {
  const verb = head.split(" ")[0];
  return peer ? `${verb} (peer)` : verb;
}

/** Sum of the counts of a map. */
export const total = (m: Map<string, Tally>): Tally => [...m.values()].reduce((a, t) => ({ n: a.n + t.n, us: a.us + t.us }), { n: 0, us: 0 });

/** Rows "what | per op | µs per op" of a Counts divided by `ops`, largest first. */
export function perOpRows(c: Counts, ops: number, loops: number): string[][] {
  const f = (x: number) => (x / ops).toFixed(x / ops >= 10 ? 1 : x / ops >= 0.1 || x === 0 ? 2 : 4);
  const rows: string[][] = [];
  const section = (label: string, m: Map<string, Tally>) => {
    for (const [k, t] of [...m].sort((x, y) => y[1].n - x[1].n)) rows.push([`${label}: ${k}`, f(t.n), f(t.us)]);
  };
  rows.push(["event-loop turns (libuv loopCount)", f(loops), ""]);
  rows.push(["callbacks: datagrams received", f(total(c.rx).n), f(total(c.rx).us)]);
  rows.push(["callbacks: immediates (Clock.soon)", f(c.immediates.n), f(c.immediates.us)]);
  rows.push(["callbacks: timers", f(total(c.timers).n), f(total(c.timers).us)]);
  rows.push(["SQLite statements (run/get/all)", f(total(c.sql).n), f(total(c.sql).us)]);
  rows.push(["SQLite exec (BEGIN, COMMIT, …)", f(total(c.exec).n), f(total(c.exec).us)]);
  rows.push(["datagrams sent", f(total(c.tx).n), ""]);
  rows.push(["bytes sent", f(c.txBytes), ""]);
  rows.push(["checkpoints (worker)", f(c.checkpoints.n), f(c.checkpoints.us)]);
  section("received", c.rx);
  section("sent", c.tx);
  section("timer", c.timers);
  section("exec", c.exec);
  section("file", c.files);
  section("sql", c.sql);
  return rows;
}

/** A markdown table. */
export function markdownTable(head: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.map((c) => c.replaceAll("|", "\\|")).join(" | ")} |`;
  return [line(head), line(head.map((_, i) => (i === 0 ? "---" : "---:"))), ...rows.map(line)].join("\n");
}
