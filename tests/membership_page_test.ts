/**
 * The rules an open web page follows for a changed server list
 * (lib/client/page_servers.ts, docs/CLIENT.md "A changed server list"), and
 * the connection dropping retired servers (the one it talks to only once it
 * fails). The browser side: tests/web_membership_test.ts.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { compareListing, PAGE_RELOAD_GAP_MS, parseListing, reloadDecision } from "../lib/client/page_servers.ts";
import { Connection } from "../lib/client/connection.ts";
import type { ServerRef } from "../lib/client/transport.ts";

const at = (id: string) => ({ id, web: `http://${id}.example` });

test("a listing is read only when well formed: anything else changes nothing", () => {
  assert.equal(parseListing({ self: "x", servers: [at("a"), at("d")] }), [at("a"), at("d")]);
  for (const bad of [null, "x", {}, { servers: [] }, { servers: [{ id: "a" }] }, { servers: [{ id: "", web: "x" }] }, { servers: "a" }]) assert.is(parseListing(bad), null, JSON.stringify(bad));
});

test("retired: loaded and no longer listed; added: listed and not loaded (the page's CSP cannot reach them)", () => {
  assert.equal(compareListing(["a", "b", "c"], [at("a"), at("b"), at("d")]), { retired: ["c"], added: ["d"] });
  assert.equal(compareListing(["a", "b"], [at("b"), at("a")]), { retired: [], added: [] });
  assert.equal(compareListing([""], [at("a")]), { retired: [], added: ["a"] }, "a page that could not read its list at load");
});

test("the reload rule: quiet and unregistered reloads, typing waits, registered is told, no answer reloads at once, at most once per gap", () => {
  const o = { added: ["d"], quiet: true, answering: true, registered: false, sinceReloadMs: Infinity };
  assert.is(reloadDecision(o), "reload");
  assert.is(reloadDecision({ ...o, added: [] }), "none");
  assert.is(reloadDecision({ ...o, quiet: false }), "wait");
  assert.is(reloadDecision({ ...o, registered: true }), "tell");
  assert.is(reloadDecision({ ...o, quiet: false, registered: true, answering: false }), "reload");
  assert.is(reloadDecision({ ...o, answering: false, sinceReloadMs: PAGE_RELOAD_GAP_MS - 1 }), "wait");
  assert.is(reloadDecision({ ...o, sinceReloadMs: PAGE_RELOAD_GAP_MS }), "reload");
});

test("dropServers: retired servers leave the failover list at once, the current one once it fails", async () => {
  const servers: ServerRef[] = ["a", "b", "c", "d"].map((id) => ({ id }));
  const transport = () => Promise.resolve({ send() {}, via: () => "memory", close: () => Promise.resolve() });
  const conn = await Connection.open({ servers, transport, timing: { rtoMs: 5, maxRtoMs: 10, failoverSends: 1 } });
  try {
    assert.equal(conn.dropServers(["x"]), []);
    assert.equal(conn.dropServers(["a", "c"]), ["c"]);
    assert.equal(conn.servers.map((s) => s.id), ["a", "b", "d"]);
    assert.is(conn.server.id, "a");
    conn.request((tag) => ({ verb: "servers", tag })); // nobody answers: a fails
    for (let i = 0; i < 200 && conn.server.id === "a"; i++) await new Promise((r) => setTimeout(r, 5));
    assert.is(conn.server.id, "b");
    assert.equal(conn.servers.map((s) => s.id), ["b", "d"]);
  } finally {
    await conn.close();
  }
});

test.run();
