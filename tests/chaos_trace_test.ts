/**
 * The chaos run's trace of its slowest listings (testing/chaos_trace.ts,
 * `npm run chaos -- --trace`): a confirmer's phase at each moment, and the
 * lines it prints, from made-up restarts and listings.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { type Listed, phaseAt, type Restart, traceRestartedListings, traceSlowest } from "../testing/chaos_trace.ts";

const T = 1_000_000;
const restart: Restart = { killed: T, back: T + 2400, writes: T + 4400 };

test("phaseAt: up, dead for the harness's wait, starting until the start line, rejoining until it took writes, then up", () => {
  assert.equal([T - 1, T, T + 999, T + 1000, T + 2399, T + 2400, T + 4399, T + 4400].map((t) => phaseAt([restart], t)), [
    "up", "dead", "dead", "starting", "starting", "rejoining", "rejoining", "up",
  ]);
  assert.is(phaseAt([], T), "up");
});

test("traceSlowest: each slow listing's confirmer (or that of the copy heading the poll that listed it) and its phases; the summary counts those listed just after that confirmer took writes", () => {
  const listed: Listed[] = [
    { id: "a.1", text: "c0 line 1", at: T + 100, listedAt: T + 4450, lastServer: "e" },
    { id: "a.2", text: "c0 line 2", at: T + 5000, listedAt: T + 5300, lastServer: "c" },
    { id: "c.1", text: "c1 line 1", at: T + 100, listedAt: T + 4450, lastServer: "e", head: "a.1" },
  ];
  const lines = traceSlowest({ listed, restarts: new Map([["b", [restart]]]), confOf: new Map([["a.1", "b"], ["a.2", "b"], ["c.1", "d"]]), slowest: 2 });
  assert.equal(lines, [
    'trace: a.1 "c0 line 1" listed 4350 ms after its ack (last at e); confirmer b: dead → starting → rejoining → up; listed 50 ms after b took writes',
    'trace: c.1 "c1 line 1" listed 4350 ms after its ack (last at e); held by a.1, its confirmer b: dead → starting → rejoining → up; listed 50 ms after b took writes',
    "trace: 2 listing(s) slower than 1500 ms on the servers not killed (1 held by another copy); the confirmer of the copy that held each, just before the listing: " +
    "up 0, dead 0, starting 0, rejoining 2; listed within 300 ms after their confirmer took writes: 2; confirmer restarted meanwhile: 2; " +
    "last listed at the confirmer's far server (its `got` every gotAllEveryMs) with the confirmer up all along: 0 of 0",
  ]);
});

test("traceSlowest with the servers' ids: a listing last at its confirmer's far server (the one after it in the ring, not among the near ones) is marked and counted", () => {
  const listed: Listed[] = [
    { id: "a.1", text: "c0 line 1", at: T, listedAt: T + 2000, lastServer: "c" }, // b's far server: b's near ones are d, e, a
    { id: "a.2", text: "c0 line 2", at: T, listedAt: T + 1900, lastServer: "d" },
    { id: "a.3", text: "c0 line 3", at: T, listedAt: T + 1800, lastServer: "c", head: "a.1" },
  ];
  const lines = traceSlowest({ listed, ids: ["a", "b", "c", "d", "e"], restarts: new Map(), confOf: new Map([["a.1", "b"], ["a.2", "b"], ["a.3", "b"]]), slowest: 2 });
  assert.equal(lines.slice(0, 2), [
    `trace: a.1 "c0 line 1" listed 2000 ms after its ack (last at c, the confirmer's far server); confirmer b: up`,
    'trace: a.2 "c0 line 2" listed 1900 ms after its ack (last at d); confirmer b: up',
  ]);
  assert.ok(lines[2].endsWith("with the confirmer up all along: 2 of 3"), lines[2]);
});

test("traceRestartedListings: of the listings on all servers slower than 2 s, those last listed by a server restarted meanwhile, timed from its spawn and from its start line", () => {
  const listed = [
    { at: T - 500, listedAt: T + 1800, lastServer: "b" }, // b killed at T, spawned at T + 1000: 800 after the spawn, 600 before its start line
    { at: T - 100, listedAt: T + 2900, lastServer: "b" }, // 1,900 after the spawn, 500 after the start line
    { at: T, listedAt: T + 2500, lastServer: "c" }, // slow, but c was not restarted
    { at: T + 2000, listedAt: T + 4100, lastServer: "b" }, // acked while b was starting (down): 3,100 after the spawn, 1,700 after its start line
    { at: T, listedAt: T + 1500, lastServer: "b" }, // not slow
  ];
  assert.is(
    traceRestartedListings(listed, new Map([["b", [{ ...restart, listening: T + 1300 }]]])),
    "trace: 4 listing(s) on all servers slower than 2000 ms; 3 last listed by a server down at the ack or killed after it, and restarted: " +
      "listed after its spawn p50/p90/max 1900 / 3100 / 3100 ms, after its start line 500 / 1700 / 1700 ms (1 before it), after its listening line 1600 / 2800 / 2800 ms (1 of them 1.35–1.7 s after it)",
  );
});

test.run();
