/**
 * The flags layer of every entry script (lib/config/cli.ts): `--help` is
 * made from the same table the parser reads — every flag, its value, its
 * default and its help — and a bad flag is one line naming it and the usage.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { defineCommand, helpText, parseFlags, wantsHelp } from "../lib/config/cli.ts";
import { parseServerFlags, SERVER_COMMAND, SERVER_HELP } from "../lib/config/server_flags.ts";
import { readdirSync, readFileSync } from "node:fs";

const DEMO = defineCommand({
  name: "demo",
  about: "A demo command.",
  usage: "demo [--count N] [--loud] [FILE]",
  positionals: [{ name: "FILE", help: "what to read" }],
  flags: {
    count: { type: "string", value: "N", default: "3", help: "how many" },
    tag: { type: "string", value: "T", multiple: true, help: "a tag (repeat for more) " + "word ".repeat(30).trim() },
    loud: { type: "boolean", short: "l", help: "shout" },
    words: { type: "string", value: "W", default: "a b", help: "the words" },
  },
  notes: "One paragraph.\n\n  an example --kept as written",
});

test("the help lists every flag of the table with its value, default and help, wrapped", () => {
  const help = helpText(DEMO);
  assert.ok(help.startsWith("A demo command.\n\nusage: demo [--count N] [--loud] [FILE]\n\n"), help);
  assert.match(help, /\n  FILE {2,}what to read\n/);
  assert.match(help, /\n {6}--count N {2,}how many \(default 3\)\n/);
  assert.match(help, /\n  -l, --loud {2,}shout\n/);
  assert.match(help, /--words W {2,}the words \(default "a b"\)\n/);
  assert.match(help, /\n  -h, --help {2,}this text\n/);
  assert.ok(help.endsWith("One paragraph.\n\n  an example --kept as written\n"), help);
  for (const line of help.split("\n")) assert.ok(line.length <= 100, `${line.length}: ${line}`);
  assert.ok(help.split("\n").filter((l) => l.includes("word word")).length >= 2, "a long help wraps");
});

test("parsing reads the same table: defaults, repeats, positionals; a bad flag names itself and the usage", () => {
  const { values, positionals } = parseFlags(DEMO, ["--tag", "x", "--tag", "y", "-l", "in.txt"]);
  assert.equal({ ...values }, { count: "3", words: "a b", tag: ["x", "y"], loud: true });
  assert.equal(positionals, ["in.txt"]);
  assert.throws(() => parseFlags(DEMO, ["--nope"]), (e: Error) => e.message.includes("'--nope'") && e.message.includes("usage: demo [--count N]") && !e.message.includes("\n"));
  assert.throws(() => parseFlags({ ...DEMO, positionals: undefined }, ["x"]), /usage: demo/);
  assert.ok(wantsHelp(["--count", "2", "-h"]));
  assert.not.ok(wantsHelp(["--", "-h"]), "after -- it belongs to someone else");
});

test("server.ts: --help is made from the table parseServerFlags reads", () => {
  for (const [name, f] of Object.entries(SERVER_COMMAND.flags)) {
    assert.ok(SERVER_HELP.includes(`--${name}${f.type === "string" ? ` ${f.value}` : ""}`), `--${name} in the help`);
  }
  assert.throws(() => parseServerFlags(["--id", "a", "--bogus"]), (e: Error) => e.name === "FlagError" && /'--bogus'.*usage: npm run server/.test(e.message));
  assert.is(parseServerFlags(["--id", "a"]).db, "data/a.sqlite");
});

test("every entry script's usage line names how to run it here: its npm script, else node_modules/.bin/node (the system node may be too old)", () => {
  const root = new URL("../", import.meta.url);
  const scripts = JSON.parse(readFileSync(new URL("package.json", root), "utf8")).scripts as Record<string, string>;
  const npmName = (file: string) => Object.entries(scripts).find(([, cmd]) => cmd === `node ${file}`)?.[0];
  const files = ["lib/main/server.ts", "lib/main/client.ts", ...["bench", "scripts"].flatMap((d) => readdirSync(new URL(d, root)).filter((f) => f.endsWith(".ts")).map((f) => `${d}/${f}`))];
  let seen = 0;
  for (const file of files) {
    const m = /usage: "([^"]*)"/.exec(readFileSync(new URL(file, root), "utf8"));
    if (!m) continue;
    seen++;
    const name = npmName(file.replace("lib/main/", ""));
    const want = name === undefined ? "node_modules/.bin/node " : name === "start" ? "npm start" : `npm run ${name}`;
    assert.ok(m[1].startsWith(want), `${file}: usage "${m[1]}" should start with "${want}"`);
  }
  assert.ok(seen >= 20, `${seen} usage lines`);
});

test.run();
