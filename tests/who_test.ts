/**
 * `who` reads only memberships that may be live (members.expires, kept by
 * the store): a room with 20,000 expired sessions answers with its few live
 * members without reading the others (issue: 255–296 ms per `who`).
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { join } from "node:path";
import { handle, handlerDeps } from "../lib/handlers/index.ts";
import { sessionId } from "../lib/rules/session_id.ts";
import type { Request } from "../lib/wire/messages.ts";
import { Store } from "../lib/store/store.ts";
import { removeTempDirs, tempDir } from "../testing/harness.ts";

const T0 = 1_700_000_000_000;

test("who with 20,000 expired members reads the live ones only", () => {
  const store = Store.open(join(tempDir("distchat-who-"), "a.sqlite"), "a", { sync: "normal" });
  store.setOrigin("a");
  try {
    store.begin();
    store.appendLocal({ kind: "login", session: "0".repeat(64), userName: "opener", ttl: 60 }, T0);
    store.appendLocal({ kind: "open", session: "0".repeat(64), groupName: "big" }, T0);
    for (let i = 0; i < 20_000; i++) {
      const id = sessionId(`old${i}`);
      store.appendLocal({ kind: "login", session: id, userName: `old${i}`, ttl: 60 }, T0);
      store.appendLocal({ kind: "join", session: id, groupName: "big" }, T0);
    }
    store.commit(false);
    const later = T0 + 3_600_000;
    store.sessions.forgetIdle(later);
    let n = 0;
    const deps = handlerDeps({ store, random: () => new Uint8Array(32).map(() => ++n % 256) });
    const chat = { handle: (req: Request, now: number, key: string) => handle(deps, req, { now, key }) };
    store.begin();
    const tokens: string[] = [];
    for (const name of ["zed", "amy", "Bob"]) {
      const r = chat.handle({ verb: "login", tag: "1", userName: name }, later, "k");
      assert.ok("reply" in r && r.reply.verb === "ok" && r.reply.kind === "login");
      const token = (r as { reply: { token: string } }).reply.token;
      tokens.push(token);
      chat.handle({ verb: "connect", tag: "2", token, groupName: "big" }, later, "k");
    }
    store.commit(false);
    const before = store.sessions.cached;
    const t0 = performance.now();
    const r = chat.handle({ verb: "who", tag: "3", token: tokens[0], groupName: "big", after: null }, later + 1000, "k");
    const ms = performance.now() - t0;
    assert.ok("reply" in r && r.reply.verb === "ok" && r.reply.kind === "who");
    assert.equal((r as { reply: { names: string[] } }).reply.names, ["amy", "Bob", "zed"]);
    assert.ok(store.sessions.cached - before <= 3, `who loaded ${store.sessions.cached - before} sessions`);
    console.log(`    who among 20,003 members, 3 live: ${ms.toFixed(1)} ms`);
  } finally {
    store.close();
  }
});

test.after(removeTempDirs);
test.run();
