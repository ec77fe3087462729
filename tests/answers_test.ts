/**
 * What a server remembers of its answers (lib/server/answers.ts): a saved
 * login reply — it holds the token — goes only to the same port, tag and
 * user name, and only for a minute; other saved replies for an hour.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { join } from "node:path";
import { Answers, LOGIN_REPLY_MS } from "../lib/server/answers.ts";
import { Store } from "../lib/store/store.ts";
import type { Request } from "../lib/wire/messages.ts";
import { removeTempDirs, tempDir } from "../testing/harness.ts";

const T0 = 1_700_000_000_000;
const ALICE_PORT = { host: "127.0.0.1", port: 40001 };

function setup() {
  const store = Store.open(join(tempDir("distchat-answers-"), "a.sqlite"), "a", { sync: "normal" });
  const answers = new Answers({ replies: store.replies, replyKey: new Uint8Array(32).fill(7) });
  const remember = (req: Request, text: string, at: number) => {
    store.begin();
    answers.remember(req, Answers.key(req, ALICE_PORT), { text, error: null }, at);
    store.commit();
  };
  return { store, answers, remember };
}

test.after(() => removeTempDirs());

test("a login reply goes to the same port, tag and name only — never to another name from alice's port", () => {
  const { store, answers, remember } = setup();
  const alice: Request = { verb: "login", tag: "1", userName: "alice" };
  const text = "ok\n1\nlogin\nalice\nTOKEN-of-alice-xxxxxxxx\n300\n";
  remember(alice, text, T0);
  assert.is(answers.lookup(alice, Answers.key(alice, ALICE_PORT), T0 + 1000), text);
  const aliceShouting: Request = { ...alice, userName: "ALICE" } as Request;
  assert.is(answers.lookup(aliceShouting, Answers.key(aliceShouting, ALICE_PORT), T0 + 1000), text, "names fold");
  const mallory: Request = { verb: "login", tag: "1", userName: "mallory" };
  assert.is(answers.lookup(mallory, Answers.key(mallory, ALICE_PORT), T0 + 1000), null);
  store.close();
});

test("a login reply is kept a minute; other saved replies an hour; pruning drops them alike", () => {
  const { store, answers, remember } = setup();
  const alice: Request = { verb: "login", tag: "1", userName: "alice" };
  remember(alice, "ok\n1\nlogin\nalice\nTOKEN-of-alice-xxxxxxxx\n300\n", T0);
  const open: Request = { verb: "open", tag: "2", token: "TOKEN-of-alice-xxxxxxxx", groupName: "r" };
  remember(open, "ok\n2\nopen\nr\n", T0);
  const fresh = new Answers({ replies: store.replies, replyKey: new Uint8Array(32).fill(7) }); // as after a restart: nothing in memory
  assert.ok(fresh.lookup(alice, Answers.key(alice, ALICE_PORT), T0 + LOGIN_REPLY_MS) !== null);
  assert.is(fresh.lookup(alice, Answers.key(alice, ALICE_PORT), T0 + LOGIN_REPLY_MS + 1), null);
  assert.is(fresh.lookup(open, Answers.key(open, ALICE_PORT), T0 + LOGIN_REPLY_MS + 1), "ok\n2\nopen\nr\n");
  store.begin();
  store.replies.prune(T0 - 1, T0 + 1);
  store.commit();
  assert.is(store.replies.get(Answers.key(alice, ALICE_PORT)), null, "the login reply is pruned after its minute");
  assert.ok(store.replies.get(Answers.key(open, ALICE_PORT)) !== null, "the open reply stays for its hour");
  store.close();
});

test.run();
