import { test } from "uvu";
import * as assert from "uvu/assert";
import { formatStatusTable, parseReport, type StatusReport } from "../lib/server/status.ts";
import { parseServers } from "../lib/config/servers_file.ts";

const servers = parseServers("a 127.0.0.1:7001 127.0.0.1:7101\nb 127.0.0.1:7002 127.0.0.1:7102\n", "servers.txt");
const report = (id: string, vector: string): StatusReport => ({
  id,
  runtime: "node 24",
  uptimeMs: 12_300,
  vector,
  messages: 3,
  sessions: 1,
  heldPolls: 0,
  heldAcks: 4,
  gapsPending: 0,
  peers: { b: { lastHeardMsAgo: 400, vector } },
  dropped: { "bad-mac": 2, stale: 0 },
  sent: 10,
  received: 9,
  fanout: "unicast",
  keyed: true,
});

test("a down server is marked DOWN and counted", () => {
  const out = formatStatusTable(servers, new Map([["a", report("a", "a=3")]]));
  assert.match(out, /^a\s+127\.0\.0\.1:7101\s+up 12\.3s\s+1\s+a=3\s+3\s+1\s+0\s+4\s+0\s+b:0\.4s\s+bad-mac=2$/m);
  assert.match(out, /^b\s+127\.0\.0\.1:7102\s+DOWN/m);
  assert.match(out, /1\/2 up; all hold the same messages$/);
});

test("the protocol column: a server's version and the one all its peers speak; 1 for a server before version 2", () => {
  const out = formatStatusTable(servers, new Map([["a", { ...report("a", "a=3"), protocol: 2, sharedProtocol: 1 }], ["b", report("b", "a=3")]]));
  assert.match(out, /^a\s+127\.0\.0\.1:7101\s+up 12\.3s\s+2\/1\s+a=3/m);
  assert.match(out, /^b\s+127\.0\.0\.1:7102\s+up 12\.3s\s+1\s+a=3/m);
});

test("differing vectors are called out", () => {
  const out = formatStatusTable(servers, new Map([["a", report("a", "a=3")], ["b", report("b", "a=2")]]));
  assert.match(out, /2\/2 up; vectors differ/);
});

test("strings from the network reach the terminal escaped; odd shapes do not crash the table", () => {
  const evil = { ...report("a", "a=3\x1b[2J"), dropped: { "\u202eevil\x07": 1 } };
  const odd = { ...report("b", "a=3"), peers: null, dropped: "x" } as unknown as StatusReport;
  const out = formatStatusTable(servers, new Map([["a", evil], ["b", odd]]));
  assert.not.match(out, /[\x00-\x08\x0b-\x1f\x7f\u202e]/);
  assert.match(out, /a=3\\x1b\[2J/);
  assert.match(out, /\\u202eevil\\x07=1/);
  assert.match(out, /^b\s+127\.0\.0\.1:7102\s+up/m);
});

test("parseReport rejects what is not a report", () => {
  assert.is(parseReport("{"), null);
  assert.is(parseReport('{"id":1}'), null);
  assert.ok(parseReport(JSON.stringify(report("a", "0"))));
});

test.run();
