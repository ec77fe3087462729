/**
 * Server static keys (lib/config/static_key.ts, `npm run keygen --
 * --server-key FILE` and `--public FILE`): the private file owner-only and
 * never overwritten, the public one beside it, what servers.txt needs
 * printed; bad files refused with one line naming them.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { chmodSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseServers } from "../lib/config/servers_file.ts";
import { createStaticKeyFile, parseStaticKey, readStaticKeyFile } from "../lib/config/static_key.ts";
import { decodeKey, encodeKey } from "../lib/secure/keys.ts";
import { dh } from "../lib/secure/suite.ts";
import { scriptCommand } from "../lib/platform/runtime.ts";
import { removeTempDirs, tempDir } from "../testing/harness.ts";

test.after(() => removeTempDirs());

test("a new server key: private 0600 and public beside it; read back, the pair agrees; never overwritten", () => {
  const path = join(tempDir(), "keys", "a.key");
  const { publicKey } = createStaticKeyFile(path);
  assert.match(readFileSync(path, "utf8"), /^[A-Za-z0-9+/]{43}=\n$/);
  assert.is(statSync(path).mode & 0o777, 0o600);
  assert.is(readFileSync(`${path}.pub`, "utf8"), encodeKey(publicKey) + "\n");
  const { keyPair, warning } = readStaticKeyFile(path);
  assert.equal([encodeKey(keyPair.publicKey), warning], [encodeKey(publicKey), null]);
  const other = createStaticKeyFile(join(tempDir(), "b.key"));
  assert.ok(dh(keyPair, other.publicKey) !== null);
  const before = readFileSync(path, "utf8");
  assert.throws(() => createStaticKeyFile(path), /cannot create the server key .*a\.key: the file exists \(a key is never overwritten\)/);
  assert.is(readFileSync(path, "utf8"), before);
});

test("bad key files: missing, empty, not base64, a cluster key; one readable by others is used with a warning", () => {
  const dir = tempDir();
  assert.throws(() => readStaticKeyFile(join(dir, "none.key")), /cannot read the server key .*none\.key: no such file/);
  for (const text of ["", "abc\n", "0".repeat(64) + "\n", encodeKey(new Uint8Array(32)).slice(0, 43) + "\n", "a".repeat(43) + "=\nsecond line\n"]) {
    assert.throws(() => parseStaticKey(text, "x.key"), /^server key file x\.key must hold one private key: 44 characters of base64/, JSON.stringify(text));
  }
  const open = join(dir, "open.key");
  writeFileSync(open, encodeKey(new Uint8Array(32).fill(7)) + "\n");
  chmodSync(open, 0o644);
  assert.match(readStaticKeyFile(open).warning ?? "", /server key .*open\.key is readable by other users: chmod 600/);
});

test("decodeKey takes exactly canonical base64 of 32 bytes", () => {
  const k = encodeKey(Uint8Array.from({ length: 32 }, (_, i) => i * 8));
  assert.is(decodeKey(k)?.length, 32);
  for (const bad of [k.slice(1), k + "=", k.replace("=", "A"), k.slice(0, 42) + "B=", " " + k.slice(1), k.replace(/.$/, "-")]) assert.is(decodeKey(bad), null, bad);
});

test("npm run keygen -- --server-key FILE prints the servers.txt field; --public FILE prints it again", () => {
  const dir = tempDir();
  const file = join(dir, "c.key");
  const run = (...args: string[]) => {
    const [cmd, ...rest] = scriptCommand("scripts/keygen.ts", args);
    return spawnSync(cmd, rest, { encoding: "utf8" });
  };
  const made = run("--server-key", file);
  assert.is(made.status, 0, made.stderr);
  const field = /^key=[A-Za-z0-9+/]{43}=$/m.exec(made.stdout)?.[0];
  assert.ok(field, made.stdout);
  assert.is(run("--public", file).stdout.trim(), field);
  // The field is what servers.txt takes.
  const [entry] = parseServers(`c 127.0.0.1:7003 127.0.0.1:7103 ${field}\n`, "servers.txt");
  assert.is(encodeKey(entry.publicKey!), field!.slice(4));
  const again = run("--server-key", file);
  assert.equal([again.status, again.stderr.trim().split("\n").length], [1, 1]);
  assert.match(again.stderr, /the file exists/);
  assert.is(run().status, 2);
  assert.is(run("--server-key", file, "--public", file).status, 2);
});

test.run();
