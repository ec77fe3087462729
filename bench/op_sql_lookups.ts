/**
 * How long the look-ups of a message by its op's id take at N messages (not
 * a test): `byId` (a hide op), `msgRow` (an edit, reaction or deletion),
 * `anyDseq` (a read marker's unread count), and message_acts' key of a
 * marker's target (`mark`), on a database of N messages in 20 rooms filled by the
 * real INSERTs (synchronous=NORMAL). Give another tree's root (a copy of
 * main) to time its statements on the same data shape. Prints ms per call,
 * the median of 20 calls each.
 *
 *   node_modules/node/bin/node bench/op_sql_lookups.ts [N] [TREE]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import process from "node:process";
import { ROOT } from "./_child.ts";
import { summarize } from "./_stats.ts";

const N = Number(process.argv[2] ?? 100_000), tree = resolve(process.argv[3] ?? ROOT);
if (!Number.isInteger(N) || N < 1) throw new RangeError(`N must be a whole number ≥ 1, got ${process.argv[2]}`);
const { openDatabase } = await import(join(tree, "lib/store/_schema.ts"));
const { messageStatements } = await import(join(tree, "lib/store/_messages_sql.ts"));
const { OpLogTable } = await import(join(tree, "lib/store/op_log.ts"));
const { MessageActs } = await import(join(tree, "lib/store/message_acts.ts"));
const dir = mkdtempSync(join(tmpdir(), "distchat-op-lookups-"));
try {
  const db = openDatabase(join(dir, "x.sqlite"), "normal");
  const st = messageStatements(db), log = new OpLogTable(db);
  const session = "5e".repeat(32);
  db.exec("BEGIN");
  for (let seq = 1; seq <= N; seq++) {
    const groupName = `Room${seq % 20}`;
    const op = { origin: "a", seq, deps: new Map(), at: seq, session, kind: "msg", tag: `t${seq}`, groupName, userName: "al", msg: `message ${seq}` };
    st.insert.run(groupName.toLowerCase(), log.insert(op), "a", seq, session, op.tag, 0, seq);
  }
  db.exec("COMMIT");
  const acts = new MessageActs(db); // mark(): the key of a read marker's target (opKeyOf), then the marker's row
  const mark = { get: (o: string, n: number) => (acts.mark("reg", `room${n % 20}`, `${o}.${n}`), true) };
  for (const [name, s] of [["byId", st.byId], ["msgRow", st.msgRow], ["anyDseq", st.anyDseq], ["mark", mark]] as const) {
    const ms: number[] = [];
    for (let k = 0; k < 20; k++) {
      const t0 = performance.now();
      if (s.get("a", 1 + ((k * 4999) % N)) === undefined) throw new Error(`${name} found nothing`);
      ms.push(performance.now() - t0);
    }
    console.log(`${name}: ${summarize(ms).median.toFixed(3)} ms per call at ${N} messages (${tree})`);
  }
  db.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
