import { test } from "uvu";
import * as assert from "uvu/assert";
import { runtimeName } from "../lib/platform/runtime.ts";
import { bindTransport } from "../lib/net/bind.ts";
import { bindUdp, lookupAtOnce } from "../lib/net/udp_node.ts";
import type { Address } from "../lib/wire/address.ts";
import type { OnDatagram, Transport } from "../lib/wire/transport.ts";

type Bind = (at: Address, onDatagram: OnDatagram) => Promise<Transport>;

const LOOPBACK = { host: "127.0.0.1", port: 0 };

/** Every transport this runtime offers, by name. */
async function transports(): Promise<[string, Bind][]> {
  const all: [string, Bind][] = [["node:dgram", bindUdp], ["bindTransport", bindTransport]];
  if (runtimeName() === "deno") {
    const deno = await import("../lib/net/udp_deno.ts");
    assert.ok(deno.denoDatagramsAvailable(), "Deno.listenDatagram is missing: deno.json should enable unstable net");
    all.push(["Deno.listenDatagram", deno.bindDenoUdp]);
  }
  return all;
}

/** Resolves with the first datagram `t`'s callback sees, or rejects after 2 s. */
function inbox() {
  const got: { bytes: Uint8Array; from: Address }[] = [];
  let wake: (() => void) | null = null;
  const onDatagram: OnDatagram = (bytes, from) => {
    got.push({ bytes, from });
    wake?.();
  };
  const next = () =>
    new Promise<{ bytes: Uint8Array; from: Address }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no datagram in 2 s")), 2000);
      const take = () => {
        const first = got.shift();
        if (!first) return;
        clearTimeout(timer);
        wake = null;
        resolve(first);
      };
      wake = take;
      take();
    });
  return { onDatagram, next };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

test("bindTransport picks Deno.listenDatagram under Deno, node:dgram under Node", async () => {
  const t = await bindTransport(LOOPBACK, () => {});
  assert.is(t.kind, runtimeName() === "deno" ? "deno" : "node:dgram");
  await t.close();
});

for (const [name, bind] of await transports()) {
  test(`${name}: echo over loopback, sender address reported`, async () => {
    const server: Transport = await bind(LOOPBACK, (bytes, from) => server.send(bytes, from));
    const box = inbox();
    const client = await bind(LOOPBACK, box.onDatagram);
    try {
      assert.ok(server.address.port > 0);
      assert.is(server.address.host, "127.0.0.1");
      client.send(new TextEncoder().encode("ping\n1\n"), server.address);
      const { bytes, from } = await box.next();
      assert.is(new TextDecoder().decode(bytes), "ping\n1\n");
      assert.equal(from, server.address);
      assert.is(client.sendErrors, 0);
    } finally {
      await client.close();
      await server.close();
    }
  });

  test(`${name}: a 9000-byte datagram arrives whole, and copies are independent`, async () => {
    const box = inbox();
    const receiver = await bind(LOOPBACK, box.onDatagram);
    const sender = await bind(LOOPBACK, () => {});
    try {
      const big = new Uint8Array(9000).map((_, i) => i % 251);
      sender.send(big, receiver.address);
      sender.send(new Uint8Array([1, 2, 3]), receiver.address);
      // UDP keeps no order between datagrams, so sort them by size.
      const [small, large] = [await box.next(), await box.next()].sort((a, b) => a.bytes.length - b.bytes.length);
      assert.is(large.bytes.length, 9000);
      assert.ok(sameBytes(large.bytes, big), "9000-byte payload differs");
      assert.ok(sameBytes(small.bytes, new Uint8Array([1, 2, 3])), "3-byte payload differs");
    } finally {
      await sender.close();
      await receiver.close();
    }
  });

  test(`${name}: close resolves and frees the port`, async () => {
    const t = await bind(LOOPBACK, () => {});
    const port = t.address.port;
    await t.close();
    const again = await bind({ host: "127.0.0.1", port }, () => {});
    assert.is(again.address.port, port);
    await again.close();
  });

  test(`${name}: binding a port in use rejects`, async () => {
    const t = await bind(LOOPBACK, () => {});
    try {
      let failed = false;
      await bind({ host: "127.0.0.1", port: t.address.port }, () => {}).then((x) => x.close(), () => (failed = true));
      assert.ok(failed, "second bind should reject");
    } finally {
      await t.close();
    }
  });
}

// lib/net/udp_node.ts's bare bindUdp still throws "Not running" on a send after close.
test("node:dgram's lookup answers an IP address within the call (the datagram leaves within send()), a name later", async () => {
  const answers: [string, number][] = [];
  lookupAtOnce("127.0.0.1", 4, (err, address, family) => answers.push([err ? "error" : address, family]));
  lookupAtOnce("::1", 6, (err, address, family) => answers.push([err ? "error" : address, family]));
  assert.equal(answers, [["127.0.0.1", 4], ["::1", 6]], "answered before lookupAtOnce returned");
  const name = new Promise<[string, number]>((resolve) => lookupAtOnce("localhost", 4, (err, address, family) => resolve([err ? "error" : address, family])));
  assert.is(answers.length, 2);
  assert.equal(await name, ["127.0.0.1", 4]);
});

test("bindTransport: a send after close is counted, not thrown", async () => {
  const t = await bindTransport(LOOPBACK, () => {});
  await t.close();
  t.send(new Uint8Array([1]), { host: "127.0.0.1", port: 9 });
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.ok(t.sendErrors >= 1, `sendErrors ${t.sendErrors}`);
});

test.run();
