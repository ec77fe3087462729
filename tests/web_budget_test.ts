/**
 * The web listener's limits in memory, time moved by hand: the connection
 * budget and its fair eviction (lib/web/connection_budget.ts), the
 * deadlines, FINs and unread-output bounds of lib/web/connections.ts
 * on stand-in sockets, the Host allow-list (lib/web/hosts.ts), CIDR
 * ranges (lib/wire/cidr.ts), the file limit and the flags that set them.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { EventEmitter } from "node:events";
import type { Socket } from "node:net";
import { ConnectionBudget } from "../lib/web/connection_budget.ts";
import { MAX_IN_FLIGHT, WebConnections } from "../lib/web/connections.ts";
import { DEFAULT_WEB_LIMITS, webConnectionTotal } from "../lib/config/limits.ts";
import { WebHosts } from "../lib/web/hosts.ts";
import { hostName } from "../lib/wire/cidr.ts";
import { AddressRanges, LOOPBACK_RANGES, parseCidr } from "../lib/wire/cidr.ts";
import { parseFileLimit } from "../lib/platform/file_limit.ts";
import { parseServerFlags, webListenAddress } from "../lib/config/server_flags.ts";
import { ManualClock } from "../testing/manual_clock.ts";

test("budget: per address, in all, and a full listener takes a newcomer at the busiest address's expense", () => {
  const b = new ConnectionBudget<string>({ perAddress: 3, total: 6 });
  for (const c of ["a1", "a2", "a3"]) (assert.equal(b.admit("A"), { admit: true }), b.add("A", c));
  assert.equal(b.admit("A"), { admit: false, reason: "address" });
  for (const c of ["b1", "b2", "b3"]) (assert.equal(b.admit("B"), { admit: true }), b.add("B", c));
  // Full: C (none) takes A's oldest; then B's; then nobody holds two more than C.
  const first = b.admit("C");
  assert.ok(first.admit && (first.evict === "a1" || first.evict === "b1"), JSON.stringify(first));
  b.remove(first.admit && first.evict!.startsWith("a") ? "A" : "B", (first as { evict: string }).evict);
  b.add("C", "c1");
  const second = b.admit("C");
  assert.ok(second.admit && second.evict !== undefined && !second.evict.startsWith("c"));
  b.remove(second.evict!.startsWith("a") ? "A" : "B", second.evict!);
  b.add("C", "c2");
  assert.equal(b.admit("C"), { admit: false, reason: "total" }, "A and B hold 2 each, C 2: nobody is evicted for C");
  assert.is(b.size, 6);
  b.remove("C", "c1");
  b.remove("C", "c1");
  assert.is(b.size, 5, "removing twice counts once");
  assert.equal(b.admit("C"), { admit: true });
});

test("budget: the busiest address is tracked as counts rise and fall", () => {
  const b = new ConnectionBudget<number>({ perAddress: Infinity, total: 10 });
  for (let i = 0; i < 7; i++) b.add("A", i);
  for (let i = 0; i < 3; i++) b.add("B", 10 + i);
  for (let i = 0; i < 5; i++) b.remove("A", i); // A 2, B 3
  const a = b.admit("C");
  assert.ok(a.admit && a.evict === undefined, "5 of 10: room left");
  for (let i = 0; i < 5; i++) b.add("D", 20 + i); // D 5
  const e = b.admit("C");
  assert.equal(e, { admit: true, evict: 20 }, "D is now the busiest");
});

/** A stand-in for a TCP socket: events, an address, destroy() and a writable length set by the test. */
class FakeSocket extends EventEmitter {
  static next = 1000;
  remoteAddress: string;
  remotePort = FakeSocket.next++;
  destroyed = false;
  writableEnded = false;
  writableLength = 0;
  constructor(ip: string) {
    super();
    this.remoteAddress = ip;
  }
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.emit("close");
  }
}
const sock = (ip: string) => new FakeSocket(ip) as unknown as Socket & FakeSocket;

test("connections: over budget closed at once; no request within idleMs closed; requests, held responses and WebSockets keep theirs", () => {
  const clock = new ManualClock();
  const dropped: string[] = [];
  const conns = new WebConnections({ limits: { ...DEFAULT_WEB_LIMITS, perAddress: 2, total: 3, idleMs: 1000, wsIdleMs: 5000 }, clock, count: (r) => dropped.push(r) });
  const [a1, a2, a3, b1] = [sock("::ffff:10.0.0.1"), sock("10.0.0.1"), sock("10.0.0.1"), sock("10.0.0.2")];
  for (const s of [a1, a2, a3, b1]) conns.accept(s);
  assert.ok(a3.destroyed, "a third of one address is refused");
  assert.ok(!a1.destroyed && !a2.destroyed && !b1.destroyed, "::ffff:10.0.0.1 counts as 10.0.0.1");
  assert.is(conns.size, 3);
  // A request on a1 whose response is then held; b1 becomes a WebSocket; a2 stays idle.
  conns.requestStarted(a1);
  conns.requestHeld(a1);
  let expired = 0;
  conns.webSocket(b1, () => expired++);
  clock.advance(1500);
  assert.ok(a2.destroyed, "idle a2 closed");
  assert.ok(!a1.destroyed && !b1.destroyed);
  conns.responseDone(a1);
  clock.advance(900);
  assert.ok(!a1.destroyed, "idle time starts at the response");
  clock.advance(600);
  assert.ok(a1.destroyed, "then a1 is idle too long");
  conns.touched(b1);
  clock.advance(4000);
  assert.is(expired, 0);
  clock.advance(2000);
  assert.is(expired, 1, "a silent WebSocket is told to go");
  clock.advance(3000);
  assert.ok(b1.destroyed, "and destroyed after the grace");
  assert.equal(dropped.sort(), ["conn-refused-address", "timeout", "timeout", "ws-idle"]);
  assert.is(conns.size, 0);
  conns.close();
});

test("connections: a head or body that takes too long; pipelining; a WebSocket's FIN; unread output past the bounds", () => {
  const clock = new ManualClock();
  const dropped: string[] = [];
  const conns = new WebConnections({ limits: { ...DEFAULT_WEB_LIMITS, idleMs: 1000, maxUnread: 100_000, maxUnreadTotal: 150_000 }, clock, count: (r) => dropped.push(r) });
  const slow = sock("10.0.0.1");
  conns.accept(slow);
  conns.requestStarted(slow); // its body never ends
  clock.advance(1500);
  assert.ok(slow.destroyed, "a body that does not come is closed");
  const piped = sock("10.0.0.7");
  conns.accept(piped);
  for (let i = 0; i < MAX_IN_FLIGHT; i++) assert.ok(conns.requestStarted(piped));
  assert.is(conns.requestStarted(piped), false, "one more unanswered request than MAX_IN_FLIGHT");
  assert.ok(piped.destroyed);
  const ws = sock("10.0.0.2");
  conns.accept(ws);
  conns.webSocket(ws, () => {});
  ws.emit("end");
  assert.ok(ws.destroyed, "a FIN destroys a WebSocket");
  const [x, y, z] = [sock("10.0.0.3"), sock("10.0.0.4"), sock("10.0.0.5")];
  for (const s of [x, y, z]) conns.accept(s);
  x.writableLength = 100_001;
  assert.is(conns.wrote(x), false, "past its own bound");
  assert.ok(x.destroyed);
  y.writableLength = 90_000;
  assert.is(conns.wrote(y), true);
  z.writableLength = 70_000;
  assert.is(conns.wrote(z), false, "past the bound of all together");
  y.writableLength = 0;
  y.emit("drain");
  const w = sock("10.0.0.6");
  conns.accept(w);
  w.writableLength = 90_000;
  assert.is(conns.wrote(w), true, "a drained socket no longer counts");
  assert.equal(dropped, ["timeout", "pipelined", "cut-unread", "cut-unread"]);
  conns.close();
});

test("hosts: servers.txt names, --web-host, the listen address, IPs, localhost on loopback; nothing else", () => {
  const h = new WebHosts({ listen: "127.0.0.1", names: ["chat.example.org"], origins: ["https://a.example.org:8443"], tls: false });
  for (const ok of ["chat.example.org", "CHAT.example.org:80", "a.example.org:8443", "localhost:8001", "127.0.0.1:8001", "203.0.113.9", "[::1]:8001", "chat.example.org."]) {
    assert.ok(h.allows(ok), ok);
  }
  for (const no of [undefined, "", "evil.example", "evil.example:8001", "chat.example.org.evil.example", "localhost@evil", "[evil]", "127.0.0.1 evil"]) {
    assert.not.ok(h.allows(no), String(no));
  }
  assert.not.ok(new WebHosts({ listen: "192.0.2.7", names: [], origins: [], tls: false }).allows("localhost"), "not on loopback");
  assert.ok(new WebHosts({ listen: "0.0.0.0", names: [], origins: [], tls: false }).allows("localhost"), "every interface includes loopback");
  assert.ok(h.originAllowed(undefined, "x"));
  assert.ok(h.originAllowed("https://a.example.org:8443", "chat.example.org"));
  assert.ok(h.originAllowed("http://chat.example.org:8001", "chat.example.org:8001"));
  assert.not.ok(h.originAllowed("https://chat.example.org:8001", "chat.example.org:8001"), "another scheme");
  assert.not.ok(h.originAllowed("http://evil.example", "chat.example.org"));
  assert.is(hostName("[2001:DB8::1]:443"), "[2001:db8::1]");
  assert.is(hostName("[not-v6]"), null);
});

test("CIDR ranges, the default of --metrics-allow, and IPv4-mapped addresses", () => {
  const loop = new AddressRanges(LOOPBACK_RANGES.map(parseCidr));
  for (const a of ["127.0.0.1", "127.200.0.9", "::1", "::ffff:127.0.0.1"]) assert.ok(loop.has(a), a);
  for (const a of ["10.0.0.1", "::2", "garbage", ""]) assert.not.ok(loop.has(a), a);
  const lan = new AddressRanges([parseCidr("10.0.0.0/8"), parseCidr("2001:db8::/32"), parseCidr("192.0.2.7")]);
  assert.ok(lan.has("10.9.9.9") && lan.has("2001:db8:1::5") && lan.has("192.0.2.7"));
  assert.not.ok(lan.has("192.0.2.8"));
  for (const bad of ["10.0.0.0/33", "::/129", "10.0.0/8", "10.0.0.0/x", "a/b/c", ""]) assert.throws(() => parseCidr(bad), undefined, bad);
});

test("flags: --web-host, --metrics-allow, the connection budgets and timeout; the file limit", () => {
  const f = parseServerFlags(["--id", "a", "--web", "127.0.0.1:8001", "--web-host", "Chat.Example.org", "--metrics-allow", "10.0.0.0/8", "--web-connections-per-ip", "0", "--web-timeout", "3"]);
  assert.equal(f.webHosts, ["chat.example.org"]);
  assert.equal(f.metricsAllow.map((c) => `${c.address}/${c.prefix}`), ["10.0.0.0/8"]);
  assert.is(f.webConnectionsPerIp, Infinity);
  assert.is(f.webConnections, null);
  assert.is(f.webTimeout, 3);
  const d = parseServerFlags(["--id", "a", "--web", "127.0.0.1:8001"]);
  assert.equal(d.metricsAllow.map((c) => `${c.address}/${c.prefix}`), ["127.0.0.0/8", "::1/128"]);
  assert.is(d.webConnectionsPerIp, 256);
  assert.is(d.webTimeout, 10);
  // Without --web, a web flag needs the listener the servers file gives (lib/config/server_flags.ts webListenAddress).
  const noWeb = parseServerFlags(["--id", "a", "--web-host", "chat.example.org"]);
  assert.throws(() => webListenAddress(noWeb, undefined), /--web-host needs --web HOST:PORT/, "no web URL in the servers file");
  assert.equal(webListenAddress(noWeb, "http://127.0.0.1:8001"), { host: "127.0.0.1", port: 8001 });
  for (const bad of [["--no-web", "--web-host", "evil.example"], ["--web", "127.0.0.1:1", "--web-host", "x.org:80"], ["--web", "127.0.0.1:1", "--web-host", "http://x.org"], ["--web", "127.0.0.1:1", "--metrics-allow", "10/8"], ["--web", "127.0.0.1:1", "--web-timeout", "0"]]) {
    assert.throws(() => parseServerFlags(["--id", "a", ...bad]), undefined, bad.join(" "));
  }
  assert.is(parseFileLimit("Limit  Soft Limit  Hard Limit  Units\nMax open files            20000                20000                files     \n"), 20000);
  assert.is(parseFileLimit("Max open files            unlimited            unlimited            files     \n"), null);
  assert.is(webConnectionTotal(20000), 10_000);
  assert.is(webConnectionTotal(1024), 512);
  assert.is(webConnectionTotal(1_000_000), 10_000);
  assert.is(webConnectionTotal(null), 1024);
});

test.run();
