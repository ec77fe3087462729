/**
 * Fails when lib/wire/_protocol_parser.js is stale: regenerates it from
 * protocol.peggy into a temporary folder and compares. `npm run gen` fixes it.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const pkg = JSON.parse(readFileSync("package.json", "utf8"));
const args: string[] = pkg.scripts.gen.split(/\s+/).slice(1);
const out = args.indexOf("-o");
const dir = mkdtempSync(join(tmpdir(), "distchat-gen-"));
try {
  const fresh = [...args];
  fresh[out + 1] = join(dir, "parser.js");
  execFileSync(join("node_modules", ".bin", "peggy"), fresh, { stdio: "inherit" });
  const stale = ["parser.js", "parser.d.ts"].filter((f, i) => {
    const committed = args[out + 1].replace(/\.js$/, i === 0 ? ".js" : ".d.ts");
    return readFileSync(join(dir, f), "utf8") !== readFileSync(committed, "utf8");
  });
  if (stale.length > 0) {
    console.error(`lib/wire/_protocol_parser is stale (${stale.join(", ")}): run npm run gen and commit it`);
    process.exit(1);
  }
  console.log("generated parser is up to date");
} finally {
  rmSync(dir, { recursive: true, force: true });
}
