/**
 * No amplifier (docs/PROTOCOL.md "Proven addresses"), over real UDP: from
 * an address that never received a login reply, every verb — lists, polls
 * of a long backlog, malformed datagrams — gets back at most 3× the bytes it
 * sent, counted with 28 bytes of UDP/IP headers per datagram. The address
 * that logged in is proven and gets full pages; an unproven client still
 * reads the whole backlog (smaller pages), and the slowdown is printed.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { removeTempDirs, type ServerHandle, startServer, type UdpClient, udpClient } from "../testing/harness.ts";
import { readAll } from "../testing/cluster_ops.ts";
import { lines } from "../testing/harness.ts";

const WIRE = 28;
let srv: ServerHandle;
let owner: UdpClient;
let token = "";

test.before(async () => {
  srv = await startServer({ id: "amp", extraArgs: ["--quota", "rooms-per-session=0", "--quota", "rooms-per-ip-hour=0", "--quota", "message-bytes-per-minute=0"] });
  owner = await udpClient();
  token = (await owner.request(srv.clientAddr, lines("login", "l1", "owner"))).split("\n")[4];
  for (let i = 0; i < 300; i++) await owner.request(srv.clientAddr, lines("open", `o${i}`, token, `room_with_a_long_name_${i}`));
  for (let i = 0; i < 400; i++) await owner.request(srv.clientAddr, lines("add", `a${i}`, token, `message ${i} `.padEnd(120, "x"), "room_with_a_long_name_0"));
});

test.after(async () => {
  await owner?.close();
  await srv?.stop();
  removeTempDirs();
});

/** Sends `datagrams` from a fresh address; returns bytes sent and received on the wire. */
async function exchange(host: string, datagrams: string[]): Promise<{ sent: number; got: number; replies: string[] }> {
  const u = await udpClient(host);
  try {
    let sent = 0, got = 0;
    const replies: string[] = [];
    for (const d of datagrams) {
      u.send(srv.clientAddr, d);
      sent += new TextEncoder().encode(d).length + WIRE;
      for (let r = await u.next(300); r; r = await u.next(50)) {
        got += r.bytes.length + WIRE;
        replies.push(r.text);
      }
    }
    return { sent, got, replies };
  } finally {
    await u.close();
  }
}

test("from an unproven address every verb gets at most 3x the bytes it sent", async () => {
  const cases: Record<string, string[]> = {
    rooms: [lines("rooms", "r1", token)],
    "request, cursor 0, long backlog": [lines("request", "p1", token, "room_with_a_long_name_0", "0")],
    who: [lines("who", "w1", token, "room_with_a_long_name_0")],
    "history, newest 1000": [lines("history", "h1", token, "room_with_a_long_name_0", 1000)],
    malformed: ["x", "\n", lines("rooms", "r2")],
    "many small requests": Array.from({ length: 20 }, (_, i) => lines("rooms", `m${i}`, token)),
  };
  let host = 20;
  for (const [name, datagrams] of Object.entries(cases)) {
    const r = await exchange(`127.0.0.${host++}`, datagrams);
    assert.ok(r.got <= 3 * r.sent, `${name}: ${r.got} bytes back for ${r.sent}`);
    assert.ok(r.replies.length > 0 || name === "malformed", `${name}: no reply at all`);
    console.log(`    ${name}: ${r.sent} B sent, ${r.got} B back (${(r.got / r.sent).toFixed(2)}×)`);
  }
  // The proven address (it received the login reply) gets full pages.
  const full = await owner.request(srv.clientAddr, lines("rooms", "r9", token));
  assert.ok(full.length > 7000, `owner's page: ${full.length} bytes`);
});

test("an unproven client still reads the whole backlog, in smaller pages", async () => {
  const t0 = performance.now();
  const proven = await readAll(owner, srv.clientAddr, token, "room_with_a_long_name_0");
  const provenMs = performance.now() - t0;
  const stranger = await udpClient("127.0.0.40");
  try {
    const t1 = performance.now();
    const slow = await readAll(stranger, srv.clientAddr, token, "room_with_a_long_name_0");
    const slowMs = performance.now() - t1;
    assert.is(slow.ids.length, 400);
    assert.equal(slow.ids, proven.ids);
    console.log(`    400 messages of 120 B: proven address ${provenMs.toFixed(0)} ms, unproven ${slowMs.toFixed(0)} ms`);
  } finally {
    await stranger.close();
  }
});

test.run();
