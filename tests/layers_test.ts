/**
 * The house rules that a reader of lib/ relies on (docs/ARCHITECTURE.md
 * "The picture", CONTRIBUTING.md "How code reads here"), checked on the
 * source itself (testing/source_scan.ts):
 *
 * - no folder of lib/ imports one above it: each folder may import only the
 *   folders it sits on (LAYERS), directly or through them, and its own;
 * - a `_`-prefixed file is imported only from its own folder;
 * - no file of lib/ is over 400 lines, no function over 80, server.ts is at
 *   most 150 lines.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { folderOf, importedFolders, longFunctions, readSource, sourceFiles } from "../testing/source_scan.ts";
import { ROOT } from "../testing/harness.ts";

/**
 * Each folder of lib/ and the folders it sits on (it may import them and
 * what they sit on). Bottom to top: wire and platform; rules; acks,
 * replication, accounts, secure; store and config; handlers; server; then
 * the edges — web (the web listener), net (sockets), irc (the IRC front
 * end's core), ircd (its listener) and client (the terminal client's core);
 * on top, main: what server.ts and client.ts run (flags, files, sockets).
 */
const LAYERS: Record<string, readonly string[]> = {
  wire: [],
  platform: [],
  rules: ["wire"],
  acks: ["rules"],
  replication: ["acks"],
  accounts: ["rules"],
  secure: ["wire", "platform"],
  store: ["rules"],
  config: ["secure"],
  handlers: ["store", "accounts"],
  server: ["handlers", "acks", "replication", "config", "platform"],
  web: ["server", "net"],
  net: ["wire", "platform"],
  irc: ["handlers", "client"],
  ircd: ["irc", "web"],
  client: ["accounts", "net", "config"],
  main: ["web", "ircd", "client"],
};

const MAX_FILE_LINES = 400;
const MAX_FUNCTION_LINES = 80;
const MAX_SERVER_TS_LINES = 150;
/** Generated files (npm run gen) and type declarations are not written by hand. */
const GENERATED = /(^|\/)_[a-z_]+_parser\.js$|\.d\.ts$/;

/** Every folder `folder` may import: the closure of LAYERS. Throws on a cycle or an unknown folder. */
function below(folder: string, path: string[] = []): Set<string> {
  if (path.includes(folder)) throw new Error(`LAYERS has a cycle: ${[...path, folder].join(" -> ")}`);
  const direct = LAYERS[folder];
  if (direct === undefined) throw new Error(`lib/${folder}/ is not in LAYERS: give it a place`);
  const out = new Set<string>();
  for (const d of direct) {
    out.add(d);
    for (const x of below(d, [...path, folder])) out.add(x);
  }
  return out;
}

/** Every import of `files` (repository paths and texts) that breaks the layers or reaches a private file. */
function layerViolations(files: readonly { path: string; text: string }[]): string[] {
  const out: string[] = [];
  for (const { path, text } of files) {
    const from = folderOf(path);
    if (from === null) continue;
    const allowed = below(from);
    for (const e of importedFolders(path, text)) {
      const name = e.file.split("/").pop()!;
      if (e.folder !== from && name.startsWith("_")) out.push(`${path}:${e.line} imports ${e.file}, private to lib/${e.folder}/`);
      if (e.folder !== from && !allowed.has(e.folder)) out.push(`${from} -> ${e.folder}: ${path}:${e.line} imports ${e.file}`);
    }
  }
  return out;
}

/** Files over MAX_FILE_LINES and functions over MAX_FUNCTION_LINES. */
function sizeViolations(files: readonly { path: string; text: string }[]): string[] {
  const out: string[] = [];
  for (const { path, text } of files) {
    const lines = text.split("\n").length - (text.endsWith("\n") ? 1 : 0);
    if (lines > MAX_FILE_LINES) out.push(`${path}: ${lines} lines (at most ${MAX_FILE_LINES})`);
    if (!path.endsWith(".ts")) continue;
    for (const f of longFunctions(text, MAX_FUNCTION_LINES)) {
      out.push(`${path}:${f.line}: a function of ${f.lines} lines (at most ${MAX_FUNCTION_LINES}): ${f.head}`);
    }
  }
  return out;
}

const lib = sourceFiles(ROOT, "lib", [".ts", ".js"]).filter((p) => !GENERATED.test(p)).map((path) => ({ path, text: readSource(ROOT, path) }));

test("no folder of lib/ imports one above it, nor another folder's private file", () => {
  assert.equal(layerViolations(lib), []);
});

test(`no file of lib/ over ${MAX_FILE_LINES} lines, no function over ${MAX_FUNCTION_LINES}`, () => {
  assert.equal(sizeViolations(lib), []);
});

test(`server.ts at most ${MAX_SERVER_TS_LINES} lines`, () => {
  const n = readSource(ROOT, "server.ts").trimEnd().split("\n").length;
  assert.ok(n <= MAX_SERVER_TS_LINES, `server.ts has ${n} lines`);
});

test("the checks can fail: an upward import, a private file, a long file, long functions (one-line and multi-line signatures, arrows)", () => {
  const body = (n: number) => Array.from({ length: n }, (_, i) => `    x += ${i};`).join("\n");
  const fixture = [
    { path: "lib/rules/bad.ts", text: 'import { Store } from "../store/store.ts";\nimport type { Op } from "../wire/messages.ts";\n' },
    { path: "lib/server/peek.ts", text: 'import { x } from "../store/_schema.ts";\n' },
    { path: "lib/store/fine.ts", text: 'import { opKey } from "../rules/conflict.ts";\nimport { y } from "./_ops.ts";\n' },
  ];
  assert.equal(layerViolations(fixture), [
    "rules -> store: lib/rules/bad.ts:1 imports lib/store/store.ts",
    "lib/server/peek.ts:1 imports lib/store/_schema.ts, private to lib/store/",
  ]);
  const long = [
    { path: "lib/wire/long.ts", text: "// x\n".repeat(MAX_FILE_LINES + 1) },
    { path: "lib/wire/fns.ts", text: `export function f(a: number): number {\n  let x = a;\n${body(80)}\n  return x;\n}\n` },
    { path: "lib/wire/meth.ts", text: `class C {\n  m(\n    a: number,\n  ): number {\n    let x = a;\n${body(76)}\n    return x;\n  }\n}\n` },
    { path: "lib/wire/arrow.ts", text: `export const g = (a: number): number => {\n  let x = a;\n${body(77)}\n  return x;\n};\n` },
    { path: "lib/wire/short.ts", text: `export function h(a: number): number {\n  let x = a;\n${body(75)}\n  return x;\n}\n` },
  ];
  assert.equal(sizeViolations(long).map((v) => v.replace(/: a function of (\d+) lines.*/, " $1")), [
    `lib/wire/long.ts: ${MAX_FILE_LINES + 1} lines (at most ${MAX_FILE_LINES})`,
    "lib/wire/fns.ts:1 84",
    "lib/wire/meth.ts:2 82",
    "lib/wire/arrow.ts:1 81",
  ]);
  assert.throws(() => layerViolations([{ path: "lib/nowhere/x.ts", text: "" }]), /not in LAYERS/);
});

test.run();
