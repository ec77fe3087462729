/**
 * The client core's conformance cases (tests/_core_cases.ts) under the
 * runtime of this run; tests/web_ui_test.ts runs the very same cases in
 * Chromium, against the modules as the web listener serves them. Also: no
 * copy of the codec, SCRAM, the proof of work or the seals is left in web/
 * (the page imports the core).
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { CORE_FIXTURES, runCoreCases } from "./_core_cases.ts";
import { ROOT } from "../testing/harness.ts";

test("the core's cases pass in this runtime", async () => {
  const results = await runCoreCases(pathToFileURL(ROOT).href, CORE_FIXTURES);
  assert.ok(results.length >= 13, `${results.length} cases ran`);
  const failed = results.filter((r) => !r.ok);
  assert.equal(failed, [], failed.map((r) => `${r.name}: ${r.detail}`).join("\n"));
});

test("web/ holds only the UI: no second codec, SCRAM, seal, proof of work or name folding", () => {
  const files = (dir: string): string[] =>
    readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? files(join(dir, f)) : [join(dir, f)]));
  const web = files(join(ROOT, "web")).filter((f) => f.endsWith(".js"));
  assert.ok(web.length > 5);
  for (const f of web) {
    const text = readFileSync(f, "utf8");
    const name = f.slice(ROOT.length + 1);
    for (const [what, re] of [
      ["a reply parser", /split\(["'`]\\n["'`]\)|parseReply/],
      ["SCRAM", /Client Key|PBKDF2|pbkdf2/],
      ["a seal", /AES-GCM|aes-256-gcm|scrypt|X25519|dc1:|dm1\./],
      ["name folding", /toLowerCase\(\)|\[A-Z\]/],
      ["crypto.subtle", /crypto\.subtle/],
      ["a proof of work", /solveWork|zeroBits|sha-?256|sha2/i],
    ] as const) assert.not.match(text, re, `${name} holds ${what}`);
  }
});

test.run();
