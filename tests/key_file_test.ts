import { test } from "uvu";
import * as assert from "uvu/assert";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KeyFileError, parseKeyFile, readKeyFile } from "../lib/client/key_file.ts";

test("room lines, * for the rest, comments and blank lines", () => {
  const keys = parseKeyFile("# keys\n\nLobby  correct horse battery staple  \r\n* hunter2\nannex x\n", "k");
  assert.equal(keys.rooms, ["Lobby", "annex"]);
  assert.is(keys.passphraseFor("lobby"), "correct horse battery staple");
  assert.is(keys.passphraseFor("ANNEX"), "x");
  assert.is(keys.passphraseFor("other"), "hunter2");
});

test("one word alone is the passphrase of every room; without * others have none", () => {
  assert.is(parseKeyFile("\uFEFF  s3cret!\n").passphraseFor("any"), "s3cret!");
  const one = parseKeyFile("lobby secret\n");
  assert.is(one.passphraseFor("lobby"), "secret");
  assert.is(one.passphraseFor("annex"), null);
});

test("errors name the file and line", () => {
  const cases: [string, RegExp][] = [
    ["", /keys\.txt: has no passphrase/],
    ["# only a comment\n", /has no passphrase/],
    ["lobby a\nannex\n", /keys\.txt: line 2 has a room but no passphrase/],
    ["lobby a\nLOBBY b\n", /line 2 gives a second passphrase for room LOBBY/],
    ["* a\n* b\n", /line 2 gives a second passphrase for \*/],
    ["bad/room a\nx y\n", /line 1 has an invalid room name "bad\/room"/],
  ];
  for (const [text, re] of cases) {
    assert.throws(
      () => parseKeyFile(text, "keys.txt"),
      (e: Error) => e instanceof KeyFileError && re.test(e.message),
      text,
    );
  }
});

test("readKeyFile: missing file, loose permissions", () => {
  const dir = mkdtempSync(join(tmpdir(), "dc-keys-"));
  try {
    const path = join(dir, "keys.txt");
    assert.throws(() => readKeyFile(path), /Cannot read key file .*keys\.txt: does not exist/);
    writeFileSync(path, "lobby secret\n");
    chmodSync(path, 0o600);
    assert.equal(readKeyFile(path).warnings, []);
    chmodSync(path, 0o644);
    assert.match(readKeyFile(path).warnings.join(), /can be read by other users/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
