/**
 * Server logs for journald and log shippers (lib/config/log.ts, `--log-format`):
 * one line per event with a level, in text, journal (syslog priority
 * prefixes) and json (one object per line); and a real server started with
 * `--log-format json` prints nothing but such objects, from its start line
 * to its stop line.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createLog, formatLogLine } from "../lib/config/log.ts";
import { parseServerFlags } from "../lib/config/server_flags.ts";
import { removeTempDirs, startServer, udpClient } from "../testing/harness.ts";
import { login, within } from "../testing/cluster_ops.ts";

const T = Date.UTC(2026, 11, 7, 5, 0, 0);

test("text and journal: one line, the level marked; a warning found by its words", () => {
  assert.is(formatLogLine("text", { time: T, server: "a", message: "hello" }), "distchat server a: hello");
  assert.is(formatLogLine("text", { time: T, server: "a", message: "warning: low" }), "distchat server a: warning: low");
  assert.is(formatLogLine("journal", { time: T, server: "a", message: "warning: low" }), "<4>distchat server a: warning: low");
  assert.is(formatLogLine("journal", { time: T, server: "a", message: "boom", level: "error" }), "<3>distchat server a: error: boom");
  assert.is(formatLogLine("journal", { time: T, server: "a", message: "up" }), "<6>distchat server a: up");
  assert.is(formatLogLine("text", { time: T, server: "a", message: "Error: x\n    at f (y.ts:1)\n" }), "distchat server a: Error: x | at f (y.ts:1)");
});

test("json: time, level, server, event, message and fields, one object per line", () => {
  const lines: string[] = [];
  const log = createLog({ format: "json", server: "b", now: () => T, write: (l) => lines.push(l) });
  log("warning: servers.txt lists one server");
  log("writing as the new incarnation b~x: why\nnext", { event: "incarnation", fields: { origin: "b~x" } });
  assert.is(lines.length, 2);
  assert.ok(lines.every((l) => !l.includes("\n")));
  assert.equal(JSON.parse(lines[0]), { time: "2026-12-07T05:00:00.000Z", level: "warn", server: "b", event: "log", message: "servers.txt lists one server", fields: {} });
  assert.equal(JSON.parse(lines[1]).fields, { origin: "b~x" });
  assert.is(JSON.parse(lines[1]).message, "writing as the new incarnation b~x: why | next");
});

test("--log-format takes text, journal or json; anything else is refused with one line", () => {
  assert.is(parseServerFlags(["--id", "a"]).logFormat, "text");
  assert.is(parseServerFlags(["--id", "a", "--log-format", "json"]).logFormat, "json");
  assert.throws(() => parseServerFlags(["--id", "a", "--log-format", "xml"]), /--log-format must be text, journal, json; got "xml"/);
});

test("a server with --log-format json prints only JSON objects, from start to stop", async () => {
  const s = await startServer({ id: "a", extraArgs: ["--log-format", "json", "--no-web"] });
  // An answer proves the server ran past its start (its SIGTERM handler is set after the start line).
  const u = await udpClient();
  await login(u, s.clientAddr, "alice");
  await u.close();
  await s.stop();
  // The last lines may reach us just after the exit.
  await within(5000, () => Promise.resolve(/"event":"stop"/.test(s.stdout())));
  const lines = (s.stdout() + s.stderr()).split("\n").filter((l) => l !== "");
  const events = lines.map((l) => JSON.parse(l) as { level: string; server: string; event: string; time: string; fields: Record<string, unknown> });
  assert.ok(events.every((e) => e.server === "a" && ["info", "warn", "error"].includes(e.level) && !isNaN(Date.parse(e.time))), lines.join("\n"));
  const start = events.find((e) => e.event === "start");
  assert.ok(start && start.fields.origin === "a" && typeof start.fields.clients === "string", lines.join("\n"));
  assert.ok(events.some((e) => e.event === "stop"), lines.join("\n"));
  removeTempDirs();
});

test.run();
