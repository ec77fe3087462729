/**
 * A server's request path in one process, without sockets, for the
 * in-process benchmarks (add_cost.ts, write_cost.ts): a store on a fresh
 * temporary database (--sync normal: no disk waits), `Chat`, `Answers`, and
 * `handle`, which does with a decoded request what lib/server/client_port.ts
 * does with one that is not a held poll. Private to bench/.
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
import { Chat } from "../lib/server/chat.ts";
import type { Request } from "../lib/wire/messages.ts";
import { decodeRequest, encodeText, replyText } from "../lib/wire/codec.ts";
import { Store } from "../lib/store/store.ts";

export type InProcessServer = {
  store: Store;
  chat: Chat;
  /** The database file. */
  path: string;
  /** Answers one decoded request (not a held poll) like the client port; returns the reply text. */
  handle(req: Request, at: number): string;
  /** Decodes request text; throws on a malformed one. */
  decode(text: string): Request;
  /** Closes the store and removes the temporary directory. */
  close(): void;
};

/** A store, chat and answers on a fresh database in a temporary directory named `prefix…`. */
export function inProcessServer(prefix: string): InProcessServer {
  const dir = mkdtempSync(join(os.tmpdir(), prefix));
  const path = join(dir, "a.sqlite");
  const store = Store.open(path, "a", { sync: "normal" });
  const chat = new Chat({ store, random: randomBytes });
  const answers = new Answers({ replies: store.replies, replyKey: new Uint8Array(32) });
  const from = { host: "127.0.0.1", port: 1 };
  return {
    store,
    chat,
    path,
    handle(req, at) {
      const key = Answers.key(req, from);
      const seen = answers.lookup(req, key, at);
      if (seen !== null) return seen;
      const out = chat.handle(req, at, key);
      if (!("reply" in out)) throw new Error("not a reply");
      const text = replyText(out.reply);
      answers.remember(req, key, text, out.reply.verb !== "error", at);
      return text;
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
