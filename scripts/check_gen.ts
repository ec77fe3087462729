/**
 * Fails when a generated parser is stale: runs each peggy command of the
 * `gen` npm script (protocol.peggy → lib/wire/_protocol_parser.js, irc.peggy →
 * lib/irc/_irc_parser.js) into a temporary folder and compares with what is
 * committed. `npm run gen` fixes it.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const pkg = JSON.parse(readFileSync("package.json", "utf8"));
const commands: string[][] = pkg.scripts.gen.split("&&").map((c: string) => c.trim().split(/\s+/).slice(1));
const dir = mkdtempSync(join(tmpdir(), "distchat-gen-"));
let failed = false;
try {
  for (const [i, args] of commands.entries()) {
    const out = args.indexOf("-o");
    const committed = args[out + 1];
    const fresh = [...args];
    fresh[out + 1] = join(dir, `parser${i}.js`);
    execFileSync(join("node_modules", ".bin", "peggy"), fresh, { stdio: "inherit" });
    const stale = [".js", ".d.ts"].filter((ext) =>
      readFileSync(join(dir, `parser${i}${ext}`), "utf8") !== readFileSync(committed.replace(/\.js$/, ext), "utf8")
    );
    if (stale.length > 0) {
      console.error(`${committed.replace(/\.js$/, "")} is stale (${stale.join(", ")}): run npm run gen and commit it`);
      failed = true;
    }
  }
  if (failed) process.exitCode = 1;
  else console.log("generated parsers are up to date");
} finally {
  rmSync(dir, { recursive: true, force: true });
}
