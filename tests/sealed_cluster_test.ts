/**
 * Sealed rooms through a cluster (issue 4, "Done when"): three real servers,
 * each one's client port AND peer port behind a capturing UDP proxy (the
 * servers bind with --listen / --peer-listen; servers.txt lists the
 * proxies, so every client and every server-to-server datagram passes one).
 * alice talks only to server a, bob only to b, carol (no passphrase) only
 * to c. alice and bob chat sealed through the cluster; carol sees
 * placeholders; no plaintext is in any database (+ WAL) or any captured
 * datagram, while sealed texts (`dc1:`) are; no session token is in any
 * database nor in peer traffic; a sealed text altered in c's database shows
 * as tampered there while it still opens on a.
 */
import { Buffer } from "node:buffer";
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import { flipFirstSealedText } from "./_tamper.ts";
import * as assert from "uvu/assert";
import { formatAddress } from "../lib/wire/address.ts";
import type { Address } from "../lib/wire/address.ts";
import { startUdpProxy } from "../testing/udp_proxy.ts";
import type { UdpProxy } from "../testing/udp_proxy.ts";
import { freePort, makeCluster, removeTempDirs, startServer, tempDir } from "../testing/harness.ts";
import type { ServerHandle } from "../testing/harness.ts";
import { dbFileBytes } from "../testing/db_files.ts";
import { startClient, until } from "./_client_proc.ts";
import type { ClientProc } from "./_client_proc.ts";

const IDS = ["a", "b", "c"] as const;
type Id = (typeof IDS)[number];
const WAIT = ["--wait-ms", "1000"];
const SECRET_A = "cluster secret from alice ~zq5d2e~";
const SECRET_B = "bob answers über the cluster ✉ ~zq81fa~";
const SECRET_A2 = "second sealed line alice ~zq0b7c~";
/** The short markers have characters that no hex or base64 (MACs, nonces, session ids, sealed text) can hold, so they cannot turn up by chance. */
const PLAINTEXTS = [SECRET_A, SECRET_B, SECRET_A2, "~zq5d2e~", "~zq81fa~", "~zq0b7c~"];

type Captured = { bytes: Buffer; direction: string; kind: "client" | "peer"; at: Id };

test("sealed room through a 3-server cluster: no plaintext in databases or datagrams; placeholders; tampering shows", async () => {
  const dir = tempDir("distchat-sealed-cluster-");
  // No key=: plaintext peer links, so the capture can show sealed texts travel sealed (tests/secure_peers_test.ts: encrypted links).
  const { file, entries } = await makeCluster([...IDS], dir, { keys: false });
  const byId = new Map(entries.map((e) => [e.id as Id, e]));
  const captured: Captured[] = [];
  const proxies: UdpProxy[] = [];
  const srv = new Map<Id, ServerHandle>();
  const clients: ClientProc[] = [];
  const real = new Map<Id, { client: Address; peer: Address }>();
  const db = (id: Id) => join(dir, `${id}.sqlite`);
  const keys = join(dir, "keys.txt");
  writeFileSync(keys, "lobby  five random diceware words here\n");
  chmodSync(keys, 0o600);
  const start = (id: Id) =>
    startServer({
      id,
      servers: file,
      db: db(id),
      extraArgs: ["--listen", formatAddress(real.get(id)!.client), "--peer-listen", formatAddress(real.get(id)!.peer)],
    });
  /** A servers.txt naming only server `id` (its proxies). */
  const onlyFile = (id: Id) => {
    const e = byId.get(id)!;
    const f = join(dir, `servers-${id}.txt`);
    writeFileSync(f, `${id} ${formatAddress(e.client)} ${formatAddress(e.peer)}\n`);
    return f;
  };
  const client = (user: string, id: Id, ...args: string[]) => {
    // Plaintext (no key= in its file): the capture then shows what sealing alone hides.
    const c = startClient(["--user", user, "--servers", onlyFile(id), "--room", "lobby", "--allow-plaintext", ...args, ...WAIT]);
    clients.push(c);
    return c;
  };
  try {
    for (const id of IDS) {
      const r = { client: { host: "127.0.0.1", port: await freePort() }, peer: { host: "127.0.0.1", port: await freePort() } };
      real.set(id, r);
      const e = byId.get(id)!;
      for (const kind of ["client", "peer"] as const) {
        proxies.push(
          await startUdpProxy({
            listen: e[kind],
            target: r[kind],
            onDatagram: (bytes, direction) => captured.push({ bytes: Buffer.from(bytes), direction, kind, at: id }),
          }),
        );
      }
    }
    for (const [id, s] of await Promise.all(IDS.map(async (id) => [id, await start(id)] as const))) srv.set(id, s);

    // alice opens the room on a; bob joins it on b once it has replicated there.
    const alice = client("alice", "a", "--key-file", keys);
    await alice.waitFor(/created lobby|joined lobby/);
    await alice.waitFor(/lobby has a passphrase: messages you send there are sealed/);
    const bob = client("bob", "b", "--key-file", keys);
    await bob.waitFor(/joined lobby|created lobby/);
    await bob.waitFor(/lobby has a passphrase: messages you send there are sealed/);
    const carol = client("carol", "c");
    await carol.waitFor(/joined lobby|created lobby/);

    alice.send(SECRET_A);
    await bob.waitFor(new RegExp(`\\[lobby\\] alice: \\[sealed\\] ${SECRET_A}$`, "m"), 15_000);
    bob.send(SECRET_B);
    await alice.waitFor(/\[lobby\] bob: \[sealed\] bob answers über the cluster ✉ ~zq81fa~$/m, 15_000);
    alice.send(SECRET_A2);
    await bob.waitFor(new RegExp(`\\[lobby\\] alice: \\[sealed\\] ${SECRET_A2}$`, "m"), 15_000);

    // carol, on c without a passphrase: three placeholders, never the text.
    await until(
      "3 placeholders at carol",
      () => carol.messages().filter((l) => l.includes("[sealed message: no passphrase for this room")).length === 3,
      15_000,
    );
    carol.send("carol plain hello");
    await alice.waitFor(/carol: \[plain\] carol plain hello/, 15_000);
    await bob.waitFor(/carol: \[plain\] carol plain hello/, 15_000);

    for (const c of [alice, bob, carol]) assert.is(await c.end(), 0, c.err());
    assert.equal(carol.messages().slice(0, 3).map((l) => l.replace(/: .*/, "")), ["[lobby] alice", "[lobby] bob", "[lobby] alice"]);
    for (const p of PLAINTEXTS) assert.not.ok(carol.out().includes(p), `${p} shown to carol:\n${carol.out()}`);
    assert.not.match(carol.out(), /\[sealed\] /);
    for (const c of [alice, bob]) {
      const mine = c.messages().filter((l) => l.includes("[sealed] "));
      assert.is(mine.length, 3, c.out());
    }

    // Every captured datagram, client and peer traffic, both directions.
    const ofKind = (k: "client" | "peer") => captured.filter((d) => d.kind === k);
    for (const id of IDS) {
      assert.ok(captured.some((d) => d.kind === "client" && d.at === id), `client traffic to ${id} captured`);
      assert.ok(captured.some((d) => d.kind === "peer" && d.at === id), `peer traffic to ${id} captured`);
    }
    const peerWire = Buffer.concat(ofKind("peer").map((d) => d.bytes));
    const clientWire = Buffer.concat(ofKind("client").map((d) => d.bytes));
    for (const p of PLAINTEXTS) {
      assert.is(clientWire.indexOf(Buffer.from(p)), -1, `${p} in client traffic`);
      assert.is(peerWire.indexOf(Buffer.from(p)), -1, `${p} in peer traffic`);
    }
    assert.ok(clientWire.indexOf("dc1:") >= 0, "sealed texts in client traffic");
    assert.ok(peerWire.indexOf("dc1:") >= 0, "sealed texts replicated in peer traffic");
    assert.ok(peerWire.indexOf("carol plain hello") >= 0, "the capture does see plain texts");
    const tokens = ofKind("client")
      .filter((d) => d.direction === "back")
      .map((d) => d.bytes.toString("utf8").split("\n"))
      .filter((l) => l[0] === "ok" && l[2] === "login")
      .map((l) => l[4]);
    assert.ok(new Set(tokens).size >= 3, `a token per client: ${tokens.length}`);
    for (const t of new Set(tokens)) assert.is(peerWire.indexOf(t), -1, "a session token in peer traffic");

    // Every database (+ WAL): sealed texts, no plaintext, no token.
    for (const id of IDS) {
      const stored = dbFileBytes(db(id));
      for (const p of PLAINTEXTS) assert.is(stored.indexOf(Buffer.from(p)), -1, `${p} in ${id}'s database`);
      assert.ok(stored.indexOf("dc1:") >= 0, `sealed texts in ${id}'s database`);
      for (const t of new Set(tokens)) assert.is(stored.indexOf(t), -1, `a session token in ${id}'s database`);
    }

    // Alter alice's first sealed text in c's database: shown as tampered on c, still fine on a.
    await srv.get("c")!.stop();
    srv.delete("c");
    flipFirstSealedText(db("c"), "alice");
    srv.set("c", await start("c"));
    const erin = client("erin", "c", "--key-file", keys);
    const frank = client("frank", "a", "--key-file", keys);
    await erin.waitFor(/carol: \[plain\] carol plain hello/, 15_000);
    await frank.waitFor(/carol: \[plain\] carol plain hello/, 15_000);
    for (const c of [erin, frank]) assert.is(await c.end(), 0, c.err());
    assert.match(erin.messages()[0], /^\[lobby\] alice: \[tampered sealed message: it failed its check/);
    assert.not.ok(erin.out().includes(SECRET_A), "never the plaintext of an altered message");
    assert.equal(erin.messages()[1], `[lobby] bob: [sealed] ${SECRET_B}`);
    assert.equal(frank.messages()[0], `[lobby] alice: [sealed] ${SECRET_A}`, "unaltered on a");
  } finally {
    for (const c of clients) c.kill();
    await Promise.all([...srv.values()].map((s) => s.stop()));
    await Promise.all(proxies.map((p) => p.close()));
    removeTempDirs();
  }
});

test.run();
