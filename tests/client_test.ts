/**
 * The client end to end. First its core (Connection + Session) over an
 * in-memory network with fake servers that drop datagrams, die, and forget
 * sessions; then client.ts itself through a pipe against real server
 * processes (when server.ts exists).
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { decodeRequest, encodeReply } from "../lib/wire/codec.ts";
import type { PollEntry, Reply, Request } from "../lib/wire/messages.ts";
import type { ServerEntry } from "../lib/config/servers_file.ts";
import type { Address } from "../lib/wire/address.ts";
import type { OnDatagram, Transport } from "../lib/wire/transport.ts";
import { Connection } from "../lib/client/connection.ts";
import { udpTransport } from "../lib/client/udp_transport.ts";
import { Session } from "../lib/client/session.ts";
import type { SessionUi } from "../lib/client/session.ts";
import { get } from "../lib/wire/vector.ts";
import { startClient, until } from "./_client_proc.ts";
import type { ClientProc } from "./_client_proc.ts";

// --- A fake cluster in memory -------------------------------------------------

type StoredMsg = PollEntry & { key: string; room: string };

/** What servers share when they "replicate": sessions, rooms, messages. */
class World {
  sessions = new Map<string, string>(); // token -> user
  rooms = new Map<string, { name: string; members: Set<string> }>();
  msgs: StoredMsg[] = [];
  seq = new Map<string, number>();
  replies = new Map<string, string>(); // token/tag -> reply text cache key
}

type Held = { req: Extract<Request, { verb: "request" }>; from: Address; timer: ReturnType<typeof setTimeout> };

class FakeServer {
  up = true;
  /** Drop this many incoming datagrams first. */
  dropNext = 0;
  /** Drop each incoming datagram with this probability (from a seeded PRNG). */
  lossRate = 0;
  received: Request[] = [];
  held = new Map<string, Held>();
  /** Adds wait unanswered (a live server waiting for a second disk) until `releaseAdds`. */
  holdAdds = false;
  #heldAdds: [Request, Address][] = [];
  #rand: () => number;
  readonly id: string;
  readonly address: Address;
  world: World;
  readonly net: Net;
  constructor(id: string, address: Address, world: World, net: Net, seed = 1) {
    this.id = id;
    this.address = address;
    this.world = world;
    this.net = net;
    let s = seed;
    this.#rand = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
  }

  entry(): ServerEntry {
    return { id: this.id, client: this.address, peer: { host: "127.0.0.1", port: this.address.port + 100 } };
  }

  receive(bytes: Uint8Array, from: Address): void {
    if (!this.up) return;
    if (this.dropNext > 0) return void this.dropNext--;
    if (this.lossRate > 0 && this.#rand() < this.lossRate) return;
    const r = decodeRequest(bytes);
    if (!r.ok) throw new Error(`client sent a bad datagram: ${r.error.message}`);
    this.received.push(r.value);
    if (this.holdAdds && r.value.verb === "add") return void this.#heldAdds.push([r.value, from]);
    const reply = this.handle(r.value, from);
    if (reply) this.reply(reply, from);
  }

  /** Answers the adds held so far, and those to come. */
  releaseAdds(): void {
    this.holdAdds = false;
    for (const [q, from] of this.#heldAdds.splice(0)) {
      const reply = this.handle(q, from);
      if (reply) this.reply(reply, from);
    }
  }

  reply(r: Reply, to: Address): void {
    if (this.up) this.net.deliver(encodeReply(r), this.address, to);
  }

  handle(q: Request, from: Address): Reply | null {
    const w = this.world;
    const err = (code: Reply & { verb: "error" } extends infer E ? E extends { code: infer C } ? C : never : never, message = code) =>
      ({ verb: "error", tag: q.tag, code, message }) as Reply;
    if (q.verb === "login") {
      const cached = w.replies.get(`login/${from.port}/${q.tag}`);
      if (cached) return { verb: "ok", tag: q.tag, kind: "login", userName: q.userName, token: cached, ttl: 60 };
      if ([...w.sessions.values()].includes(q.userName)) return err("name-taken");
      const token = `tok${Math.random().toString(36).slice(2)}xxxxxxxxxxxxxxxx`;
      w.sessions.set(token, q.userName);
      w.replies.set(`login/${from.port}/${q.tag}`, token);
      return { verb: "ok", tag: q.tag, kind: "login", userName: q.userName, token, ttl: 60 };
    }
    if (!("token" in q)) return err("bad-request");
    const user = w.sessions.get(q.token);
    if (user === undefined) return err("bad-token");
    const room = "groupName" in q ? w.rooms.get(q.groupName.toLowerCase()) : undefined;
    switch (q.verb) {
      case "open":
        if (room) return err("room-exists");
        w.rooms.set(q.groupName.toLowerCase(), { name: q.groupName, members: new Set([q.token]) });
        return { verb: "ok", tag: q.tag, kind: "open", groupName: q.groupName };
      case "connect":
        if (!room) return err("no-room");
        room.members.add(q.token);
        return { verb: "ok", tag: q.tag, kind: "connect", groupName: room.name };
      case "leave":
        if (!room?.members.delete(q.token)) return err("not-member");
        return { verb: "ok", tag: q.tag, kind: "leave", groupName: room.name };
      case "add": {
        if (!room?.members.has(q.token)) return err("not-member");
        const key = `${q.token}/${q.tag}`;
        let m = w.msgs.find((x) => x.key === key);
        if (!m) {
          const n = (w.seq.get(this.id) ?? 0) + 1;
          w.seq.set(this.id, n);
          m = { key, room: room.name, msgId: { origin: this.id, n }, userName: user, sentAt: Date.now(), msg: q.msg };
          w.msgs.push(m);
          this.net.wake(room.name);
        }
        return { verb: "ok", tag: q.tag, kind: "add", msg: m.msg, groupName: room.name, msgId: m.msgId };
      }
      case "request": {
        if (!room?.members.has(q.token)) return err("not-member");
        const poll = this.poll(q);
        if (poll.entries.length > 0 || q.waitMs === 0) return poll;
        const old = this.held.get(q.tag);
        if (old) clearTimeout(old.timer);
        const timer = setTimeout(() => {
          this.held.delete(q.tag);
          this.reply(this.poll(q), from);
        }, q.waitMs);
        this.held.set(q.tag, { req: q, from, timer });
        return null;
      }
      case "rooms":
        return { verb: "ok", tag: q.tag, kind: "rooms", more: false, names: [...w.rooms.values()].map((r) => r.name) };
      case "who":
        return { verb: "ok", tag: q.tag, kind: "who", groupName: q.groupName, more: false, names: [user] };
      case "logout":
        w.sessions.delete(q.token);
        return { verb: "ok", tag: q.tag, kind: "logout" };
      case "history": {
        if (!room?.members.has(q.token)) return err("not-member");
        const all = w.msgs.filter((m) => m.room === room.name);
        const cursor = new Map<string, number>();
        for (const m of w.msgs) cursor.set(m.msgId.origin, Math.max(cursor.get(m.msgId.origin) ?? 0, m.msgId.n));
        const end = q.before === null ? all.length : all.findIndex((m) => m.msgId.origin === q.before!.origin && m.msgId.n === q.before!.n);
        if (end < 0) return err("no-message");
        const page = all.slice(Math.max(0, end - q.limit), end);
        const entries = page.map(({ msgId, userName, sentAt, msg }) => ({ msgId, userName, sentAt, msg }));
        return { verb: "ok", tag: q.tag, kind: "history", groupName: room.name, cursor, more: end > page.length, entries };
      }
      default:
        return err("bad-request");
    }
  }

  poll(q: Extract<Request, { verb: "request" }>): Extract<Reply, { verb: "poll" }> {
    const entries = this.world.msgs
      .filter((m) => m.room.toLowerCase() === q.groupName.toLowerCase() && m.msgId.n > get(q.cursor, m.msgId.origin))
      .slice(0, 5); // small pages, to exercise `more`
    const cursor = new Map(q.cursor);
    for (const e of entries) cursor.set(e.msgId.origin, Math.max(cursor.get(e.msgId.origin) ?? 0, e.msgId.n));
    const more = entries.length === 5;
    return {
      verb: "poll",
      tag: q.tag,
      groupName: q.groupName,
      cursor,
      more,
      entries: entries.map(({ msgId, userName, sentAt, msg }) => ({ msgId, userName, sentAt, msg })),
    };
  }

  /** A message arrived in `room`: answer the polls held for it. */
  wake(room: string): void {
    for (const [tag, h] of this.held) {
      if (h.req.groupName.toLowerCase() !== room.toLowerCase()) continue;
      clearTimeout(h.timer);
      this.held.delete(tag);
      this.reply(this.poll(h.req), h.from);
    }
  }

  /** Crash: forget held polls, stop answering. */
  kill(): void {
    this.up = false;
    for (const h of this.held.values()) clearTimeout(h.timer);
    this.held.clear();
  }
}

class Net {
  servers: FakeServer[] = [];
  clients = new Map<number, OnDatagram>();
  nextPort = 40000;
  server(id: string, world: World, seed = 1): FakeServer {
    const s = new FakeServer(id, { host: "127.0.0.1", port: 7000 + this.servers.length + 1 }, world, this, seed);
    this.servers.push(s);
    return s;
  }
  deliver(bytes: Uint8Array, from: Address, to: Address): void {
    setTimeout(() => {
      const client = this.clients.get(to.port);
      if (client) return client(bytes, from);
      this.servers.find((s) => s.address.port === to.port)?.receive(bytes, from);
    }, 1);
  }
  wake(room: string): void {
    for (const s of this.servers) if (s.up) s.wake(room);
  }
  bind = (on: OnDatagram): Promise<Transport> => {
    const address = { host: "127.0.0.1", port: this.nextPort++ };
    this.clients.set(address.port, on);
    return Promise.resolve({
      address,
      send: (bytes: Uint8Array, to: Address) => this.deliver(bytes, address, to),
      sendErrors: 0,
      close: () => {
        this.clients.delete(address.port);
        return Promise.resolve();
      },
    });
  };
  stop(): void {
    for (const s of this.servers) s.kill();
  }
}

const FAST = { rtoMs: 20, maxRtoMs: 80, failoverSends: 3, pollGraceMs: 150, maxBackoff: 4 };

type Seen = { lines: string[]; notices: string[]; errors: string[]; ui: SessionUi };
function recorder(): Seen {
  const s: Seen = {
    lines: [],
    notices: [],
    errors: [],
    ui: {
      message: (room, e) => s.lines.push(`[${room}] ${e.userName}: ${e.msg}`),
      notice: (t) => s.notices.push(t),
      error: (t) => s.errors.push(t),
      output: (t) => s.notices.push(t),
    },
  };
  return s;
}

async function client(net: Net, servers: FakeServer[], user: string, waitMs = 300) {
  const seen = recorder();
  const conn = await Connection.open({
    servers: servers.map((s) => s.entry()),
    transport: udpTransport(net.bind),
    notice: (t) => seen.notices.push(t),
    timing: FAST,
  });
  const session = new Session(conn, seen.ui, { userName: user, waitMs, sleep: (ms) => new Promise((r) => setTimeout(r, ms / 20)) });
  return { seen, conn, session };
}

const fake = (name: string, body: (net: Net) => Promise<void>) =>
  test(`fake network: ${name}`, async () => {
    const net = new Net();
    try {
      await body(net);
    } finally {
      net.stop();
    }
  });

fake("a lost request is resent with the same tag until answered", async (net) => {
  const a = net.server("a", new World());
  a.dropNext = 2;
  const c = await client(net, [a], "bob");
  await c.session.login();
  assert.equal(a.received.map((r) => r.verb), ["login"]);
  await c.session.join("lobby");
  c.session.say("hi");
  await until("hi shown", () => c.seen.lines.length === 1);
  assert.equal(c.seen.lines, ["[lobby] bob: hi"]);
  await c.session.logout(500);
  await c.conn.close();
});

fake("retransmissions keep the tag; new requests get new tags", async (net) => {
  const a = net.server("a", new World());
  const c = await client(net, [a], "bob");
  a.dropNext = 0;
  await c.session.login();
  a.up = false;
  const call = c.conn.request((tag) => ({ verb: "rooms", tag, token: "x".repeat(16), after: null }));
  await new Promise((r) => setTimeout(r, 60));
  a.up = true;
  await call.reply;
  const tags = a.received.filter((r) => r.verb === "rooms").map((r) => r.tag);
  assert.ok(tags.length >= 1 && tags.every((t) => t === call.tag));
  const login = a.received.find((r) => r.verb === "login");
  assert.is.not(login?.tag, call.tag);
  await c.conn.close();
});

fake("a request first sent before its server's last word still fails over once the server falls silent", async (net) => {
  const world = new World();
  const a = net.server("a", world), b = net.server("b", world);
  const c = await client(net, [a, b], "bob");
  const rooms = () => c.conn.request((tag) => ({ verb: "rooms", tag, token: "x".repeat(16), after: null }));
  a.dropNext = 1;
  const lost = rooms(); // lost on the way…
  await rooms().reply; // …while a answers the next (it is heard from after the first was sent)…
  a.kill(); // …and then falls silent for good: the first is resent to a, found silent there, and goes to b
  const timeout = new Promise<"stuck">((r) => setTimeout(() => r("stuck"), 5000));
  assert.is.not(await Promise.race([lost.reply, timeout]), "stuck", "resent to a for ever");
  assert.is(c.conn.server.id, "b");
  await c.conn.close();
});

fake("a line is pending while its server is dead, settles after failover, and shows once", async (net) => {
  const world = new World();
  const a = net.server("a", world), b = net.server("b", world);
  const c = await client(net, [a, b], "bob");
  const events: string[] = [];
  c.seen.ui.pending = (id, room, text) => events.push(`pending ${id} ${room} ${text}`);
  c.seen.ui.settled = (id, msgId) => events.push(`settled ${id} ${msgId ? `${msgId.origin}.${msgId.n}` : "none"}`);
  await c.session.login();
  await c.session.join("lobby");
  a.kill();
  c.session.say("hi", "hi (as typed)");
  assert.equal(events, ["pending 1 lobby hi (as typed)"], "shown as pending at once, before any answer");
  await until("hi shown", () => c.seen.lines.length === 1);
  await until("settled", () => events.length === 2);
  assert.equal(events, ["pending 1 lobby hi (as typed)", "settled 1 b.1"]);
  assert.equal(c.seen.lines, ["[lobby] bob: hi"]);
  await c.conn.close();
});

test("an idle client notices a dead server within 6 s (default timing: a probe after 2.5 s of silence)", async () => {
  const net = new Net();
  try {
    const world = new World();
    const a = net.server("a", world), b = net.server("b", world);
    const seen = recorder();
    const conn = await Connection.open({ servers: [a.entry(), b.entry()], transport: udpTransport(net.bind), notice: (t) => seen.notices.push(t) });
    const session = new Session(conn, seen.ui, { userName: "idle", waitMs: 25_000 });
    await session.login();
    await session.join("lobby");
    await new Promise((r) => setTimeout(r, 300)); // the long poll is held now
    const t0 = Date.now();
    a.kill();
    await until("the switch to b", () => seen.notices.includes("connected to b"), 15_000);
    const took = Date.now() - t0;
    assert.ok(took < 6000, `noticed after ${took} ms`);
    await session.logout(500);
    await conn.close();
  } finally {
    net.stop();
  }
});

fake("a dead first server: the client moves on and says so", async (net) => {
  const world = new World();
  const a = net.server("a", world), b = net.server("b", world);
  a.kill();
  const c = await client(net, [a, b], "bob");
  await c.session.login();
  assert.is(c.conn.server.id, "b");
  assert.equal(c.seen.notices, ["server a is not answering; reconnecting…", "connected to b"]);
  await c.conn.close();
});

fake("messages keep their order and show once despite loss and a failover mid-stream", async (net) => {
  const world = new World();
  const a = net.server("a", world, 7), b = net.server("b", world, 11);
  a.lossRate = b.lossRate = 0.2;
  const alice = await client(net, [a, b], "alice");
  const bob = await client(net, [a, b], "bob");
  await alice.session.login();
  await bob.session.login();
  assert.ok(await alice.session.join("room1"));
  assert.ok(await bob.session.join("room1"));
  const sent: string[] = [];
  for (let i = 1; i <= 30; i++) {
    sent.push(`[room1] alice: m${i}`);
    alice.session.say(`m${i}`);
    if (i === 12) {
      await until("some delivered", () => bob.seen.lines.length >= 5);
      a.kill();
    }
  }
  assert.ok(await alice.session.flush(20_000), "all acked");
  await until("all 30 at bob", () => bob.seen.lines.length >= 30, 20_000);
  await until("all 30 at alice", () => alice.seen.lines.length >= 30, 20_000);
  await new Promise((r) => setTimeout(r, 300)); // duplicates would show up now
  assert.equal(bob.seen.lines, sent);
  assert.equal(alice.seen.lines, sent);
  assert.is(world.msgs.length, 30, "no add stored twice");
  assert.ok(alice.seen.notices.includes("server a is not answering; reconnecting…"), alice.seen.notices.join("|"));
  assert.ok(alice.seen.notices.includes("connected to b"), alice.seen.notices.join("|"));
  for (const c of [alice, bob]) await c.conn.close();
});

fake("a live server slow to ack an add is not left: no failover, no word of one", async (net) => {
  const world = new World();
  const a = net.server("a", world), b = net.server("b", world);
  const c = await client(net, [a, b], "bob", 20_000); // held polls say nothing for 20 s
  await c.session.login();
  await c.session.join("lobby");
  await new Promise((r) => setTimeout(r, 50)); // the poll is held
  a.holdAdds = true;
  c.session.say("slow");
  await new Promise((r) => setTimeout(r, 600)); // 30 RTOs of the fast timing, far past three silent sends
  assert.is(c.conn.server.id, "a");
  assert.equal(c.seen.notices.filter((n) => /answering|reconnecting|connected/.test(n)), []);
  a.releaseAdds();
  await until("slow shown", () => c.seen.lines.includes("[lobby] bob: slow"));
  assert.is(b.received.length, 0, "nothing ever went to b");
  await c.conn.close();
});

fake("failover is said once, plainly: reconnecting, then connected to the next server; the dead one is tried last", async (net) => {
  const world = new World();
  const a = net.server("a", world), b = net.server("b", world), cc = net.server("c", world);
  const c = await client(net, [a, b, cc], "bob");
  await c.session.login();
  await c.session.join("lobby");
  a.kill();
  for (let i = 1; i <= 3; i++) c.session.say(`m${i}`);
  await until("m3 shown", () => c.seen.lines.length === 3, 10_000);
  const link = c.seen.notices.filter((n) => /answering|reconnecting|connected/.test(n));
  assert.equal(link, ["server a is not answering; reconnecting…", "connected to b"]);
  assert.is(c.conn.server.id, "b");
  assert.is(cc.received.length, 0, "c, after b, was not tried");
  b.kill();
  c.session.say("m4");
  await until("m4 shown", () => c.seen.lines.length === 4, 10_000);
  assert.is(c.conn.server.id, "c", "after b comes c, not the dead a");
  await c.conn.close();
});

fake("logout leaves every room first (others see it), then logs out; conversations are not left", async (net) => {
  const a = net.server("a", new World());
  const c = await client(net, [a], "bob");
  await c.session.login();
  await c.session.join("one");
  await c.session.join("two");
  await c.session.logout(500);
  const tail = a.received.filter((r) => r.verb === "leave" || r.verb === "logout").map((r) => `${r.verb}${"groupName" in r ? ` ${r.groupName}` : ""}`);
  assert.equal(tail.slice(-1), ["logout"]);
  assert.equal(tail.slice(0, -1).sort(), ["leave one", "leave two"]);
  await c.conn.close();
});

fake("a restored line keeps its tag: sent again after a reload, it is stored once", async (net) => {
  const world = new World();
  const a = net.server("a", world);
  const first = await client(net, [a], "bob");
  const kept: { tag: string; text: string }[] = [];
  first.seen.ui.pending = (_id, _room, _text, wire) => kept.push(wire);
  await first.session.login();
  await first.session.join("lobby");
  first.session.say("only once");
  await until("stored", () => world.msgs.length === 1);
  // The page reloads before the ack reached it: a new connection, the same token, the kept line.
  const token = first.session.token!;
  await first.conn.close();
  const again = await client(net, [a], "bob");
  again.session.resume(token);
  await again.session.join("lobby");
  again.session.restore([{ room: "lobby", text: kept[0].text, shown: "only once", tag: kept[0].tag }]);
  assert.ok(await again.session.flush(5000));
  assert.is(world.msgs.length, 1, "the add under the same token and tag was not stored again");
  assert.is(a.received.filter((r) => r.verb === "add" && r.tag === kept[0].tag).length >= 2, true);
  await again.conn.close();
});

fake("bad-token on the new server: log in again, rejoin, keep the cursor", async (net) => {
  const a = net.server("a", new World()), b = net.server("b", new World());
  const c = await client(net, [a, b], "bob");
  await c.session.login();
  await c.session.join("lobby");
  c.session.say("one");
  await until("one shown", () => c.seen.lines.length === 1);
  a.kill();
  // b never saw this session nor the room: relogin, open the room, carry on.
  c.session.say("two");
  await until("two shown", () => c.seen.lines.length === 2);
  assert.equal(c.seen.lines, ["[lobby] bob: one", "[lobby] bob: two"]);
  assert.ok(c.seen.notices.some((n) => /session unknown to server b; logged in again as bob; rejoined lobby/.test(n)), c.seen.notices.join("|"));
  await c.conn.close();
});

fake("no server answers: notices and backoff, no crash; recovers when one returns", async (net) => {
  const world = new World();
  const a = net.server("a", world), b = net.server("b", world);
  a.kill();
  b.kill();
  const c = await client(net, [a, b], "bob");
  const login = c.session.login();
  await until("an outage notice", () => c.seen.notices.some((n) => n.startsWith("no server is answering")));
  b.up = true;
  await login;
  await until("connected to b", () => c.seen.notices.includes("connected to b"));
  assert.is(c.conn.server.id, "b");
  await c.conn.close();
});

// --- client.ts through a pipe, against real servers --------------------------

const ROOT = join(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "..");
const HAVE_SERVER = existsSync(join(ROOT, "server.ts")) && existsSync(join(ROOT, "testing", "harness.ts"));
type Harness = typeof import("../testing/harness.ts");
const harness = HAVE_SERVER ? await import("../testing/harness.ts") as Harness : null;

const real = (name: string, body: (h: Harness, clients: ClientProc[], stops: (() => Promise<unknown>)[]) => Promise<void>) =>
  test(`real servers: ${name}`, async () => {
    if (!harness) return console.log(`(skipped: no server.ts yet) ${name}`);
    const clients: ClientProc[] = [];
    const stops: (() => Promise<unknown>)[] = [];
    try {
      await body(harness, clients, stops);
    } finally {
      for (const c of clients) c.kill();
      for (const s of stops) await s();
      harness.removeTempDirs();
    }
  });

const WAIT = ["--wait-ms", "2000"];

real("bad flags: one clear line, non-zero exit", async () => {
  const bad = [
    ["--bogus"],
    [],
    ["--user", "no spaces"],
    ["--user", "bob", "--servers", "/nonexistent/servers.txt"],
    ["--user", "bob", "--key-file", "/nonexistent/keys.txt"],
    ["--user", "bob", "--password-file", "/nonexistent/bob.pw"],
  ];
  for (const args of bad) {
    const c = startClient(args);
    const code = await c.end();
    assert.ok(code !== 0 && code !== null, `${args.join(" ")} exits non-zero`);
    assert.is(c.err().trim().split("\n").length, 1, c.err());
    assert.match(c.err(), /^client: /);
    assert.not.match(c.err(), /ENOENT|EACCES|at \w+ \(/, "no bare error code or stack");
  }
  const c = startClient(["--user", "bob", "--password-file", "/nonexistent/bob.pw"]);
  await c.end();
  assert.is(c.err().trim(), "client: --password-file /nonexistent/bob.pw does not exist");
});

real("others see \"* NAME left\" when a client quits with /quit or its input ends", async (h, clients, stops) => {
  const srv = await h.startServer({ id: "a" });
  stops.push(() => srv.stop());
  const [alice, bob, carol] = ["alice", "bob", "carol"].map((u) => startClient(["--user", u, "--servers", srv.servers, "--room", "lobby", ...WAIT]));
  clients.push(alice, bob, carol);
  for (const c of [alice, bob, carol]) await c.waitFor(/joined lobby|created lobby/);
  carol.send("/quit");
  assert.is(await carol.end(), 0, carol.err());
  await alice.waitFor(/\[lobby\] \* carol left/);
  assert.is(await bob.end(), 0, bob.err()); // end of input
  await alice.waitFor(/\[lobby\] \* bob left/);
  alice.send("/who");
  await alice.waitFor(/^\* in lobby \(1\): alice$/m);
  assert.is(await alice.end(), 0);
});

real("two clients chat; /create /join (a missing room is made) /who /rooms; EOF waits for acks, then exits 0", async (h, clients, stops) => {
  const srv = await h.startServer({ id: "a" });
  stops.push(() => srv.stop());
  const alice = startClient(["--user", "alice", "--servers", srv.servers, ...WAIT]);
  const bob = startClient(["--user", "bob", "--servers", srv.servers, ...WAIT]);
  clients.push(alice, bob);
  alice.send("/create Lounge");
  await alice.waitFor(/created Lounge/);
  bob.send("/join fresh");
  await bob.waitFor(/created fresh/);
  bob.send("/create lounge");
  await bob.waitFor(/cannot create lounge: that room already exists/);
  bob.send("/join lounge");
  await bob.waitFor(/joined Lounge/);
  bob.send("/who");
  await bob.waitFor(/^\* in Lounge \(2\): alice, bob$/m);
  alice.send("/create other");
  await alice.waitFor(/created other/);
  alice.send("/rooms");
  await alice.waitFor(/^\* rooms \(3\): (?=.*\bfresh\b)(?=.*\bLounge\*)(?=.*\bother\*)/m);
  alice.send("/switch Lounge");
  alice.send("hi bob");
  await bob.waitFor(/\[Lounge\] alice: hi bob/);
  bob.send("hi alice");
  await alice.waitFor(/\[Lounge\] bob: hi alice/);
  bob.send("/leave other");
  await bob.waitFor(/cannot leave other: you are not in that room/);
  for (let i = 1; i <= 5; i++) alice.send(`burst ${i}`);
  assert.is(await alice.end(), 0, alice.err());
  await bob.waitFor(/alice: burst 5/);
  assert.equal(bob.messages(), [
    "[Lounge] alice: hi bob",
    "[Lounge] bob: hi alice",
    ...[1, 2, 3, 4, 5].map((i) => `[Lounge] alice: burst ${i}`),
  ]);
  assert.is(await bob.end(), 0, bob.err());
  assert.match(alice.err(), /logged in as alice on server a/);
});

real("control characters never reach stdout raw; text stays one line", async (h, clients, stops) => {
  const srv = await h.startServer({ id: "a" });
  stops.push(() => srv.stop());
  const mallory = startClient(["--user", "mallory", "--servers", srv.servers, "--room", "lobby", ...WAIT]);
  const bob = startClient(["--user", "bob", "--servers", srv.servers, "--room", "lobby", ...WAIT]);
  clients.push(mallory, bob);
  await mallory.waitFor(/lobby/);
  await bob.waitFor(/joined lobby|created lobby/);
  mallory.send("clear\x1b[2J\x1b]0;title\x07 bell\x08 del\x7f c1\u009b bidi\u202eevil back\\slash");
  await bob.waitFor(/mallory: clear/);
  const line = bob.messages().find((l) => l.includes("mallory: clear")) as string;
  assert.is(line, "[lobby] mallory: clear\\x1b[2J\\x1b]0;title\\x07 bell\\x08 del\\x7f c1\\x9b bidi\\u202eevil back\\\\slash");
  assert.not.match(bob.out(), /[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/);
  assert.is(await mallory.end(), 0);
  assert.is(await bob.end(), 0);
});

real("a dead first server: the client moves on, says so on stderr, loses nothing", async (h, clients, stops) => {
  const { file } = await h.makeCluster(["x", "a"]);
  // x never runs, so no second disk exists: a acks on its own (--one-disk-acks).
  const srv = await h.startServer({ id: "a", servers: file, extraArgs: ["--one-disk-acks"] });
  stops.push(() => srv.stop());
  const alice = startClient(["--user", "alice", "--servers", file, "--room", "lobby", ...WAIT]);
  clients.push(alice);
  await alice.waitFor(/server x is not answering; reconnecting…/);
  await alice.waitFor(/connected to a/);
  assert.not.match(alice.out(), /reconnecting/, "notices go to stderr");
  const bob = startClient(["--user", "bob", "--servers", file, "--room", "lobby", ...WAIT]);
  clients.push(bob);
  await bob.waitFor(/joined lobby|created lobby/);
  await alice.waitFor(/joined lobby|created lobby/);
  for (let i = 1; i <= 3; i++) alice.send(`m${i}`);
  assert.is(await alice.end(), 0, alice.err());
  await bob.waitFor(/alice: m3/);
  assert.equal(bob.messages(), ["[lobby] alice: m1", "[lobby] alice: m2", "[lobby] alice: m3"]);
  assert.is(await bob.end(), 0);
});

real("its server killed and restarted on the same database: no line twice or missing", async (h, clients, stops) => {
  const dir = h.tempDir();
  const { file } = await h.makeCluster(["a"], dir);
  const db = join(dir, "a.sqlite");
  let srv = await h.startServer({ id: "a", servers: file, db });
  stops.push(() => srv.stop());
  const alice = startClient(["--user", "alice", "--servers", file, "--room", "lobby", ...WAIT]);
  const bob = startClient(["--user", "bob", "--servers", file, "--room", "lobby", ...WAIT]);
  clients.push(alice, bob);
  await alice.waitFor(/joined lobby|created lobby/);
  await bob.waitFor(/joined lobby|created lobby/);
  for (let i = 1; i <= 3; i++) alice.send(`m${i}`);
  await bob.waitFor(/alice: m3/);
  await srv.kill9();
  for (let i = 4; i <= 6; i++) alice.send(`m${i}`);
  bob.send("b1");
  await alice.waitFor(/server a is not answering; reconnecting…/);
  srv = await h.startServer({ id: "a", servers: file, db });
  await bob.waitFor(/alice: m6/, 60_000);
  await alice.waitFor(/bob: b1/, 60_000);
  assert.is(await alice.end(), 0, alice.err());
  assert.is(await bob.end(), 0, bob.err());
  const expected = ["m1", "m2", "m3", "m4", "m5", "m6"].map((m) => `[lobby] alice: ${m}`);
  const mine = (c: ClientProc) => c.messages().filter((l) => l.includes("alice: "));
  assert.equal(mine(bob), expected);
  assert.equal(mine(alice), expected);
  assert.equal(bob.messages().filter((l) => l.includes("bob: b1")).length, 1);
  assert.equal(alice.messages().filter((l) => l.includes("bob: b1")).length, 1);
});

test.run();
