/**
 * What one op made elsewhere costs the server that applies it, in process,
 * without sockets (not a test; issue 27's cluster CPU): server a makes N
 * messages (bench/_in_process.ts), they are packed as a's fan-out packs them
 * (`add` datagrams of BATCH ops), and server b decodes each datagram
 * (`decodePeer`) and hands it to its Replicator, which applies the ops to
 * b's store (--sync normal: no disk waits), three datagrams per
 * transaction; then b indexes them for search as its housekeeping would.
 * Prints CPU µs per op (process.cpuUsage, steadier than the wall clock on a
 * loaded machine): decode; receive and apply; commit; search index. Beside
 * bench/add_cost.ts (a client's add at its origin), it says what each of
 * the two other copies of a message costs.
 *
 *   node_modules/.bin/node bench/apply_cost.ts [N] [--batch 20]     node_modules/.bin/deno run -A bench/apply_cost.ts [N]
 */
import process from "node:process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { defineCommand, fail, parseCommandLine } from "../lib/config/cli.ts";
import { decodePeer, encodePeer } from "../lib/wire/codec.ts";
import { Store } from "../lib/store/store.ts";
import { Replicator } from "../lib/replication/replicator.ts";
import type { Op } from "../lib/wire/messages.ts";
import { inProcessServer } from "./_in_process.ts";

const COMMAND = defineCommand({
  name: "apply_cost",
  about: "What an op made elsewhere costs the server applying it, in process: CPU µs per op to decode, receive and apply, commit.",
  usage: "node_modules/.bin/node bench/apply_cost.ts [N] [--batch N]",
  positionals: [{ name: "N", help: "messages made at a and applied at b (default 20000)" }],
  flags: {
    batch: { type: "string", value: "N", default: "20", help: "ops per `add` datagram (a busy cluster's fan-out carries ~20)" },
  },
});
const { values: cli, positionals } = parseCommandLine(COMMAND);
const whole = (s: string | undefined) => s !== undefined && /^[1-9]\d*$/.test(s);
if (positionals.length > 1 || (positionals[0] !== undefined && !whole(positionals[0]))) fail("apply_cost", `N must be one whole number ≥ 1, got "${positionals.join(" ")}"`);
if (!whole(cli.batch)) fail("apply_cost", `--batch must be a whole number ≥ 1, got "${cli.batch}"`);
const N = Number(positionals[0] ?? 20000), BATCH = Number(cli.batch);
/** Messages indexed per transaction, as lib/server/housekeeping.ts does. */
const INDEX_BATCH = 5000;

// a makes the messages (a login, a room, N adds), as its clients would.
const a = inProcessServer("distchat-apply-cost-a-");
const dir = mkdtempSync(join(os.tmpdir(), "distchat-apply-cost-b-"));
const b = Store.open(join(dir, "b.sqlite"), "b", { sync: "normal" });
try {
  const now = Date.now();
  a.store.begin();
  const token = a.handle(a.decode("login\n1\nalice\n"), now).split("\n")[4];
  a.handle(a.decode(`open\n2\n${token}\nroom1\n`), now);
  for (let i = 0; i < N; i++) a.handle(a.decode(`add\nt${i}\n${token}\nmessage number ${i}, a line of chat of a usual length\nroom1\n`), now);
  a.store.commit();
  const ops: Op[] = a.store.takeLocalOps();
  const datagrams: Uint8Array[] = [];
  for (let i = 0; i < ops.length; i += BATCH) {
    const batch = ops.slice(i, i + BATCH);
    datagrams.push(encodePeer({ verb: "add", from: "a", nonce: "-", vector: new Map([["a", batch[batch.length - 1].seq]]), ops: batch }));
  }

  // b decodes and applies them, three datagrams per transaction (as its group commit would batch them).
  const r = new Replicator({ self: "b", peers: ["a", "c"], log: b });
  const cpu = () => {
    const c = process.cpuUsage();
    return c.user + c.system;
  };
  let decodeUs = 0, applyUs = 0, commitUs = 0;
  for (let i = 0; i < datagrams.length; i += 3) {
    b.begin();
    for (const bytes of datagrams.slice(i, i + 3)) {
      const t0 = cpu();
      const d = decodePeer(bytes);
      const t1 = cpu();
      if (!d.ok) throw new Error(`decodePeer: ${d.error.message}`);
      r.receive(d.value.datagram, now);
      decodeUs += t1 - t0;
      applyUs += cpu() - t1;
    }
    const t2 = cpu();
    b.commit(false);
    commitUs += cpu() - t2;
  }
  if (r.delivered !== ops.length) throw new Error(`b applied ${r.delivered} of ${ops.length} ops`);
  // The search index of what was applied, as the housekeeping builds it (lib/server/housekeeping.ts: INDEX_BATCH per transaction).
  const t3 = cpu();
  for (let more = true; more;) {
    b.begin();
    more = b.messages.indexPending(INDEX_BATCH) === INDEX_BATCH;
    b.commit(false);
  }
  const indexUs = cpu() - t3;
  const per = (us: number) => (us / ops.length).toFixed(2);
  console.log(
    `${ops.length} ops in ${datagrams.length} datagrams of ≤ ${BATCH}: CPU µs per op — decode ${per(decodeUs)}, receive and apply ${per(applyUs)}, ` +
      `commit ${per(commitUs)}, search index ${per(indexUs)}; all ${per(decodeUs + applyUs + commitUs + indexUs)}`,
  );
} finally {
  b.close();
  a.close();
  rmSync(dir, { recursive: true, force: true });
}
