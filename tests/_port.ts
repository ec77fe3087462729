/**
 * The client port in process, for tests: a store on a temporary database,
 * the group commit and the port on a manual clock (no sleeps, no sockets),
 * and helpers to speak to it. Private to tests/.
 *
 * @example
 * ```ts
 * const t = setup();
 * const token = enter(t, ALICE, "alice", true); // logged in, in room r
 * t.say(ALICE, "rooms", "x1", token);
 * t.clock.runSoon();                             // commit; the reply is in t.events
 * t.close();
 * ```
 */
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { Answers } from "../lib/server/answers.ts";
import { handlerDeps } from "../lib/handlers/index.ts";
import type { ClientChannel } from "../lib/server/channel.ts";
import { ClientPort, type ClientPortOptions } from "../lib/server/client_port.ts";
import { type Committed, GroupCommit } from "../lib/server/commit.ts";
import { Store } from "../lib/store/store.ts";
import { encodeText } from "../lib/wire/codec.ts";
import { ManualClock } from "../testing/manual_clock.ts";
import { lines, tempDir } from "../testing/harness.ts";

export const T0 = 1_700_000_000_000;
export const ALICE = { host: "127.0.0.1", port: 40001 };
export const BOB = { host: "127.0.0.1", port: 40002 };

/**
 * A store, group commit and client port on a manual clock; `events` records syncs and every datagram sent ("PORT text|with|bars").
 * `pipelined`: every sync is asynchronous (even of one write) and ends only when the test calls `endSync` (the oldest running one).
 */
export function setup(o: Partial<ClientPortOptions> = {}, pipelined = false) {
  const events: string[] = [];
  const running: ((error: Error | null) => void)[] = [];
  const syncFileAsync = pipelined ? (_fd: number, done: (error: Error | null) => void) => void (events.push("sync"), running.push(done)) : undefined;
  const store = Store.open(join(tempDir("distchat-commit-"), "a.sqlite"), "a", { syncFile: () => void events.push("sync"), syncFileAsync });
  const clock = new ManualClock(T0);
  let problem: string | null = null;
  const fatal: string[] = [];
  const commit = new GroupCommit({ store, clock, checkDatabase: () => problem, onFatal: (m) => void fatal.push(m), pipelineFrom: pipelined ? 1 : undefined });
  /** Ends the oldest running sync (with `error`, a failed one); false when none runs. */
  const endSync = (error: Error | null = null): boolean => {
    const done = running.shift();
    done?.(error);
    return done !== undefined;
  };
  const committed: Committed[] = [];
  commit.subscribe((c) => void committed.push(c));
  const port = new ClientPort({
    commit,
    clock,
    handlers: handlerDeps({ store, random: randomBytes }),
    store,
    answers: new Answers({ replies: store.replies, replyKey: new Uint8Array(32) }),
    ...o,
  });
  const udp: ClientChannel = { name: "", proven: false, send: (bytes, to) => void events.push(`${to.port} ${new TextDecoder().decode(bytes).replace(/\n/g, "|")}`) };
  const say = (from: typeof ALICE, ...fields: (string | number)[]) => port.onDatagram(encodeText(lines(...fields)), from, udp);
  const close = () => {
    port.close();
    commit.close();
  };
  return { events, store, clock, commit, committed, port, say, close, fatal, setProblem: (p: string) => (problem = p), endSync, running };
}

/** Logs `name` in from `from` and joins room r (creating it when `create`); returns the token. */
export function enter(t: ReturnType<typeof setup>, from: typeof ALICE, name: string, create: boolean): string {
  t.say(from, "login", `${name}1`, name);
  settle(t);
  const token = t.events.at(-1)!.split("|")[4];
  t.say(from, create ? "open" : "connect", `${name}2`, token, "r");
  settle(t);
  return token;
}

/** Runs the turns and ends the syncs (pipelined) until nothing is left to do. */
export function settle(t: ReturnType<typeof setup>): void {
  t.clock.runSoon();
  while (t.endSync()) t.clock.runSoon();
}
