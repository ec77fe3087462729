/**
 * Encrypted sessions against a real server (docs/PROTOCOL.md "Encrypted
 * transport"): a client that moves to another address carries on there
 * (roaming, the new address proven by a path challenge); a client that
 * rekeys after a few datagrams keeps being answered; a flood of
 * initiations gets cookie replies once the server is loaded, and a real
 * client still gets in.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { randomBytes } from "node:crypto";
import { ClientTransport } from "../lib/secure/client_transport.ts";
import { KIND } from "../lib/secure/envelope.ts";
import { DEFAULT_LIMITS } from "../lib/secure/session.ts";
import { generateKeyPair } from "../lib/secure/suite.ts";
import { lines, makeCluster, removeTempDirs, type ServerHandle, startServer, udpClient, type UdpClient } from "../testing/harness.ts";
import { secureClient } from "../testing/secure_client.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const random = (n: number) => new Uint8Array(randomBytes(n));

test.after.each(() => removeTempDirs());

/** Sends `text` through `t` from socket `u` and answers what the transport asks until the reply of its tag comes; every datagram sent is counted in `sent`. */
async function exchange(t: ClientTransport, u: UdpClient, srv: ServerHandle, text: string, sent: Uint8Array[] = []): Promise<string> {
  const out = (d: Uint8Array) => (sent.push(d), u.send(srv.clientAddr, d));
  t.seal(enc.encode(text), Date.now()).forEach(out);
  const until = Date.now() + 10_000;
  while (Date.now() < until) {
    const d = await u.next(Math.max(1, until - Date.now()));
    if (d === null) break;
    const r = t.receive(d.bytes, Date.now());
    r.send.forEach(out);
    if (r.plaintext !== null && dec.decode(r.plaintext).split("\n")[1] === text.split("\n")[1]) return dec.decode(r.plaintext);
  }
  throw new Error(`no reply to ${text.slice(0, 40)}`);
}

async function keyedServer(extraArgs: string[] = []): Promise<{ srv: ServerHandle; key: Uint8Array }> {
  const { file, entries } = await makeCluster(["a"]);
  return { srv: await startServer({ id: "a", servers: file, allowPlaintext: false, extraArgs }), key: entries[0].key! };
}

test("roaming: a session moved to another address is answered there, and only there", async () => {
  const { srv, key } = await keyedServer();
  const first = await udpClient(), second = await udpClient();
  try {
    const t = new ClientTransport({ serverKey: key, random, newKeyPair: generateKeyPair });
    const token = (await exchange(t, first, srv, lines("login", "l1", "rover"))).split("\n")[4];
    assert.match(await exchange(t, first, srv, lines("open", "o1", token, "road")), /^ok\no1\nopen/);
    // The same session from a new socket (a NAT rebinding): answered at the new address.
    assert.match(await exchange(t, second, srv, lines("rooms", "r1", token)), /^ok\nr1\nrooms/);
    assert.match(await exchange(t, second, srv, lines("who", "w1", token, "road")), /^ok\nw1\nwho\nroad\n0\n1\nrover/);
    assert.is(await first.next(300), null, "nothing more to the old address");
  } finally {
    await first.close();
    await second.close();
    await srv.stop();
  }
});

test("rekeying: a client that starts a new handshake every 4 datagrams is answered throughout", async () => {
  const { srv, key } = await keyedServer();
  const u = await udpClient();
  try {
    const t = new ClientTransport({ serverKey: key, random, newKeyPair: generateKeyPair, limits: { ...DEFAULT_LIMITS, rekeyAfterMessages: 4 } });
    const sent: Uint8Array[] = [];
    const token = (await exchange(t, u, srv, lines("login", "l1", "rekeyer"), sent)).split("\n")[4];
    for (let i = 0; i < 12; i++) assert.match(await exchange(t, u, srv, lines("rooms", `r${i}`, token), sent), new RegExp(`^ok\\nr${i}\\nrooms`));
    assert.ok(sent.filter((d) => d[0] === KIND.initiation).length >= 3, "new handshakes on the way");
  } finally {
    await u.close();
    await srv.stop();
  }
});

test("a flood of initiations gets cookie replies, smaller than them, once the server is loaded; a real client still gets in", async () => {
  const { srv, key } = await keyedServer(["--handshakes-per-second", "50"]);
  const flood = await udpClient();
  let c = null;
  try {
    // 600 valid initiations (mac1 right) of clients that never finish, in about a second: past 50 a second, the load signal.
    const kinds = new Map<number, number>();
    let sizes = { initiation: 0, cookie: 0 };
    for (let batch = 0; batch < 6; batch++) {
      for (let i = 0; i < 100; i++) {
        const [init] = new ClientTransport({ serverKey: key, random, newKeyPair: generateKeyPair }).seal(enc.encode("x"), Date.now());
        sizes.initiation = init.length;
        flood.send(srv.clientAddr, init);
      }
      for (let d = await flood.next(50); d !== null; d = await flood.next(20)) {
        kinds.set(d.bytes[0], (kinds.get(d.bytes[0]) ?? 0) + 1);
        if (d.bytes[0] === KIND.cookie) sizes = { ...sizes, cookie: d.bytes.length };
      }
    }
    const cookies = kinds.get(KIND.cookie) ?? 0;
    assert.ok(cookies > 0, `replies by kind: ${JSON.stringify([...kinds])}`);
    assert.ok(sizes.cookie < sizes.initiation, `cookie reply ${sizes.cookie} bytes, initiation ${sizes.initiation}`);
    // A real client: a cookie reply, its initiation again with mac2, then its login.
    c = await secureClient(srv.clientAddr, key);
    assert.match(await c.request(lines("login", "l1", "legit")), /^ok\nl1\nlogin\nlegit\n/);
  } finally {
    await c?.close();
    await flood.close();
    await srv.stop();
  }
});

test.run();
