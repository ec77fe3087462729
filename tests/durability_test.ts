/**
 * When the server waits for the disk (--sync full): every commit holding a
 * client's write is synced before its reply goes out; a batch holding only
 * ops from peers (durable at their origin) is not waited for. And the
 * background checkpointer (lib/store/checkpointer.ts) copies the log into the
 * database file without the server's thread.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { statSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { Answers } from "../lib/server/answers.ts";
import { handlerDeps } from "../lib/handlers/index.ts";
import type { ClientChannel } from "../lib/server/channel.ts";
import type { Address } from "../lib/wire/address.ts";
import { ClientPort } from "../lib/server/client_port.ts";
import { GroupCommit } from "../lib/server/commit.ts";
import { ManualClock } from "../testing/manual_clock.ts";
import { encodeText } from "../lib/wire/codec.ts";
import { startCheckpointer } from "../lib/store/checkpointer.ts";
import type { Op } from "../lib/wire/messages.ts";
import { Store } from "../lib/store/store.ts";
import { lines, removeTempDirs, tempDir } from "../testing/harness.ts";

const T0 = 1_700_000_000_000;
const CLIENT = { host: "127.0.0.1", port: 40000 };

type Event = "sync" | `send ${string}`;

function setup(sync: "full" | "normal" = "full", path = join(tempDir("distchat-durability-"), "a.sqlite")) {
  const events: Event[] = [];
  const store = Store.open(path, "a", { sync, syncFile: () => void events.push("sync") });
  const clock = new ManualClock(T0);
  const commit = new GroupCommit({ store, clock });
  const port = new ClientPort({
    commit,
    clock,
    handlers: handlerDeps({ store, random: randomBytes }),
    store,
    answers: new Answers({ replies: store.replies, replyKey: new Uint8Array(32) }),
  });
  const udp: ClientChannel = { name: "", proven: false, send: (bytes) => void events.push(`send ${new TextDecoder().decode(bytes).split("\n")[0]}`) };
  const app = {
    onClientDatagram: (bytes: Uint8Array, from: Address) => port.onDatagram(bytes, from, udp),
    batch: (fn: () => void, after: (() => void) | undefined, durableElsewhere: boolean) =>
      commit.batch(fn, { after, durableElsewhere }),
    flush: () => commit.flush(),
    close: () => {
      port.close();
      commit.close();
    },
  };
  return { events, path, store, app };
}

const remoteLogin = (seq: number): Op => ({
  kind: "login",
  origin: "b",
  seq,
  deps: new Map(),
  at: T0,
  session: `${seq}`.padStart(64, "0"),
  userName: `bob${seq}`,
  ttl: 300,
});

test.after(() => removeTempDirs());

test("a client's write is synced before its reply is sent", () => {
  const { events, app } = setup();
  try {
    app.onClientDatagram(encodeText(lines("login", 1, "alice")), CLIENT);
    app.flush();
    assert.equal(events, ["sync", "send ok"]);
  } finally {
    app.close();
  }
});

test("a database reopened after a clean close still syncs its log itself", () => {
  const first = setup();
  first.app.close();
  const { events, app } = setup("full", first.path);
  try {
    app.onClientDatagram(encodeText(lines("login", 2, "carol")), CLIENT);
    app.flush();
    assert.equal(events, ["sync", "send ok"]);
  } finally {
    app.close();
  }
});

test("a batch of ops from peers alone commits without waiting for the disk", () => {
  const { events, app, store } = setup();
  try {
    app.batch(() => void store.applyRemote(remoteLogin(1)), undefined, true);
    app.flush();
    assert.equal(events, []);
    assert.is(store.vector().get("b"), 1);
  } finally {
    app.close();
  }
});

test("ops from peers in the same batch as a client's write are synced with it", () => {
  const { events, app, store } = setup();
  try {
    app.batch(() => void store.applyRemote(remoteLogin(1)), undefined, true);
    app.onClientDatagram(encodeText(lines("login", 1, "alice")), CLIENT);
    app.flush();
    assert.equal(events, ["sync", "send ok"]);
  } finally {
    app.close();
  }
});

test("--sync normal never waits for the disk", () => {
  const { events, app } = setup("normal");
  try {
    app.onClientDatagram(encodeText(lines("login", 1, "alice")), CLIENT);
    app.flush();
    assert.equal(events, ["send ok"]);
  } finally {
    app.close();
  }
});

/** Waits until `ok()` or `ms` pass; returns whether it held. */
async function until(ok: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

test("the checkpointer copies the log into the database file by itself (paced as the server runs it)", async () => {
  const { path, store, app } = setup("normal");
  const logged: string[] = [];
  const cp = startCheckpointer(store, path, (l) => void logged.push(l));
  try {
    const before = statSync(path).size;
    store.begin();
    for (let i = 1; i <= 2000; i++) store.applyRemote(remoteLogin(i));
    store.commit();
    // The commit is in the log only; SQLite's own checkpoint is 8,192 pages away.
    assert.ok(statSync(`${path}-wal`).size > 100_000, "the commit went to the log");
    assert.ok(await until(() => statSync(path).size > before + 100_000, 10_000), "database file grew without a commit");
  } finally {
    await cp.stop();
    app.close();
  }
  assert.equal(logged, []);
});

test("a checkpointer that cannot open the database logs once and hands checkpoints back", async () => {
  const { store, app } = setup("normal");
  const logged: string[] = [];
  const cp = startCheckpointer(store, join(tempDir("distchat-durability-"), "no", "such.sqlite"), (l) => void logged.push(l), 20);
  try {
    assert.ok(await until(() => logged.length > 0, 10_000), "the failure was logged");
    assert.match(logged[0], /background checkpoints stopped/);
    const row = store.db.prepare("PRAGMA wal_autocheckpoint").get() as { wal_autocheckpoint: number };
    assert.is(row.wal_autocheckpoint, 1000);
  } finally {
    await cp.stop();
    app.close();
  }
});

test.run();
