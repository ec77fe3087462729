/**
 * SQLite's own cost of one message op in DistChat's schema, with no DistChat
 * JavaScript on the way (not a test; issue 27's catch-up and adds ÷ echo
 * floor): a fresh database made by lib/store/_schema.ts `openDatabase` (the
 * real DDL, WAL, synchronous=FULL), then N message ops inserted as catch-up
 * applies them — the ops INSERT (lib/store/op_log.ts), the twin look-up by
 * (session, tag) and the messages INSERT (lib/store/_messages_sql.ts), all
 * prepared — in transactions of BATCH ops, values made beforehand (64-hex
 * session ids, client tags, room names, ~40-character texts, vectors of
 * three servers). Then the same with each secondary index dropped in turn,
 * with each table alone, and the anchor of bench/catchup.ts (a 3-column
 * row, no secondary index, FULL, 100 rows per commit) in the same run.
 * Variants are interleaved round after round; prints wall and CPU µs per op
 * (process.cpuUsage: the commits' fsyncs are wall time, not CPU) as median
 * (min–max), and writes the table with the command to `--out`.
 *
 *   node_modules/node/bin/node bench/op_sql.ts [--n 50000] [--rounds 3] [--batch 1000]
 *   node_modules/.bin/deno run -A bench/op_sql.ts [--n 50000] [--rounds 3]
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import process from "node:process";
import type { DatabaseSync } from "node:sqlite";
import { defineCommand, fail, parseCommandLine } from "../lib/config/cli.ts";
import { openDatabase } from "../lib/store/_schema.ts";
import { messageStatements } from "../lib/store/_messages_sql.ts";
import { OPS_INSERT } from "../lib/store/op_log.ts";
import { ROOT } from "./_child.ts";
import { formatNumber, formatSummary, summarize } from "./_stats.ts";
import { OP_SQL_VARIANTS, type OpValues, type Variant } from "./_op_sql_variants.ts";

const COMMAND = defineCommand({
  name: "op_sql",
  about: "SQLite's own cost of one message op in DistChat's schema, index by index, against the catch-up anchor; CPU and wall µs per op.",
  usage: "node_modules/.bin/node bench/op_sql.ts [--n N] [--rounds N] [--batch N] [--only LIST] [--out FILE]",
  flags: {
    n: { type: "string", value: "N", default: "50000", help: "message ops per variant and round" },
    rounds: { type: "string", value: "N", default: "3", help: "interleaved rounds" },
    rooms: { type: "string", value: "N", default: "1", help: "rooms the messages go to (the catch-up and adds benches: 1)" },
    sessions: { type: "string", value: "N", default: "8", help: "sessions the messages come from (the catch-up bench: 8 clients)" },
    batch: { type: "string", value: "N", default: "1000", help: "ops per transaction (FULL sync at each commit)" },
    only: { type: "string", value: "LIST", help: "variant names to run (comma-separated; default all)" },
    out: { type: "string", value: "FILE", help: "where the table goes (default data/bench/op_sql-RUNTIME.md)" },
  },
});
const { values: flags } = parseCommandLine(COMMAND);
const whole = (s: string) => /^[1-9]\d*$/.test(s);
for (const k of ["n", "rounds", "batch", "sessions", "rooms"] as const) if (!whole(flags[k])) fail("op_sql", `--${k} must be a whole number ≥ 1, got ${flags[k]}`);
const N = Number(flags.n), ROUNDS = Number(flags.rounds), BATCH = Number(flags.batch), SESSIONS = Number(flags.sessions), ROOMS = Number(flags.rooms);
const runtime = "Deno" in globalThis ? "deno" : "node";
const only = flags.only?.split(",");
for (const name of only ?? []) if (!OP_SQL_VARIANTS.some((v) => v.name === name)) fail("op_sql", `no variant "${name}"`);
const variants = OP_SQL_VARIANTS.filter((v) => only === undefined || only.includes(v.name));

/** N message ops as catch-up sees them: three origins interleaved, SESSIONS sessions, ROOMS rooms, tags counting per session. */
function makeOps(n: number): OpValues[] {
  const hex = (i: number) => Array.from({ length: 8 }, (_, k) => ((i * 2654435761 + k * 40503) >>> 0).toString(16).padStart(8, "0")).join("");
  const sessions = Array.from({ length: SESSIONS }, (_, i) => hex(i + 1));
  const prefixes = sessions.map((s) => s.slice(5, 11));
  const count = new Array(SESSIONS).fill(0);
  const seqs = [0, 0, 0];
  const servers = ["a", "b", "c"];
  const ops: OpValues[] = [];
  for (let i = 0; i < n; i++) {
    const o = i % 3, s = (i * 7919) % SESSIONS, room = `Room${(i * 31) % ROOMS}`;
    const seq = ++seqs[o];
    const tag = prefixes[s] + (++count[s]).toString(36);
    const deps = servers.map((x, k) => `${x}=${k === o ? seq - 1 : seqs[k]}`).join(",");
    ops.push({
      origin: servers[o], seq, deps, at: 1_796_000_000_000 + i * 3, session: sessions[s], room, rkey: room.toLowerCase(), user: `user${s}`, tag,
      msg: `message number ${i}, a line of chat of a usual lengt`.slice(0, 40), conf: servers[(o + 1) % 3], ksum: seqs[0] + seqs[1] + seqs[2] - 1,
    });
  }
  return ops;
}

/** CPU and wall µs per op of one variant on a fresh database in `dir`. */
function runVariant(dir: string, v: Variant, ops: OpValues[], round: number): { wall: number; cpu: number } {
  const path = join(dir, `${v.name}-${round}.sqlite`);
  const db: DatabaseSync = openDatabase(path, "full");
  try {
    if (typeof v.setup === "string") db.exec(v.setup);
    else v.setup?.(db);
    const step = v.prepare ? v.prepare(db) : defaultStep(db, v);
    const batch = v.batch ?? BATCH;
    const c0 = process.cpuUsage(), t0 = performance.now();
    for (let i = 0; i < ops.length; i += batch) {
      db.exec("BEGIN IMMEDIATE");
      const end = Math.min(ops.length, i + batch);
      for (let k = i; k < end; k++) step(ops[k], k + 1);
      db.exec("COMMIT");
    }
    const wall = performance.now() - t0, c = process.cpuUsage(c0);
    return { wall: (wall * 1000) / ops.length, cpu: (c.user + c.system) / ops.length };
  } finally {
    db.close();
    for (const suffix of ["", "-wal", "-shm"]) rmSync(path + suffix, { force: true });
  }
}

/** The statements catch-up runs for one message op (those the variant keeps). */
function defaultStep(db: DatabaseSync, v: Variant): (o: OpValues, n: number) => void {
  const ops = db.prepare(OPS_INSERT), m = messageStatements(db);
  const useOps = v.ops !== false, useMessages = v.messages !== false, twin = v.twin !== false && useMessages;
  return (o, n) => {
    const dseq = useOps
      ? Number(ops.run(o.origin, o.seq, "msg", o.deps, o.at, o.session, o.room, o.user, o.tag, o.msg, null, o.conf, null).lastInsertRowid)
      : n;
    if (twin) m.visibleByTag.get(o.session, o.tag);
    if (useMessages) m.insert.run(o.rkey, dseq, o.origin, o.seq, o.session, o.tag, 0, o.ksum);
  };
}

const ops = makeOps(N);
const dir = mkdtempSync(join(tmpdir(), "distchat-op-sql-"));
const results = new Map<string, { wall: number; cpu: number }[]>();
const loads: string[] = [];
try {
  for (let r = 0; r < ROUNDS; r++) {
    loads.push(loadavg().map((x) => x.toFixed(2)).join(" "));
    for (const v of variants) {
      const x = runVariant(dir, v, ops, r);
      results.set(v.name, [...(results.get(v.name) ?? []), x]);
      process.stderr.write(`round ${r + 1} ${v.name}: ${x.cpu.toFixed(2)} CPU µs, ${x.wall.toFixed(2)} wall µs per op\n`);
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const full = summarize(results.get("full")?.map((x) => x.cpu) ?? []).median;
const rows = variants.map((v) => {
  const rs = results.get(v.name)!;
  const cpu = summarize(rs.map((x) => x.cpu)), wall = summarize(rs.map((x) => x.wall));
  const share = Number.isNaN(full) ? "–" : `${formatNumber(((full - cpu.median) / full) * 100)}%`;
  return `| ${v.name} | ${v.about} | ${formatSummary(cpu, 2)} | ${share} | ${formatSummary(wall, 2)} | ${formatSummary(summarize(rs.map((x) => 1e6 / x.wall)))} |`;
});
const table = [
  `SQLite's own cost of one message op (${runtime}, ${formatNumber(N)} ops per variant from ${SESSIONS} sessions into ${ROOMS} room(s), ${BATCH} per transaction unless said, synchronous=FULL, WAL; ` +
  `${ROUNDS} interleaved round(s), median (min–max)). Load average at each round's start: ${loads.join("; ")}.`,
  "",
  "| variant | what runs | CPU µs per op | CPU saved vs full | wall µs per op | rows/s (wall) |",
  "|---|---|---:|---:|---:|---:|",
  ...rows,
  "",
  "```sh",
  `${runtime === "deno" ? "node_modules/.bin/deno run -A" : "node_modules/node/bin/node"} bench/op_sql.ts ${process.argv.slice(2).join(" ")}`.trimEnd(),
  "```",
].join("\n");
console.log(table);
const out = resolve(ROOT, flags.out ?? `data/bench/op_sql-${runtime}.md`);
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, table + "\n");
