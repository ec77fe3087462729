/**
 * The encrypted client transport, black-box (docs/PROTOCOL.md "Encrypted
 * transport"): real servers started with a key= in their servers file.
 * Plaintext without --allow-plaintext gets one short error naming the flag;
 * what a real client and a raw encrypted client put on the wire (captured by
 * the UDP proxy) holds neither a message's text nor a token; replayed,
 * truncated and bit-flipped datagrams are dropped and change nothing, a
 * reordered one within the replay window counts once.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Buffer } from "node:buffer";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { keyField } from "../lib/config/servers_file.ts";
import { replyBudget } from "../lib/server/address_budget.ts";
import { formatAddress } from "../lib/wire/address.ts";
import { lines, makeCluster, removeTempDirs, startServer, tempDir, udpClient } from "../testing/harness.ts";
import { secureClient } from "../testing/secure_client.ts";
import { startUdpProxy } from "../testing/udp_proxy.ts";
import { startClient } from "./_client_proc.ts";

const enc = new TextEncoder();

/** True when `needle` occurs in any of `haystack`. */
function occurs(haystack: readonly Uint8Array[], needle: string): boolean {
  const n = enc.encode(needle);
  return haystack.some((h) => Buffer.from(h).includes(Buffer.from(n)));
}

test.after.each(() => removeTempDirs());

/** A one-server cluster with keys, its server refusing plaintext, behind a proxy that keeps every datagram it passes. */
async function behindProxy() {
  const dir = tempDir();
  const { file, entries } = await makeCluster(["a"], dir);
  const srv = await startServer({ id: "a", servers: file, allowPlaintext: false });
  const wire: Uint8Array[] = [];
  const proxy = await startUdpProxy({ listen: { host: "127.0.0.1", port: 0 }, target: srv.clientAddr, onDatagram: (b) => wire.push(b.slice()) });
  const stop = async () => {
    await proxy.close();
    await srv.stop();
  };
  return { dir, entry: entries[0], proxy, wire, stop };
}

test("without --allow-plaintext: a plaintext datagram gets one short error naming the flag (within 3x) and changes nothing", async () => {
  const { file, entries } = await makeCluster(["a"]);
  const srv = await startServer({ id: "a", servers: file, allowPlaintext: false });
  const raw = await udpClient();
  const c = await secureClient(srv.clientAddr, entries[0].key!);
  try {
    assert.match(srv.stdout(), /clients encrypted$/m);
    const login = lines("login", "p1", "bob");
    const reply = await raw.request(srv.clientAddr, login);
    assert.match(reply, /^error\np1\nbad-request\n.*--allow-plaintext/);
    assert.ok(reply.length <= replyBudget(login.length), `${reply.length} bytes`);
    assert.is(await raw.next(300), null, "one error, nothing more");
    // Nothing was stored: the name is free for an encrypted login.
    assert.match(await c.request(lines("login", "e1", "bob")), /^ok\ne1\nlogin\nbob\n/);
  } finally {
    await c.close();
    await raw.close();
    await srv.stop();
  }
});

test("with --allow-plaintext: today's protocol and the encrypted one side by side, the start line saying so", async () => {
  const { file, entries } = await makeCluster(["a"]);
  const srv = await startServer({ id: "a", servers: file });
  const raw = await udpClient();
  const c = await secureClient(srv.clientAddr, entries[0].key!);
  try {
    assert.match(srv.stdout(), /clients encrypted or plaintext \(--allow-plaintext\)$/m);
    assert.match(await raw.request(srv.clientAddr, lines("login", "p1", "ann")), /^ok\np1\nlogin\nann\n/);
    assert.match(await c.request(lines("login", "e1", "bob")), /^ok\ne1\nlogin\nbob\n/);
  } finally {
    await c.close();
    await raw.close();
    await srv.stop();
  }
});

test("the wire between a real client and its server (through a proxy) holds neither the text nor the names", async () => {
  const { dir, entry, proxy, wire, stop } = await behindProxy();
  // The client reaches the server through the proxy, pinning the server's key.
  const viaProxy = join(dir, "via-proxy.txt");
  writeFileSync(viaProxy, `a ${formatAddress(proxy.address)} ${formatAddress(entry.peer)} ${keyField(entry.key!)}\n`);
  const bob = startClient(["--user", "bobwire", "--servers", viaProxy, "--room", "lobbywire"]);
  try {
    bob.send("the eagle lands at midnight");
    await bob.waitFor(/bobwire: the eagle lands at midnight/);
    assert.is(await bob.end(), 0);
    assert.ok(wire.length >= 4, `${wire.length} datagrams`);
    for (const secret of ["the eagle lands", "bobwire", "lobbywire", "login", "ok\n"]) assert.not.ok(occurs(wire, secret), secret);
  } finally {
    bob.kill();
    await stop();
  }
});

test("tokens never cross the wire in the clear; replayed, truncated and flipped datagrams are dropped and change nothing", async () => {
  const { entry, proxy, wire, stop } = await behindProxy();
  const c = await secureClient(proxy.address, entry.key!);
  try {
    const token = (await c.request(lines("login", "l1", "eve"))).split("\n")[4];
    assert.ok(token.length >= 40, token);
    assert.match(await c.request(lines("open", "o1", token, "vault")), /^ok\no1\nopen/);
    assert.match(await c.request(lines("add", "a1", token, "first words", "vault")), /^ok\na1\nadd/);
    const add = c.sent.at(-1)!;
    // A bit flipped anywhere, a byte short, or the same datagram again: no reply, nothing stored.
    for (const i of [0, 5, 20, add.length - 1]) {
      const flipped = add.slice();
      flipped[i] ^= 0x40;
      c.sendRaw(flipped);
    }
    c.sendRaw(add.subarray(0, add.length - 1));
    c.sendRaw(add);
    assert.is(await c.next(700), null, "dropped");
    // Two adds sealed in order, delivered in reverse (within the replay window): each counts once; their replays nothing.
    const [second] = c.seal(lines("add", "a2", token, "second words", "vault"));
    const [third] = c.seal(lines("add", "a3", token, "third words", "vault"));
    c.sendRaw(third);
    c.sendRaw(second);
    const acks = [await c.next(5000), await c.next(5000)].map((r) => r?.split("\n").slice(0, 3).join(" "));
    assert.equal(acks.sort(), ["ok a2 add", "ok a3 add"]);
    c.sendRaw(third);
    c.sendRaw(second);
    assert.is(await c.next(700), null, "replays are dropped");
    const history = await c.request(lines("history", "h1", token, "vault", "10"));
    const f = history.split("\n");
    for (const words of ["first words", "second words", "third words"]) assert.is(f.filter((l) => l === words).length, 1, history);
    assert.not.ok(occurs(wire, token), "the token is on the wire");
    assert.not.ok(occurs(wire, "first words"));
  } finally {
    await c.close();
    await stop();
  }
});

test.run();
