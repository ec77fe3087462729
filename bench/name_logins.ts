/**
 * What a login costs when its user name has had many sessions (not a
 * test): N logins of one name, each logged out before the next, on one
 * store (--sync normal), with the settlement remembered (the server) and
 * with every claim read at each login (rememberSettlements: false, as
 * before). Prints ms per login at each quarter of N.
 *
 *   npm run bench:name-logins -- [N]        npx deno run -A bench/name_logins.ts [N]
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { defineCommand, fail, parseCommandLine } from "../lib/config/cli.ts";
import { Store } from "../lib/store/store.ts";

const COMMAND = defineCommand({
  name: "name_logins",
  about: "What a login costs when its user name had thousands of sessions (ms per login at each quarter of N).",
  usage: "npm run bench:name-logins -- [N]",
  positionals: [{ name: "N", help: "logins of one name (default 2000)" }],
  flags: {
  },
  notes: "With Deno: npx deno run -A bench/name_logins.ts [N]",
});
const { positionals } = parseCommandLine(COMMAND);
if (positionals.length > 1 || (positionals[0] !== undefined && !/^[1-9]\d*$/.test(positionals[0]))) {
  fail("name_logins", `N must be one whole number ≥ 1, got "${positionals.join(" ")}"`);
}
const N = Number(positionals[0] ?? 2000);
const dir = mkdtempSync(join(os.tmpdir(), "distchat-name-logins-"));
try {
  for (const remember of [true, false]) {
    const s = Store.open(join(dir, `${remember}.sqlite`), "a", { sync: "normal", rememberSettlements: remember });
    const marks: string[] = [];
    let t = 1_700_000_000_000;
    for (let k = 1; k <= N; k++) {
      const session = `s${k}`.padStart(64, "0");
      const t0 = performance.now();
      s.begin();
      s.appendLocal({ kind: "login", session, userName: "alice", ttl: 60 }, t);
      s.commit();
      const ms = performance.now() - t0;
      s.begin();
      s.appendLocal({ kind: "logout", session }, t + 1000);
      s.commit();
      if (k % Math.max(1, Math.floor(N / 4)) === 0) marks.push(`#${k} ${ms.toFixed(3)} ms`);
      t += 2000;
    }
    s.close();
    console.log(`${remember ? "remembered" : "every claim read"}: ${marks.join(", ")}`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
