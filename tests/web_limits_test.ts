/**
 * Connection budgets and timeouts of the web listener against real server
 * processes (SECURITY.md rows 4 and 5 of issue 20), scaled to seconds with
 * `--web-timeout 1` and a small `--web-connections`:
 * 4. idle TCP connections from two addresses (no request, a head sent byte
 *    by byte, a body that never ends, a kept-alive connection left idle):
 *    at most 256 of one address are held, and all are closed after the
 *    timeout;
 * 5. many addresses each under the per-address cap fill the listener: it
 *    holds no more than its budget, and a user from another address still
 *    gets in (the busiest address gives way) and stays in.
 * Each time a user on 127.0.0.200 gets the page, a WebSocket login and a
 * UDP login, and the server's open files stay bounded.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import net from "node:net";
import { sleep, within } from "../testing/cluster_ops.ts";
import { freeTcpPort, removeTempDirs, startServer } from "../testing/harness.ts";
import { openFds, rssMiB, runtimePid } from "../testing/proc_stats.ts";
import { legitServed, rawGet, rawWebSocket } from "../testing/raw_web.ts";

const LEGIT = "127.0.0.200";
const SERVED = { page: "200", ws: "ok", udp: "ok" };
/** Growth of the server's resident memory the attack may cause, MiB (a connection costs ~12 KiB). */
const RSS_SLACK_MIB = 100;

/** True once `check` holds, polled until `ms` pass. */
const held = async (ms: number, check: () => boolean) => (await within(ms, () => Promise.resolve(check()))) !== null;

test.after(removeTempDirs);

/** A TCP connection from `localAddress` to `port`; resolves once connected (or failed), with whether it has closed since. */
function tcp(port: number, localAddress: string): Promise<{ socket: net.Socket; closed: () => boolean }> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port, localAddress });
    let closed = false;
    socket.on("error", () => {});
    socket.on("close", () => (closed = true));
    socket.on("connect", () => resolve({ socket, closed: () => closed }));
    socket.on("close", () => resolve({ socket, closed: () => true }));
  });
}

test("row 4: idle connections from two addresses: 256 each held at most, every one closed after --web-timeout", async () => {
  const port = await freeTcpPort();
  const srv = await startServer({ extraArgs: ["--web", `127.0.0.1:${port}`, "--web-timeout", "1"] });
  const conns: { socket: net.Socket; closed: () => boolean }[] = [];
  try {
    const pid = runtimePid(srv.pid);
    const fds0 = openFds(pid);
    const rss0 = rssMiB(pid);
    for (const from of ["127.0.0.2", "127.0.0.3"]) {
      for (let i = 0; i < 600; i += 100) conns.push(...await Promise.all(Array.from({ length: 100 }, () => tcp(port, from))));
    }
    // (Refused connections are closed at once; their descriptors go within moments.)
    assert.ok(await held(2000, () => openFds(pid) <= fds0 + 2 * 256 + 10), `at most 256 of each address held: ${openFds(pid) - fds0} more descriptors`);
    // Others the server holds too: a head sent a byte at a time, a body that stops, a kept-alive connection left idle.
    const slow = await Promise.all(Array.from({ length: 10 }, () => tcp(port, "127.0.0.4")));
    for (const c of slow) c.socket.write("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    const dribble = setInterval(() => slow.forEach((c) => c.socket.write("X")), 200);
    const stalled = await tcp(port, "127.0.0.5");
    stalled.socket.write("POST /dc HTTP/1.1\r\nHost: 127.0.0.1\r\nX-DistChat-Client: 0123456789abcdef\r\nContent-Length: 100\r\n\r\nlogin\n");
    const kept = await tcp(port, "127.0.0.6");
    kept.socket.write("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    kept.socket.resume();
    assert.equal(await legitServed(srv, LEGIT), SERVED, "a user elsewhere is served meanwhile");
    try {
      assert.ok(await held(5000, () => conns.every((c) => c.closed())), `idle connections closed: ${conns.filter((c) => !c.closed()).length} open`);
      assert.ok(await held(3000, () => slow.every((c) => c.closed())), "heads sent byte by byte are closed");
    } finally {
      clearInterval(dribble);
    }
    assert.ok(await held(3000, stalled.closed), "a body that stopped is closed");
    assert.ok(await held(3000, kept.closed), "an idle kept-alive connection is closed");
    assert.ok(await held(3000, () => openFds(pid) <= fds0 + 3), `descriptors back: ${openFds(pid)}, were ${fds0}`);
    assert.equal(await legitServed(srv, LEGIT), SERVED);
    assert.is((await rawGet(srv.web!, "/", { localAddress: "127.0.0.2" })).status, 200, "the attacker's address is not locked out afterwards");
    assert.ok(rssMiB(pid) < rss0 + RSS_SLACK_MIB, `RSS ${rssMiB(pid).toFixed(0)} MiB, was ${rss0.toFixed(0)}`);
  } finally {
    for (const c of conns) c.socket.destroy();
    await srv.stop();
  }
});

test("row 5: ten addresses of 64 WebSockets against a budget of 300: it holds, and a user from elsewhere gets in and stays", async () => {
  const srv = await startServer({
    extraArgs: ["--web", `127.0.0.1:${await freeTcpPort()}`, "--web-connections", "300", "--web-connections-per-ip", "64"],
  });
  const open: { socket: net.Socket }[] = [];
  try {
    const pid = runtimePid(srv.pid);
    const fds0 = openFds(pid);
    const rss0 = rssMiB(pid);
    const wave = async () => {
      for (let a = 10; a < 20; a++) {
        const got = await Promise.allSettled(Array.from({ length: 64 }, () => rawWebSocket(srv.web!, { localAddress: `127.0.0.${a}`, timeoutMs: 5000 })));
        for (const g of got) if (g.status === "fulfilled") open.push(g.value);
      }
    };
    await wave();
    assert.ok(await held(2000, () => openFds(pid) <= fds0 + 300 + 10), `the budget holds: ${openFds(pid) - fds0} more descriptors`);
    assert.equal(await legitServed(srv, LEGIT), SERVED, "a user elsewhere gets in");
    // The user keeps a WebSocket open through a second wave: the busiest addresses give way, not it.
    const user = await rawWebSocket(srv.web!, { localAddress: "127.0.0.201" });
    assert.is(user.status, 101);
    await wave();
    user.send("login\n1\nstayer\n");
    assert.match((await user.next(5000)) ?? "closed", /^ok\n1\nlogin\nstayer\n/);
    assert.ok(await held(2000, () => openFds(pid) <= fds0 + 300 + 10), `still within the budget: ${openFds(pid) - fds0} more descriptors`);
    assert.ok(rssMiB(pid) < rss0 + RSS_SLACK_MIB, `RSS ${rssMiB(pid).toFixed(0)} MiB, was ${rss0.toFixed(0)}`);
    user.socket.destroy();
  } finally {
    for (const c of open) c.socket.destroy();
    await srv.stop();
  }
});

test.run();
