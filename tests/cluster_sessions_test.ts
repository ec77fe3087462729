/**
 * Session lifetime across a cluster (issue 3 item 5), three real servers
 * with --session-ttl 3:
 *
 * - a session used only on server a (a request every ~1 s) stays valid on b
 *   and c past its ttl: a logs `touch` ops, b and c add the remote slack
 *   (ttl/10 + 1 s, lib/rules/conflict.ts remoteSlack);
 * - once idle, the name is free again on every server within ttl + slack +
 *   a margin (and not before ttl);
 * - logout on a frees the name on b at once (not at expiry);
 * - concurrent logins of one name on a and b: after replication exactly one
 *   session survives, the same one on every server; the other gets
 *   `bad-token` everywhere.
 *
 * Probes that must not count as activity of the session under test use
 * `login` of its name (a refused login changes nothing) and `who` by another
 * session.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { lines, makeCluster, removeTempDirs, type ServerHandle, startServer, type UdpClient, udpClient } from "../testing/harness.ts";

const TTL = 3;
const TTL_MS = TTL * 1000;
const SLACK_MS = TTL * 100 + 1000; // lib/rules/conflict.ts remoteSlack(3)
const MARGIN_MS = 1500;
const IDS = ["a", "b", "c"] as const;
type Id = (typeof IDS)[number];

const srv = {} as Record<Id, ServerHandle>;
let c: UdpClient;
let tagNo = 0;
const tag = () => `s${++tagNo}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const code = (reply: string) => (reply.startsWith("error\n") ? reply.split("\n")[2] : "ok");

test.before(async () => {
  c = await udpClient();
  const { file } = await makeCluster([...IDS]);
  const started = await Promise.all(IDS.map((id) => startServer({ id, servers: file, ttl: TTL, extraArgs: ["--sync", "normal"] })));
  IDS.forEach((id, i) => (srv[id] = started[i]));
});

test.after(async () => {
  await Promise.all(Object.values(srv).map((s) => s.stop()));
  await c?.close();
  removeTempDirs();
});

async function ask(id: Id, text: string, client = c): Promise<string> {
  return await client.request(srv[id].clientAddr, text, 5000);
}

/** Logs `name` in on server `id`: [code, token]. */
async function login(id: Id, name: string, client = c): Promise<[string, string]> {
  const r = await ask(id, lines("login", tag(), name), client);
  return [code(r), r.startsWith("ok\n") ? r.split("\n")[4] : ""];
}

async function mustLogin(id: Id, name: string): Promise<string> {
  const [k, tok] = await login(id, name);
  assert.is(k, "ok", `login ${name} on ${id}`);
  return tok;
}

/** Retries `f` until it returns true; fails naming `what` after `ms`. */
async function eventually(what: string, f: () => Promise<boolean>, ms = 3000): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    if (await f()) return Date.now() - t0;
    if (Date.now() - t0 > ms) throw new Error(`not within ${ms} ms: ${what}`);
    await sleep(50);
  }
}

/** Members of `room` listed by server `id` to session `tok`. */
async function who(id: Id, tok: string, room: string): Promise<string[]> {
  const r = await ask(id, lines("who", tag(), tok, room));
  const f = r.split("\n");
  assert.is(f[0], "ok", r);
  return f.slice(6, 6 + Number(f[5]));
}

test("a session used only on a stays valid on b and c past its ttl; once idle its name is free everywhere", async () => {
  const alice = await mustLogin("a", "alice");
  const r = await ask("a", lines("open", tag(), alice, "ttlroom"));
  assert.is(code(r), "ok", r);
  // Observers on b and c, in the room, kept alive by their own requests.
  const watch = { a: await mustLogin("a", "watchera"), b: await mustLogin("b", "watcherb"), c: await mustLogin("c", "watcherc") };
  for (const id of IDS) {
    await eventually(`ttlroom on ${id}`, async () => code(await ask(id, lines("connect", tag(), watch[id], "ttlroom"))) === "ok");
  }

  // Active on a only, for twice the ttl; b and c never see a request of alice.
  const t0 = Date.now();
  let nextUse = t0;
  let lastUse = t0;
  while (Date.now() - t0 < 2 * TTL_MS) {
    if (Date.now() >= nextUse) {
      const u = await ask("a", lines("rooms", tag(), alice));
      assert.is(code(u), "ok", `alice's request on a: ${u}`);
      lastUse = Date.now();
      nextUse = lastUse + 1000;
    }
    for (const id of ["b", "c"] as const) {
      assert.is((await login(id, "alice"))[0], "name-taken", `alice's name on ${id} at ${Date.now() - t0} ms`);
      assert.ok((await who(id, watch[id], "ttlroom")).includes("alice"), `alice a member on ${id} at ${Date.now() - t0} ms`);
    }
    assert.ok((await who("a", watch.a, "ttlroom")).includes("alice"), "alice a member on a");
    await sleep(250);
  }
  // Past the ttl since login, her token works on b and c (this is her last activity anywhere).
  for (const id of ["b", "c"] as const) assert.is(code(await ask(id, lines("rooms", tag(), alice))), "ok", `token on ${id}`);
  const idleFrom = Date.now();

  // Idle: still taken well within the ttl; free on every server within ttl + slack + margin.
  const freeBy = idleFrom + TTL_MS + SLACK_MS + MARGIN_MS;
  const taken: Record<Id, boolean> = { a: true, b: true, c: true };
  while (Object.values(taken).some((x) => x)) {
    const t = Date.now() - idleFrom;
    assert.ok(Date.now() < freeBy, `alice still held after ${t} ms idle on ${IDS.filter((id) => taken[id]).join(",")}`);
    // Probe every server by who, asked by its watcher (alice's session is not touched).
    for (const id of IDS) taken[id] = (await who(id, watch[id], "ttlroom")).includes("alice");
    if (t < TTL_MS - 500) assert.ok(IDS.every((id) => taken[id]), `alice dropped from the room after only ${t} ms idle`);
    await sleep(100);
  }
  const freeAfter = Date.now() - idleFrom;
  // Her name: free to log in (on c), and the old token is dead on every server.
  await eventually("alice's name free on c", async () => (await login("c", "alice"))[0] === "ok", Math.max(0, freeBy - Date.now()) + 200);
  for (const id of IDS) assert.is(code(await ask(id, lines("rooms", tag(), alice))), "bad-token", `old token on ${id}`);
  console.log(`    (alice left the room on every server ${freeAfter} ms after her last request; ttl ${TTL_MS} ms + slack ${SLACK_MS} ms)`);
});

test("the new holder of an expired name is accepted everywhere (no server still gives it to the old session)", async () => {
  // The login above on c made a new alice session; it must hold on a and b too.
  const [k] = await login("a", "alice");
  assert.is(k, "name-taken", "a knows the new alice");
  const [k2] = await login("b", "alice");
  assert.is(k2, "name-taken", "b knows the new alice");
});

test("logout on a frees the name on b promptly", async () => {
  const tok = await mustLogin("a", "bob");
  await eventually("bob taken on b", async () => (await login("b", "bob"))[0] === "name-taken");
  const r = await ask("a", lines("logout", tag(), tok));
  assert.is(code(r), "ok", r);
  const took = await eventually("bob free on b after logout", async () => (await login("b", "bob"))[0] === "ok", 1500);
  assert.ok(took < 1500, `${took} ms`);
  for (const id of IDS) assert.is(code(await ask(id, lines("rooms", tag(), tok))), "bad-token", `logged-out token on ${id}`);
});

test("concurrent logins of one name on a and b: exactly one session survives, the same on every server", async () => {
  const observer = await mustLogin("c", "observer");
  assert.is(code(await ask("c", lines("open", tag(), observer, "duel"))), "ok");
  for (const id of ["a", "b"] as const) {
    // Log in once: a second login of the same probe name would be name-taken.
    const t = await mustLogin(id, `probe${id}`);
    await eventually(`duel on ${id}`, async () => code(await ask(id, lines("connect", tag(), t, "duel"))) === "ok");
  }
  const ca = await udpClient(), cb = await udpClient();
  let conflicts = 0;
  try {
    for (let round = 0; round < 4; round++) {
      const name = `carol${round}`;
      // Both logins leave at once, to a and to b.
      const [[ka, ta], [kb, tb]] = await Promise.all([login("a", name, ca), login("b", name, cb)]);
      assert.ok(ka === "ok" || kb === "ok", `${name}: ${ka} ${kb}`);
      const toks = [ta, tb].filter((t) => t !== "");
      if (toks.length === 2) conflicts++;
      // Each session joins the duel room on its own server (may already have lost).
      await Promise.all([
        ta ? ask("a", lines("connect", tag(), ta, "duel"), ca) : null,
        tb ? ask("b", lines("connect", tag(), tb, "duel"), cb) : null,
      ]);
      await sleep(500); // replication (heartbeats every 1 s repair any loss)
      // Who holds it, asked of every server without touching either session: by the observer.
      let agreed = "";
      await eventually(`${name}: one ${name} in duel on every server`, async () => {
        for (const id of IDS) {
          const list = (await who(id, observer, "duel")).filter((n) => n.toLowerCase() === name);
          if (list.length !== 1) return false;
        }
        return true;
      });
      // Which token survives: the same on every server, and exactly one.
      for (const t of toks) {
        const codes: string[] = [];
        for (const id of IDS) codes.push(code(await ask(id, lines("rooms", tag(), t))));
        assert.ok(codes.every((x) => x === codes[0]), `${name}: servers disagree on a session: ${codes.join(" ")}`);
        if (codes[0] === "ok") {
          assert.is(agreed, "", `${name}: two sessions hold it`);
          agreed = t;
        } else assert.is(codes[0], "bad-token");
      }
      assert.ok(agreed !== "", `${name}: nobody holds it`);
      for (const id of IDS) assert.is((await login(id, name))[0], "name-taken", `${name} on ${id}`);
    }
  } finally {
    await ca.close();
    await cb.close();
  }
  console.log(`    (${conflicts} of 4 rounds had both logins accepted before replication)`);
});

test.run();
