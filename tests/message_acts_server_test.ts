/**
 * Deletions and search over real server processes (docs/PROTOCOL.md
 * "Message actions", "Search"): a deleted message's text is in no file of
 * either server's database (.sqlite, -wal, -shm) once the next checkpoint
 * ran, while a kept message is (the check reads the files); search finds a
 * word in a room of 100,000 messages (built in bulk before the server
 * starts: testing/big_room.ts) and not in a room the user is not in.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { join } from "node:path";
import { lines, makeCluster, removeTempDirs, type ServerHandle, startServer, tempDir, type UdpClient, udpClient } from "../testing/harness.ts";
import { add, connectWhenThere, enter, login, tag, within } from "../testing/cluster_ops.ts";
import { textsInDb } from "../testing/db_files.ts";
import { fillRoom } from "../testing/big_room.ts";
import { escapeText } from "../lib/wire/codec.ts";

const servers: ServerHandle[] = [];
let u: UdpClient;

test.before(async () => {
  u = await udpClient();
});

test.after(async () => {
  await u.close();
  for (const s of servers) await s.stop();
  removeTempDirs();
});

/** A request, sent again (same tag: answered once) when a datagram was lost on a loaded machine. */
async function ask(to: { host: string; port: number }, text: string, tries = 3): Promise<string> {
  for (let i = 1;; i++) {
    try {
      return await u.request(to, text, 4000);
    } catch (e) {
      if (i >= tries) throw e;
    }
  }
}

const ok = (r: string, what: string) => {
  if (!r.startsWith("ok\n")) throw new Error(`${what}: ${r.replace(/\n/g, " | ")}`);
  return r.split("\n");
};

test("a deleted message's text leaves both servers' database files after the next checkpoint; the kept one stays", async () => {
  const dir = tempDir("distchat-acts-");
  const { file } = await makeCluster(["a", "b"], dir);
  const [a, b] = [await startServer({ id: "a", servers: file, db: join(dir, "a.sqlite") }), await startServer({ id: "b", servers: file, db: join(dir, "b.sqlite") })];
  servers.push(a, b);
  const bob = await login(u, a.clientAddr, "bob");
  await enter(u, a.clientAddr, bob, "lobby");
  const secret = "pw-Zq8XkV2r-leaked-by-mistake";
  // The search index keeps words, lower-cased (and may store a word without its first letters): its tail is looked for too.
  const word = "q8xkv2rleakword";
  const kept = "kept-message-Lm3Nq";
  const id = await add(u, a.clientAddr, bob, "lobby", `${secret} Z${word} ${"x".repeat(1500)}`);
  await add(u, a.clientAddr, bob, "lobby", kept);
  // An edit's text must go too.
  ok(await ask(a.clientAddr, lines("act", tag(), bob, "lobby", "edit", id, escapeText(`${secret} Z${word} (edited)`))), "edit");
  const both = (t: string) => textsInDb(a.db, [t]).length === 1 && textsInDb(b.db, [t]).length === 1;
  const onDisk = await within(10_000, async () => both(secret) && both(word.slice(2)), 100);
  assert.ok(onDisk !== null, "the text, and its words in the search index, reached both databases");
  ok(await ask(b.clientAddr, lines("act", tag(), bob, "lobby", "del", id, "")), "del at b");
  const gone = [secret, word.slice(2), "(edited)"];
  const clean = await within(15_000, async () => textsInDb(a.db, gone).length === 0 && textsInDb(b.db, gone).length === 0, 100);
  assert.ok(clean !== null, `still in the files: a ${textsInDb(a.db, gone)} b ${textsInDb(b.db, gone)}`);
  assert.equal(textsInDb(a.db, [kept]), [kept], "the kept message is in a's files (the check reads them)");
  assert.equal(textsInDb(b.db, [kept]), [kept]);
  // History and polls no longer list it; acting on it is no-message.
  const h = ok(await ask(a.clientAddr, lines("history", tag(), bob, "lobby", 10)), "history").join("\n");
  assert.not.match(h, secret);
  assert.match(h, kept);
  const again = await ask(a.clientAddr, lines("act", tag(), bob, "lobby", "edit", id, "back"));
  assert.match(again, /^error\n[^\n]+\nno-message\n/);
});

test("search finds a word in a room of 100,000 messages, not in a room the user is not in", async () => {
  const dir = tempDir("distchat-search-");
  const db = join(dir, "a.sqlite");
  fillRoom(db, { room: "big", count: 100_000, special: new Map([[31_337, "the quokka photo from friday"]]) });
  fillRoom(db, { room: "private", count: 1_000, special: new Map([[500, "another quokka, kept private"]]) });
  const srv = await startServer({ id: "a", db });
  servers.push(srv);
  const carl = await login(u, srv.clientAddr, "carl");
  await connectWhenThere(u, srv.clientAddr, carl, "big");
  const started = Date.now();
  const all = ok(await u.request(srv.clientAddr, lines("search", tag(), carl, "*", "quokka", 20), 10_000), "search *");
  const ms = Date.now() - started;
  assert.equal(all.slice(2, 5), ["search", "0", "1"], all.join(" | "));
  assert.equal([all[5], all[9]], ["big", "the quokka photo from friday"]);
  const room = ok(await u.request(srv.clientAddr, lines("search", tag(), carl, "big", "QUOKKA photo", 20), 10_000), "search big");
  assert.is(room[4], "1");
  const refused = await u.request(srv.clientAddr, lines("search", tag(), carl, "private", "quokka", 20));
  assert.match(refused, /^error\n[^\n]+\nnot-member\n/);
  // Many hits: newest first, paged.
  const page = ok(await u.request(srv.clientAddr, lines("search", tag(), carl, "big", "padded", 5), 10_000), "search padded");
  assert.equal([page[3], page[4]], ["1", "5"]);
  assert.match(page[9], /number 100000 /, `the newest first: ${page.join(" | ")}`);
  console.log(`  (search in 100,000 messages answered in ${ms} ms over UDP)`);
});

test.run();
