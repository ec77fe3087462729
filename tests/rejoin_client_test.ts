/**
 * The client library (the terminal client and the web page both run
 * lib/client/chat.ts) against a server that restarted and is catching up
 * (docs/OPERATIONS.md "Restarting a server"): its login and its add are
 * answered `unavailable` for a while; the client says so, retries, and
 * logs in and gets its add acked once the server takes writes. One scripted
 * in-memory server (tests/_scripted_server.ts); with two, the client leaves
 * the one that takes no writes for the other at once.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { ChatClient } from "../lib/client/chat.ts";
import { keyMemory } from "../lib/client/social.ts";
import { until } from "./_client_proc.ts";
import type { OpenTransport } from "../lib/client/transport.ts";
import { scriptedServer } from "./_scripted_server.ts";

/** bob's ChatClient over `transport` to `servers`, with what it said and the msgIDs acked. */
async function bob(servers: string[], transport: OpenTransport): Promise<{ chat: ChatClient; said: string[]; acked: string[] }> {
  const said: string[] = [];
  const acked: string[] = [];
  const chat = await ChatClient.open({
    servers: servers.map((id) => ({ id })),
    transport,
    ui: {
      show: () => {},
      notice: (t) => said.push(t),
      error: (t) => said.push(`error: ${t}`),
      output: (t) => said.push(t),
      askSecret: () => Promise.resolve(null),
      hints: "command",
      settled: (_id, msgId) => msgId && acked.push(`${msgId.origin}.${msgId.n}`),
    },
    userName: "bob",
    waitMs: 1000,
    dmsEveryMs: 0,
    known: keyMemory(),
  });
  return { chat, said, acked };
}

const CATCHING_UP = "this server restarted and is catching up (waiting for 3 op(s) of b); try another server";

test("ChatClient: a login and an add refused `unavailable` by a restarted server catching up are retried and go through once it takes writes", async () => {
  const refused: string[] = [];
  let catchingUp = 0; // writes refused until this many have been
  const transport = scriptedServer((r, answer) => {
    if ((r.verb === "login" || r.verb === "add") && refused.length < catchingUp) {
      refused.push(r.verb);
      answer({ verb: "error", tag: r.tag, code: "unavailable", message: CATCHING_UP });
      return true;
    }
    if (r.verb === "add") answer({ verb: "ok", tag: r.tag, kind: "add", msg: r.msg, groupName: r.groupName, msgId: { origin: "a", n: 3 } });
    return r.verb === "add";
  });
  const { chat, said, acked } = await bob(["a"], transport);
  try {
    catchingUp = 1;
    await chat.login();
    assert.equal(refused, ["login"]);
    // The client's own words for `unavailable` (lib/client/wording.ts), not the server's text.
    assert.ok(said.some((l) => l === "cannot log in as bob on server a: the server cannot serve this right now; retrying"), said.join(" | "));
    await chat.line("/join lobby");
    catchingUp = 3; // refused twice more: the add
    await chat.line("the plan for friday");
    await until(() => `the add acked (said: ${said.join(" | ")})`, () => acked.length > 0, 8000);
    assert.equal(refused, ["login", "add", "add"]);
    assert.equal(acked, ["a.3"]);
    assert.ok(said.some((l) => l === "message to lobby delayed: the server cannot serve this right now; retrying"), said.join(" | "));
    assert.not.ok(said.some((l) => l.startsWith("error")), said.join(" | "));
  } finally {
    await chat.conn.close();
  }
});

test("ChatClient: a server that takes no writes (`unavailable`) is left for the next one, with the request, as docs/PROTOCOL.md says", async () => {
  const at: string[] = [];
  const transport = scriptedServer((r, answer, to) => {
    if (r.verb !== "login" && r.verb !== "add") return false;
    at.push(`${r.verb}@${to.id}`);
    if (to.id === "a") return answer({ verb: "error", tag: r.tag, code: "unavailable", message: "this server's disk is nearly full; try another server" }), true;
    if (r.verb === "add") return answer({ verb: "ok", tag: r.tag, kind: "add", msg: r.msg, groupName: r.groupName, msgId: { origin: "b", n: 1 } }), true;
    return false;
  });
  const { chat, said, acked } = await bob(["a", "b"], transport);
  try {
    let loggedIn = false;
    void chat.login().then(() => (loggedIn = true));
    await until(() => `logged in (requests: ${at.join(", ")}; said: ${said.join(" | ")})`, () => loggedIn, 8000);
    await chat.line("/join lobby");
    await chat.line("the plan for friday");
    await until(() => `the add acked (said: ${said.join(" | ")})`, () => acked.length > 0, 8000);
    assert.equal(at, ["login@a", "login@b", "add@b"]);
    assert.equal(acked, ["b.1"]);
    assert.ok(said.includes("server a takes no changes now (this server's disk is nearly full; try another server); going on with b"), said.join(" | "));
    assert.not.ok(said.some((l) => l.startsWith("error") || l.includes("retrying")), said.join(" | "));
  } finally {
    await chat.conn.close();
  }
});

test.run();
