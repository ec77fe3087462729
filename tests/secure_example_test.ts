/**
 * The worked examples of docs/PROTOCOL.md and docs/PEER_PROTOCOL.md
 * "Encrypted transport" are what lib/secure/ makes from the keys they show
 * (tests/_secure_example.ts), and they hold together as the text says: the
 * split keys shown open the data datagrams shown, with the layout shown.
 */
import { readFileSync } from "node:fs";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { aeadDecrypt } from "../lib/secure/suite.ts";
import { clientExample, peerExample } from "./_secure_example.ts";
import { read } from "./_secure.ts";

const doc = (name: string) => readFileSync(new URL(`../docs/${name}`, import.meta.url), "utf8");
const bytes = (h: string) => Uint8Array.from(h.match(/../g) ?? [], (x) => parseInt(x, 16));

/** The hex of a field in an example: its first line's value and the continuation lines under it. */
function field(example: string, title: string, name: string): Uint8Array {
  const block = example.slice(example.indexOf(title));
  const lines = block.split("\n");
  const at = lines.findIndex((l) => l.startsWith(`  ${name} `));
  let h = lines[at].slice(24).trim();
  for (let i = at + 1; i < lines.length && /^ {24}[0-9a-f]+$/.test(lines[i]); i++) h += lines[i].trim();
  return bytes(h);
}

test("docs/PROTOCOL.md holds the client example exactly as lib/secure/ makes it", () => {
  const example = clientExample();
  const text = doc("PROTOCOL.md");
  if (!text.includes("```\n" + example + "\n```")) {
    assert.unreachable(`docs/PROTOCOL.md "Worked example" differs from what lib/secure/ makes now; print it with node tests/_secure_example.ts:\n${example}`);
  }
});

test("docs/PEER_PROTOCOL.md holds the server example exactly as lib/secure/ makes it", () => {
  const example = peerExample();
  if (!doc("PEER_PROTOCOL.md").includes("```\n" + example + "\n```")) {
    assert.unreachable(`docs/PEER_PROTOCOL.md "Worked example" differs; print it with node tests/_secure_example.ts:\n${example}`);
  }
});

test("the client example holds together: the keys shown open the data datagrams shown", () => {
  const example = clientExample();
  const key = (name: string) => bytes(new RegExp(`^${name} +([0-9a-f]{64})$`, "m").exec(example)![1]);
  const login = "data, client → server";
  const header = Uint8Array.of(...field(example, login, "kind"), ...field(example, login, "receiver index"), ...field(example, login, "counter"));
  assert.is(read(aeadDecrypt(key("key client → server"), 0, header, field(example, login, "sealed text"))), "login\n1\nalice\n");
  const reply = "data, server → client";
  const header2 = Uint8Array.of(...field(example, reply, "kind"), ...field(example, reply, "receiver index"), ...field(example, reply, "counter"));
  assert.match(read(aeadDecrypt(key("key server → client"), 0, header2, field(example, reply, "sealed text")))!, /^ok\n1\nlogin\nalice\n/);
  // The reset's token is the one the response's payload carried.
  assert.match(example, new RegExp(`reset token ${[...field(example, "reset, server", "reset token")].map((b) => b.toString(16).padStart(2, "0")).join("")}\\)`));
});

test.run();
