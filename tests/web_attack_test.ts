/**
 * WebSocket attacks on the web listener of a real server in its default
 * configuration (SECURITY.md rows 1–3 of issue 20), scaled to seconds.
 * Attackers connect from 127.0.0.2–127.0.0.9; after each attack a user on
 * 127.0.0.200 must still get the page, a WebSocket login and a UDP login,
 * and the server's memory and open files must stay bounded:
 * 1. a message in endless empty fragments is closed (1009) after 64;
 * 2. clients that do not read (history replies, pongs) are cut off once
 *    their unread output passes the bound; pings (and unsolicited pongs)
 *    past 10 a second close the connection (1008); an HTTP connection with 8 requests unanswered that
 *    pipelines more is closed;
 * 3. WebSockets that leave with a FIN and no close frame, or send a close
 *    frame and never close, are destroyed: the file descriptors come back.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import net from "node:net";
import { OPCODE } from "../lib/net/websocket.ts";
import { sleep, within } from "../testing/cluster_ops.ts";
import { freeTcpPort, removeTempDirs, type ServerHandle, startServer } from "../testing/harness.ts";
import { openFds, rssMiB, runtimePid } from "../testing/proc_stats.ts";
import { clientFrame, legitServed, type RawWebSocket, rawWebSocket } from "../testing/raw_web.ts";

const enc = new TextEncoder();
const LEGIT = "127.0.0.200";
/** Growth of the server's resident memory an attack may cause, MiB (the unread-output bounds allow a few). */
const RSS_SLACK_MIB = 150;

let srv: ServerHandle;
let pid: number;
let rss0: number;
let fds0: number;

test.before(async () => {
  srv = await startServer({ extraArgs: ["--web", `127.0.0.1:${await freeTcpPort()}`] });
  pid = runtimePid(srv.pid);
  await legitServed(srv, LEGIT);
  rss0 = rssMiB(pid);
  fds0 = openFds(pid);
});

/** True once `check` holds, polled until `ms` pass. */
const held = async (ms: number, check: () => boolean) => (await within(ms, () => Promise.resolve(check()))) !== null;

test.after(async () => {
  await srv?.stop();
  removeTempDirs();
});

/** The server is up, a user elsewhere is served, memory stayed bounded. */
async function stillServing(what: string): Promise<void> {
  assert.equal(await legitServed(srv, LEGIT), { page: "200", ws: "ok", udp: "ok" }, `${what}: a user on ${LEGIT} is served`);
  const rss = rssMiB(pid);
  assert.ok(rss < rss0 + RSS_SLACK_MIB, `${what}: RSS ${rss.toFixed(0)} MiB, was ${rss0.toFixed(0)} MiB`);
  // The attackers' connections are closed by now, or within a close's grace.
  assert.ok(await held(5000, () => openFds(pid) <= fds0 + 5), `${what}: ${openFds(pid)} open files, were ${fds0}`);
}

/** The close code of the close frame the server sent, or null. */
function closeCode(ws: RawWebSocket): number | null {
  const f = ws.frames.find((x) => x.opcode === OPCODE.close);
  return f && f.data.length >= 2 ? (f.data[0] << 8) | f.data[1] : null;
}

test("row 1: a message in endless empty fragments is closed with 1009; the server stays up", async () => {
  const ws = await rawWebSocket(srv.web!, { localAddress: "127.0.0.2" });
  assert.is(ws.status, 101);
  ws.write(clientFrame(OPCODE.text, enc.encode("log"), false));
  // 6 bytes each: 200,000 of them (1.2 MB), 10,000 to a write, unless the server closes first.
  const batch = new Uint8Array(6 * 10_000);
  const empty = clientFrame(OPCODE.continuation, new Uint8Array(0), false);
  for (let i = 0; i < 10_000; i++) batch.set(empty, i * 6);
  let ended = false;
  ws.ended.then(() => (ended = true));
  for (let i = 0; i < 20 && !ended && !ws.socket.destroyed; i++) {
    ws.write(batch);
    await sleep(20);
  }
  assert.ok(await held(5000, () => ended), "the server ended the connection");
  assert.is(closeCode(ws), 1009);
  await stillServing("row 1");
});

/** A WebSocket logged in as `names` (one session each) in room `room`, from `localAddress`. */
async function loggedIn(localAddress: string, names: string[], room: string): Promise<{ ws: RawWebSocket; tokens: string[] }> {
  const ws = await rawWebSocket(srv.web!, { localAddress });
  const tokens: string[] = [];
  for (const [i, name] of names.entries()) {
    ws.send(`login\nl${i}\n${name}\n`);
    const token = (await ws.next())!.split("\n")[4];
    ws.send(`open\no${i}\n${token}\n${room}\n`);
    await ws.next();
    ws.send(`connect\nc${i}\n${token}\n${room}\n`);
    await ws.next();
    tokens.push(token);
  }
  return { ws, tokens };
}

test("row 2: clients that never read are cut off (history replies, pongs, pipelined POSTs)", async () => {
  const room = "bigroom";
  const writer = await loggedIn("127.0.0.3", ["filler"], room);
  for (let i = 0; i < 4; i++) {
    writer.ws.send(`add\na${i}\n${writer.tokens[0]}\n${String(i).repeat(1900)}\n${room}\n`);
    assert.match((await writer.ws.next())!, /^ok\n/);
  }
  writer.ws.socket.destroy();
  // 4 connections × 4 sessions × 375 `history` of ~8 KB replies: 12 MB a connection, never read.
  const attackers = await Promise.all([4, 5, 6, 7].map((n) => loggedIn(`127.0.0.${n}`, [1, 2, 3, 4].map((k) => `hog${n}x${k}`), room)));
  const sent = 1500;
  for (const { ws, tokens } of attackers) {
    ws.socket.pause();
    const frames: Uint8Array[] = [];
    for (let i = 0; i < sent; i++) frames.push(clientFrame(OPCODE.text, enc.encode(`history\nh${i}\n${tokens[i % 4]}\n${room}\n10\n`)));
    ws.write(new Uint8Array(frames.flatMap((f) => [...f])));
  }
  // Pings without reading: 5,000 of 125 bytes from a connection that never logged in.
  const pinger = await rawWebSocket(srv.web!, { localAddress: "127.0.0.8" });
  pinger.socket.pause();
  const ping = clientFrame(OPCODE.ping, new Uint8Array(125).fill(7));
  pinger.write(new Uint8Array(Array.from({ length: 5000 }, () => [...ping]).flat()));
  // 200 pipelined POST /dc of `history`, never read: a connection with 8 unanswered is closed.
  const piper = net.connect({ host: "127.0.0.1", port: Number(new URL(srv.web!).port), localAddress: "127.0.0.9" });
  piper.on("error", () => {});
  piper.pause();
  let piperEnded = false;
  piper.on("close", () => (piperEnded = true));
  const post = (body: string) => `POST /dc HTTP/1.1\r\nHost: 127.0.0.1\r\nX-DistChat-Client: piper-0123456789ab\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
  piper.write(Array.from({ length: 200 }, (_, i) => post(`history\np${i}\n${writer.tokens[0]}\n${room}\n10\n`)).join(""));
  await sleep(3000);
  assert.equal(await legitServed(srv, LEGIT), { page: "200", ws: "ok", udp: "ok" }, "row 2 under way: a user is served");
  // Now read what was sent: each connection must end, short of everything asked for.
  piper.resume();
  assert.ok(await held(2000, () => piperEnded), "the pipelining connection was closed (not merely timed out)");
  for (const { ws } of attackers) ws.socket.resume();
  pinger.socket.resume();
  for (const [i, { ws }] of attackers.entries()) {
    assert.ok(await Promise.race([ws.ended.then(() => true), sleep(10_000).then(() => false)]), `history hog ${i} was cut off`);
    assert.ok(ws.received() < sent * 8000, `hog ${i} got ${ws.received()} bytes, less than its ${sent} replies`);
  }
  assert.ok(await Promise.race([pinger.ended.then(() => true), sleep(10_000).then(() => false)]), "the pinger was closed");
  assert.is(closeCode(pinger), 1008);
  assert.ok(pinger.frames.filter((f) => f.opcode === OPCODE.pong).length <= 20, "at most a burst of pongs");
  await stillServing("row 2");
});

test("unsolicited pongs (issue 20 re-run: never closed, RSS 134 → 969 MB) count with pings: past the limit, close 1008; a reserved control opcode, close 1002", async () => {
  const flood = (payload: number, n: number) => {
    const one = clientFrame(OPCODE.pong, new Uint8Array(payload));
    const all = new Uint8Array(one.length * n);
    for (let i = 0; i < n; i++) all.set(one, i * one.length);
    return all;
  };
  // 6-byte pongs (10,000 to a write) and 125-byte ones (2,000), from four addresses, each rewritten until closed (at most 20 times).
  const pongers = await Promise.all([10, 11, 12, 13].map((h) => rawWebSocket(srv.web!, { localAddress: `127.0.0.${h}` })));
  const writes = await Promise.all(pongers.map(async (ws, i) => {
    const batch = i % 2 === 0 ? flood(0, 10_000) : flood(125, 2000);
    let ended = false, n = 0;
    ws.ended.then(() => (ended = true));
    for (; n < 20 && !ended && !ws.socket.destroyed; n++) {
      ws.write(batch);
      await sleep(50);
    }
    return Promise.race([ws.ended.then(() => n), sleep(10_000).then(() => -1)]);
  }));
  assert.ok(writes.every((n) => n >= 1), `each ponger was closed: after ${writes.join(", ")} writes`);
  assert.equal(pongers.map(closeCode), [1008, 1008, 1008, 1008]);
  const odd = await rawWebSocket(srv.web!, { localAddress: "127.0.0.14" });
  odd.write(clientFrame(0xb, new Uint8Array(0)));
  assert.ok(await Promise.race([odd.ended.then(() => true), sleep(5000).then(() => false)]), "a reserved control opcode ends the connection");
  assert.is(closeCode(odd), 1002);
  await stillServing("pongs");
});

test("row 3: a FIN without a close frame, or a close frame and no FIN: the socket is destroyed, the descriptors come back", async () => {
  // 200 WebSockets from one address, each leaving with a FIN alone.
  for (let i = 0; i < 200; i += 50) {
    const batch = await Promise.all(Array.from({ length: 50 }, () => rawWebSocket(srv.web!, { localAddress: "127.0.0.5" })));
    for (const ws of batch) ws.socket.end();
  }
  assert.ok(await held(5000, () => openFds(pid) <= fds0 + 3), `descriptors back after FINs: ${openFds(pid)}, were ${fds0}`);
  // 50 that send a close frame and then neither close nor read: destroyed after the grace period.
  const closers = await Promise.all(Array.from({ length: 50 }, () => rawWebSocket(srv.web!, { localAddress: "127.0.0.6" })));
  for (const ws of closers) ws.write(clientFrame(OPCODE.close, new Uint8Array([0x03, 0xe8])));
  assert.ok(await held(6000, () => openFds(pid) <= fds0 + 3), `descriptors back after close frames: ${openFds(pid)}, were ${fds0}`);
  assert.is(closeCode(closers[0]), 1000, "the close frame was answered");
  for (const ws of closers) ws.socket.destroy();
  // The address that left is not locked out.
  const again = await rawWebSocket(srv.web!, { localAddress: "127.0.0.5" });
  assert.is(again.status, 101);
  again.socket.destroy();
  await stillServing("row 3");
});

test.run();
