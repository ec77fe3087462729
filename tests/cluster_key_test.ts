/**
 * Cluster key files (lib/config/cluster_key.ts, `npm run keygen`): made
 * owner-only, never overwritten, read with a warning when others can read.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { chmodSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createKeyFile, readKeyFile } from "../lib/config/cluster_key.ts";
import { removeTempDirs, tempDir } from "../testing/harness.ts";

test.after(() => removeTempDirs());

test("a new key is 64 hex digits, readable by its owner only, and never overwritten", () => {
  const path = join(tempDir(), "cluster.key");
  createKeyFile(path);
  assert.match(readFileSync(path, "utf8"), /^[0-9a-f]{64}\n$/);
  assert.is(statSync(path).mode & 0o777, 0o600);
  const before = readFileSync(path, "utf8");
  assert.throws(() => createKeyFile(path), /the file exists \(a key is never overwritten\)/);
  assert.is(readFileSync(path, "utf8"), before);
  const read = readKeyFile(path);
  assert.is(Buffer.from(read.key).toString("utf8"), before);
  assert.is(read.warning, null);
});

test("reading: missing and empty files are refused; a key others can read is used with a warning", () => {
  const dir = tempDir();
  assert.throws(() => readKeyFile(join(dir, "nope.key")), /cannot read the cluster key .*nope\.key \(--cluster-key\): no such file/);
  writeFileSync(join(dir, "empty.key"), "");
  assert.throws(() => readKeyFile(join(dir, "empty.key")), /is empty/);
  const open = join(dir, "open.key");
  writeFileSync(open, "secret");
  chmodSync(open, 0o644);
  assert.match(readKeyFile(open).warning ?? "", /readable by other users: chmod 600/);
});

test.run();
