/**
 * `npm run irctest`: runs irctest (progval/irctest, the public IRC
 * conformance suite) against DistChat's IRC front end with the controller in
 * irctest/distchat_controller.py (a fresh one-server cluster per test), then
 * against the two anchors, ngircd and InspIRCd (Debian's packages, installed
 * with apt-get when missing; services tests with Debian's Atheme), one after
 * another under the same markers, and writes the counts and every DistChat
 * failure and skip with its reason into docs/IRC.md
 * (scripts/irctest_report.ts). `--against distchat` runs DistChat alone;
 * arguments after `--` (a subset) run it without touching the doc. None
 * of irctest's own code is in this repository: give a checkout with
 * `--dir DIR` (or IRCTEST_DIR; default data/irctest), or `--from-git DIR` to
 * extract one from a git repository of irctest (bare or not) into data/irctest.
 * Python dependencies (pytest, ecdsa, filelock, websockets) are installed
 * with pip when missing. Extra arguments after `--` go to pytest.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import process from "node:process";
import { defineCommand, fail, parseCommandLine } from "../lib/config/cli.ts";
import { readJunit, renderReport, replaceSection, type Run } from "./irctest_report.ts";

const DEFAULT_MARKERS = "not Ergo and not deprecated and not strict";
const PYTHON_DEPS = ["pytest!=9.0.0", "ecdsa", "filelock", "websockets"];

/** Each server irctest can run against: its controller, and the Debian packages it needs. */
const TARGETS: Record<string, { name: string; controller: string; packages: string[]; binary: string }> = {
  distchat: { name: "DistChat", controller: "distchat_controller", packages: [], binary: "" },
  ngircd: { name: "ngircd", controller: "irctest.controllers.ngircd", packages: ["ngircd", "atheme-services"], binary: "/usr/sbin/ngircd" },
  inspircd: { name: "InspIRCd", controller: "irctest.controllers.inspircd", packages: ["inspircd", "atheme-services"], binary: "/usr/sbin/inspircd" },
};

const IRCTEST = defineCommand({
  name: "irctest",
  about: "npm run irctest: the IRC conformance suite against DistChat's IRC front end (docs/IRC.md).",
  usage: "npm run irctest -- [--dir DIR | --from-git DIR] [--against LIST] [--markers EXPR] [--runtime node|deno] [--junit FILE] [-- PYTEST-ARGS...]",
  positionals: [{ name: "PYTEST-ARGS", help: "after --: given to pytest as they are" }],
  flags: {
    dir: { type: "string", value: "DIR", help: "a checkout of progval/irctest (default: $IRCTEST_DIR, else data/irctest)" },
    "from-git": { type: "string", value: "DIR", help: "extract irctest from this git repository (its HEAD) into data/irctest first" },
    markers: {
      type: "string",
      value: "EXPR",
      default: DEFAULT_MARKERS,
      help: "pytest -m expression: the markers docs/IRC.md compares DistChat with ngircd and InspIRCd under",
    },
    runtime: { type: "string", value: "R", default: "node", help: "run the servers under node or deno" },
    against: {
      type: "string",
      value: "LIST",
      default: "distchat,ngircd,inspircd",
      help: "the servers to run, comma-separated: distchat, ngircd, inspircd; docs/IRC.md is written when all three ran the whole suite",
    },
    "report-only": { type: "boolean", default: false, help: "run nothing: write docs/IRC.md from the reports of an earlier run in data/irctest-results" },
    junit: { type: "string", value: "FILE", help: "also write pytest's JUnit XML report there" },
  },
  notes: "Each test starts its own server (server.ts --irc HOST:PORT) in a temporary directory; pytest's last line counts passed, failed and skipped tests. " +
    "The reports go to data/irctest-results/SERVER.xml. Example:\n\n" +
    '  npm run irctest -- --dir ~/src/irctest -- -k "Ping or Cap" -x',
});
const { values, positionals } = parseCommandLine(IRCTEST);

const root = resolve(import.meta.dirname ?? ".", "..");
if (values.runtime !== "node" && values.runtime !== "deno") fail("irctest", `--runtime ${values.runtime}: give node or deno`);

/** Runs a command, inheriting the terminal; returns its exit status. */
function run(cmd: string, args: string[], o: { cwd?: string; env?: NodeJS.ProcessEnv; quiet?: boolean } = {}): number {
  const r = spawnSync(cmd, args, { cwd: o.cwd, env: o.env ?? process.env, stdio: o.quiet ? "ignore" : "inherit" });
  if (r.error) fail("irctest", `cannot run ${cmd}: ${r.error.message}`, 1);
  return r.status ?? 1;
}

let dir = resolve(values.dir ?? process.env.IRCTEST_DIR ?? join(root, "data", "irctest"));
if (values["from-git"] !== undefined) {
  dir = join(root, "data", "irctest");
  mkdirSync(dir, { recursive: true });
  const archive = spawnSync("git", ["--git-dir", resolvedGitDir(values["from-git"]), "archive", "HEAD"], { maxBuffer: 1 << 28 });
  if (archive.status !== 0) fail("irctest", `--from-git ${values["from-git"]}: not a git repository with a HEAD`, 1);
  const tar = spawnSync("tar", ["-x", "-C", dir], { input: archive.stdout });
  if (tar.status !== 0) fail("irctest", `cannot unpack irctest into ${dir}`, 1);
  const head = spawnSync("git", ["--git-dir", resolvedGitDir(values["from-git"]), "rev-parse", "--short", "HEAD"], { encoding: "utf8" });
  writeFileSync(join(dir, ".irctest-commit"), head.stdout ?? "");
}
if (!existsSync(join(dir, "irctest", "basecontrollers.py"))) {
  fail("irctest", `no irctest checkout in ${dir}: get progval/irctest (GitHub) there, or pass --dir DIR or --from-git DIR`, 1);
}

/** A git directory: DIR/.git for a work tree, DIR itself for a bare repository. */
function resolvedGitDir(d: string): string {
  return existsSync(join(d, ".git")) ? join(d, ".git") : resolve(d);
}

if (run("python3", ["-c", "import pytest, ecdsa, filelock, websockets"], { quiet: true }) !== 0) {
  console.log(`installing irctest's Python dependencies: ${PYTHON_DEPS.join(" ")}`);
  if (run("python3", ["-m", "pip", "install", "--quiet", ...PYTHON_DEPS]) !== 0) fail("irctest", "pip could not install irctest's dependencies", 1);
}

const against = values.against!.split(",").filter((x) => x !== "");
for (const t of against) if (!TARGETS[t]) fail("irctest", `--against ${t}: give distchat, ngircd or inspircd`);
const subset = positionals.length > 0;
const results = join(root, "data", "irctest-results");
mkdirSync(results, { recursive: true });
if (values["report-only"]) against.length = 0;
for (const t of against) if (TARGETS[t].binary !== "" && !existsSync(TARGETS[t].binary)) installPackages(TARGETS[t].packages);
const env: NodeJS.ProcessEnv = {
  ...process.env,
  PYTHONPATH: [join(root, "irctest"), dir, process.env.PYTHONPATH].filter(Boolean).join(":"),
  DISTCHAT_RUNTIME: values.runtime,
  PATH: [anchorWrappers(), process.env.PATH, "/usr/sbin", "/sbin"].filter(Boolean).join(":"),
};
const runs: [string, Run][] = [];
for (const t of against) {
  const target = TARGETS[t];
  const junit = t === "distchat" && values.junit ? resolve(values.junit) : join(results, `${t}.xml`);
  console.log(`\n=== irctest against ${target.name}`);
  const args = [
    "-m", "pytest", "-p", "no:cacheprovider", "--controller", target.controller,
    ...(t === "distchat" ? [] : ["--services-controller", "irctest.controllers.atheme_services"]),
    "-m", values.markers!, "-rfEs", "--junitxml", junit,
    // test files given after "--" replace the whole suite
    ...(positionals.some((p) => p.startsWith("irctest/")) ? [] : ["irctest/server_tests/"]),
    ...positionals,
  ];
  const status = run("python3", args, { cwd: dir, env });
  if (t === "distchat") process.exitCode = status;
  if (existsSync(junit)) runs.push([target.name, readJunit(readFileSync(junit, "utf8"))]);
}
if (values["report-only"]) {
  for (const t of Object.keys(TARGETS)) {
    const file = join(results, `${t}.xml`);
    if (!existsSync(file)) fail("irctest", `--report-only: no ${file}; run npm run irctest first`, 1);
    runs.push([TARGETS[t].name, readJunit(readFileSync(file, "utf8"))]);
  }
}
if (!subset && runs.length === 3) {
  const doc = join(root, "docs", "IRC.md");
  const commit = irctestCommit();
  const report = renderReport({ runs, details: runs[0][1], when: new Date().toISOString().slice(0, 10), irctest: commit, markers: values.markers! });
  writeFileSync(doc, replaceSection(readFileSync(doc, "utf8"), report));
  console.log(`\nwrote the counts and DistChat's failures and skips into ${doc}`);
}
for (const [name, r] of runs) console.log(`${name}: ${r.passed} passed, ${r.failed} failed, ${r.skipped} skipped`);

/** The irctest commit run: of its checkout, or as --from-git noted it; else "a copy of unknown commit". */
function irctestCommit(): string {
  if (existsSync(join(dir, ".git"))) return spawnSync("git", ["-C", dir, "rev-parse", "--short", "HEAD"], { encoding: "utf8" }).stdout?.trim() ?? "";
  const noted = join(dir, ".irctest-commit");
  return existsSync(noted) ? readFileSync(noted, "utf8").trim() : "(a copy of unknown commit)";
}

/** Installs Debian packages with apt-get (as root), or says how. */
function installPackages(packages: string[]): void {
  if (process.getuid?.() !== 0) fail("irctest", `install the anchors first: sudo apt-get install ${packages.join(" ")}`, 1);
  console.log(`installing ${packages.join(" ")} (apt-get)`);
  if (run("apt-get", ["install", "-y", "-q", ...packages]) !== 0) fail("irctest", `apt-get could not install ${packages.join(" ")}`, 1);
}

/**
 * A folder of wrappers the anchors need, put first on PATH: as root, InspIRCd
 * refuses to start without --runasroot, so `inspircd` is given it. Debian's
 * InspIRCd keeps the examples irctest's config includes under
 * /usr/share/doc: they are linked where the config looks for them.
 */
function anchorWrappers(): string {
  if (process.getuid?.() !== 0) return "";
  const bin = join(results, "bin");
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(bin, "inspircd"), '#!/bin/sh\ncase "$1" in --version) exec /usr/sbin/inspircd "$@";; esac\nexec /usr/sbin/inspircd --runasroot "$@"\n', { mode: 0o755 });
  if (existsSync("/etc/inspircd") && !existsSync("/etc/inspircd/examples") && existsSync("/usr/share/doc/inspircd/examples")) {
    spawnSync("ln", ["-s", "/usr/share/doc/inspircd/examples", "/etc/inspircd/examples"]);
  }
  return bin;
}
