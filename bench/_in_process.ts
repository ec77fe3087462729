/**
 * A server's request path in one process, without sockets, for the
 * in-process benchmarks (add_cost.ts, write_cost.ts): a store on a fresh
 * temporary database (--sync normal: no disk waits), the handlers
 * (lib/handlers/), `Answers`, and `handle`, which does with a decoded
 * request what lib/server/client_port.ts does with one that is not a held
 * poll. Private to bench/.
 *
 * @example
 * ```ts
 * const s = inProcessServer("distchat-add-cost-");
 * s.store.begin();
 * const token = s.handle(s.decode("login\n1\nalice\n"), Date.now()).split("\n")[4];
 * s.store.commit();
 * s.close();
 * ```
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { Answers } from "../lib/server/answers.ts";
import { handle, type HandlerDeps, handlerDeps } from "../lib/handlers/index.ts";
import { answerOf } from "../lib/server/answers.ts";
import { sessionId } from "../lib/rules/session_id.ts";
import { type Request, tokenOf } from "../lib/wire/messages.ts";
import { decodeRequest, encodeText } from "../lib/wire/codec.ts";
import { Store } from "../lib/store/store.ts";

export type InProcessServer = {
  store: Store;
  handlers: HandlerDeps;
  /** The database file. */
  path: string;
  /** Answers one decoded request (not a held poll) like the client port; returns the reply text. */
  handle(req: Request, at: number): string;
  /** Decodes request text; throws on a malformed one. */
  decode(text: string): Request;
  /** Closes the store and removes the temporary directory. */
  close(): void;
};

/** A store, handlers and answers on a fresh database in a temporary directory named `prefix…`. */
export function inProcessServer(prefix: string): InProcessServer {
  const dir = mkdtempSync(join(os.tmpdir(), prefix));
  const path = join(dir, "a.sqlite");
  const store = Store.open(path, "a", { sync: "normal" });
  const handlers = handlerDeps({ store, random: randomBytes });
  const answers = new Answers({ replies: store.replies, replyKey: new Uint8Array(32) });
  const from = { host: "127.0.0.1", port: 1 };
  return {
    store,
    handlers,
    path,
    handle(req, at) {
      const token = tokenOf(req);
      const session = token === null ? "" : sessionId(token);
      const key = Answers.key(req, from, session);
      const seen = answers.find(req, key, at);
      if (seen !== null) return seen.text;
      const out = handle(handlers, req, { now: at, key, session });
      if (!("reply" in out)) throw new Error("not a reply");
      const answer = answerOf(out.reply);
      answers.remember(req, key, answer, at);
      return answer.text;
    },
    decode(text) {
      const d = decodeRequest(encodeText(text));
      if (!d.ok) throw new Error(d.error.message);
      return d.value;
    },
    close() {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
