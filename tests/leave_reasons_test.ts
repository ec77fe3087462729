/**
 * A leave's reason and a logout's quit notices need peer protocol version 3
 * (docs/PEER_PROTOCOL.md "Versions and rolling upgrades"): while a peer has
 * not proved it, `leave` and `logout` with a reason succeed with the ops of
 * before, which every peer reads. The handlers and a store in memory.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { tempDir } from "../testing/harness.ts";
import { Store } from "../lib/store/store.ts";
import { handle, handlerDeps } from "../lib/handlers/index.ts";
import type { Op, Reply, Request } from "../lib/wire/messages.ts";

type Dist<T> = T extends unknown ? Omit<T, "tag"> : never;

/** A server's handlers on a fresh store; `reasons`: whether every peer reads a leave's reason. */
function server(reasons: boolean) {
  const store = Store.open(join(tempDir("distchat-leave-reasons-"), "a.sqlite"), "a", { sync: "normal" });
  store.setOrigin("a");
  const deps = handlerDeps({ store, random: (n) => new Uint8Array(randomBytes(n)), leaveReasons: () => reasons });
  let t = 1_700_000_000_000, n = 0;
  const ask = (req: Dist<Request>): Reply => {
    store.begin();
    const out = handle(deps, { ...req, tag: `t${++n}` } as Request, { now: ++t, key: `k${n}` });
    store.commit();
    if (!("reply" in out)) throw new Error("held");
    return out.reply;
  };
  const leaves = (): Op[] => store.opsAfter(new Map(), 1000).filter((op) => op.kind === "leave");
  return { store, ask, leaves };
}

/** Logs `name` in to rooms r1 and r2 (opened by it); its token. */
function enter(s: ReturnType<typeof server>, name: string): string {
  const r = s.ask({ verb: "login", userName: name });
  const token = (r as { token: string }).token;
  for (const room of ["r1", "r2"]) assert.is(s.ask({ verb: "open", token, groupName: room }).verb, "ok");
  return token;
}

for (const reasons of [true, false]) {
  test(`every peer ${reasons ? "reads" : "does not read yet"} leave reasons: leave and logout with a reason succeed, and make ${reasons ? "reasons and quit notices" : "the ops of before"}`, () => {
    const s = server(reasons);
    const token = enter(s, "alice");
    assert.is(s.ask({ verb: "leave", token, groupName: "r1", reason: "bye all" }).verb, "ok");
    assert.is(s.ask({ verb: "logout", token, reason: "gone fishing" }).verb, "ok");
    const leaves = s.leaves().map((op) => ({ room: (op as { groupName: string }).groupName, reason: (op as { reason?: string }).reason ?? null, quit: (op as { quit?: true }).quit ?? false }));
    assert.equal(
      leaves,
      reasons ? [{ room: "r1", reason: "bye all", quit: false }, { room: "r2", reason: "gone fishing", quit: true }] : [{ room: "r1", reason: null, quit: false }],
    );
    s.store.close();
  });
}

test.run();
