/**
 * kill -9 under load, with the group commit pipelined (lib/server/commit.ts:
 * the fsync on the thread pool while the next batch runs): every add acked
 * before the kill is listed after the restart, under the id its ack named.
 * A real server on loopback (`--rate-limit 0`), 32 adds in flight for at
 * most 1 s or 3,000 adds (batches of many writes, so their syncs leave the
 * event loop), the kill sent while they are.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { formatVector } from "../lib/wire/vector.ts";
import { lines, parsePoll, removeTempDirs, type ServerHandle, startServer, udpClient } from "../testing/harness.ts";

test.after(() => removeTempDirs());

const IN_FLIGHT = 32;
const LOAD_MS = 1000;
const MAX_ADDS = 3000;

test("kill -9 while adds are in flight: every acked add is listed after the restart", async () => {
  // No request-rate limits: a refused add would be dropped unanswered and the window would drain.
  const extraArgs = ["--rate-limit", "0"];
  let srv: ServerHandle | null = await startServer({ id: "a", extraArgs });
  const c = await udpClient();
  try {
    const at = srv.clientAddr;
    const login = await c.request(at, lines("login", "l1", "alice"));
    const token = login.split("\n")[4];
    assert.match(await c.request(at, lines("open", "o1", token, "r")), /^ok\n/);
    const acked = new Set<string>();
    let sent = 0;
    const send = () => c.send(at, lines("add", `m${sent}`, token, `line ${sent++}`, "r"));
    for (let i = 0; i < IN_FLIGHT; i++) send();
    const note = (text: string) => {
      const f = text.split("\n");
      if (f[0] === "ok" && f[2] === "add") acked.add(f[5]);
    };
    // The load goes on while the kill lands (a full window in the server's hands); every ack read was sent before it.
    const until = Date.now() + LOAD_MS;
    let killed: Promise<unknown> | null = null;
    for (let d = await c.next(2000); d !== null; d = await c.next(killed ? 300 : 2000)) {
      note(d.text);
      if (sent < MAX_ADDS) send();
      if (!killed && (Date.now() >= until || sent >= MAX_ADDS)) killed = srv.kill9();
    }
    await (killed ?? srv.kill9()); // (silence before the end: killed now, and the count below says why)
    assert.ok(acked.size >= 50, `only ${acked.size} adds acked before the kill`);
    srv = await startServer({ id: "a", servers: srv.servers, db: srv.db, extraArgs });
    const listed = new Set<string>();
    let cursor = "0";
    let more = true;
    // A poll's page is cut to what this unproven address may be sent (a few entries): page on until the end.
    for (let page = 0; more && page < 4 * MAX_ADDS; page++) {
      const p = parsePoll(await c.request(srv.clientAddr, lines("request", `p${page}`, token, "r", cursor)));
      for (const e of p.entries) listed.add(`${e.msgId.origin}.${e.msgId.n}`);
      cursor = formatVector(p.cursor);
      more = p.more;
    }
    assert.ok(!more, "the listing ended");
    const lost = [...acked].filter((id) => !listed.has(id));
    assert.equal(lost.slice(0, 10), [], `${lost.length} of ${acked.size} acked adds lost`);
  } finally {
    await c.close();
    await srv?.stop();
  }
});

test.run();
