/**
 * lib/config/server_setup.ts and the peer links: every server of the
 * servers file keyed → the peers' keys (encrypted links); one without
 * key= → refused unless --allow-plaintext, which then warns that the peer
 * links are plaintext.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { serverSetup } from "../lib/config/server_setup.ts";
import { parseServerFlags } from "../lib/config/server_flags.ts";
import { makeCluster, removeTempDirs, tempDir } from "../testing/harness.ts";

const setup = (file: string, ...extra: string[]) =>
  serverSetup(parseServerFlags(["--id", "a", "--servers", file, "--db", join(tempDir(), "a.sqlite"), "--insecure-peers", ...extra]), null);

test("every server keyed: the peers' public keys; one without key=: refused, or plaintext links with --allow-plaintext", async () => {
  const dir = tempDir("distchat-peer-keys-");
  const { file, entries } = await makeCluster(["a", "b", "c"], dir);
  const keyed = setup(file);
  assert.equal([...keyed.peerKeys!.keys()], ["b", "c"]);
  assert.equal(keyed.peerKeys!.get("c"), entries[2].key);
  const partly = join(dir, "partly.txt");
  writeFileSync(partly, readFileSync(file, "utf8").split("\n").map((l) => (l.startsWith("c ") ? l.replace(/ key=\S+/, "") : l)).join("\n"));
  assert.throws(() => setup(partly), (e: Error) => /gives server\(s\) c no key=, so peer links could not be encrypted: .*--allow-plaintext/.test(e.message));
  const plain = setup(partly, "--allow-plaintext");
  assert.is(plain.peerKeys, null);
  assert.ok(plain.staticKey !== null, "its clients may still encrypt");
  assert.ok(plain.warnings.some((w) => /peer datagrams are not encrypted \(server\(s\) c without key=/.test(w)), plain.warnings.join("\n"));
});

test.after(removeTempDirs);
test.run();
