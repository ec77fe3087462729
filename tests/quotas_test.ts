/**
 * The quotas (lib/server/quotas.ts) and the free-disk floor
 * (lib/server/disk_floor.ts) on an injected clock: windows that reset,
 * sessions that stop counting when they end, one log line per change.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { DEFAULT_QUOTAS, Quotas } from "../lib/server/quotas.ts";
import { watchDiskFloor } from "../lib/server/disk_floor.ts";
import type { Request } from "../lib/wire/messages.ts";
import { ManualClock } from "../testing/manual_clock.ts";

const login = (n: number): Request => ({ verb: "login", tag: `l${n}`, userName: `u${n}` });
const add = (msg: string): Request => ({ verb: "add", tag: "a", token: "t".repeat(20), groupName: "r", msg });

test("logins per address per minute: the window resets; another address has its own", () => {
  const q = new Quotas({ ...DEFAULT_QUOTAS, loginsPerIpPerMinute: 2 }, () => true);
  for (let i = 0; i < 2; i++) {
    assert.is(q.refusal(login(i), "10.0.0.1", "", 0), null);
    q.note(login(i), "10.0.0.1", `s${i}`, 0);
  }
  assert.match(q.refusal(login(3), "10.0.0.1", "", 59_999) ?? "", /more than 2 logins a minute/);
  assert.is(q.refusal(login(3), "10.0.0.2", "", 59_999), null);
  assert.is(q.refusal(login(3), "10.0.0.1", "", 60_000), null);
  assert.equal(q.refused, { logins: 1 });
});

test("live sessions per address: ended ones stop counting", () => {
  const live = new Set(["s0", "s1", "s2"]);
  const q = new Quotas({ ...DEFAULT_QUOTAS, sessionsPerIp: 3 }, (s) => live.has(s));
  for (let i = 0; i < 3; i++) q.note(login(i), "10.0.0.1", `s${i}`, i * 60_000);
  assert.match(q.refusal(login(4), "10.0.0.1", "", 200_000) ?? "", /more than 3 live sessions/);
  live.delete("s1");
  assert.is(q.refusal(login(4), "10.0.0.1", "", 200_000), null);
});

test("message bytes per session per minute, counted in UTF-8", () => {
  const q = new Quotas({ ...DEFAULT_QUOTAS, msgBytesPerSessionPerMinute: 10 }, () => true);
  q.note(add("ééé"), "ip", "s", 0); // 6 bytes
  assert.is(q.refusal(add("abcd"), "ip", "s", 1), null);
  assert.match(q.refusal(add("abcde"), "ip", "s", 1) ?? "", /more than 10 bytes of messages a minute/);
  assert.is(q.refusal(add("abcde"), "ip", "other", 1), null);
  assert.is(q.refusal(add("abcde"), "ip", "s", 60_000), null);
});

test("rooms per session and per address per hour", () => {
  const open = (n: number): Request => ({ verb: "open", tag: `o${n}`, token: "t".repeat(20), groupName: `r${n}` });
  const q = new Quotas({ ...DEFAULT_QUOTAS, roomsPerSession: 2, roomsPerIpPerHour: 3 }, () => true);
  q.note(open(1), "ip", "s", 0);
  q.note(open(2), "ip", "s", 0);
  assert.match(q.refusal(open(3), "ip", "s", 0) ?? "", /more than 2 rooms created by this session/);
  q.note(open(3), "ip", "s2", 0);
  assert.match(q.refusal(open(4), "ip", "s3", 0) ?? "", /more than 3 rooms an hour/);
  assert.is(q.refusal(open(4), "ip", "s3", 3_600_000), null);
});

test("writes without a quota of their own share one per session and one per address; unchanged ones and other verbs do not count", () => {
  const q = new Quotas({ ...DEFAULT_QUOTAS, writesPerSessionPerMinute: 2, writesPerIpPerMinute: 3 }, () => true);
  const t = "t".repeat(20);
  const mod: Request = { verb: "mod", tag: "m", token: t, groupName: "r", action: "topic", target: "-", text: "x" };
  const connect: Request = { verb: "connect", tag: "c", token: t, groupName: "r" };
  const drop: Request = { verb: "drop", tag: "d", userName: "zed", proof: "c=biws,r=x,p=y", verifier: null };
  q.note(connect, "ip", "s", 0, false); // a connect to a room the session is in
  q.note(mod, "ip", "s", 0);
  assert.is(q.refusal(connect, "ip", "s", 0), null);
  q.note(connect, "ip", "s", 0);
  assert.match(q.refusal(mod, "ip", "s", 0) ?? "", /more than 2 changes a minute .* from this session/);
  assert.is(q.refusal(mod, "ip", "s2", 0), null);
  q.note(drop, "ip", "", 0); // no session: the address counts it
  assert.match(q.refusal(drop, "ip", "", 0) ?? "", /more than 3 changes a minute .* from this address/);
  assert.is(q.refusal(add("hi"), "ip", "s", 0), null, "adds have their own quota");
  assert.is(q.refusal(mod, "ip", "s", 60_000), null, "a new minute");
  assert.equal(q.refused, { writes: 2 });
});

test("the disk floor: low below the floor, one log line each way, looked at every 2 s", () => {
  const clock = new ManualClock();
  const logs: string[] = [];
  let free = 500 << 20;
  const floor = watchDiskFloor({ dir: "/x", minBytes: 256 << 20, clock, log: (l) => void logs.push(l), free: () => free });
  assert.is(floor.low(), false);
  free = 100 << 20;
  clock.advance(1999);
  assert.is(floor.low(), false);
  clock.advance(1);
  assert.is(floor.low(), true);
  clock.advance(10_000);
  assert.is(logs.length, 1);
  assert.match(logs[0], /disk nearly full: 100 MiB free under \/x, below the floor of 256 MiB/);
  free = 300 << 20;
  clock.advance(2000);
  assert.is(floor.low(), false);
  assert.match(logs[1], /disk has room again/);
  floor.stop();
  const off = watchDiskFloor({ dir: "/x", minBytes: 0, clock, log: () => {}, free: () => 0 });
  assert.is(off.low(), false);
});

test.run();
