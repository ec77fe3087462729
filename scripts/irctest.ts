/**
 * `npm run irctest`: runs irctest (progval/irctest, the public IRC
 * conformance suite) against DistChat's IRC front end with the controller in
 * irctest/distchat_controller.py: a fresh one-server cluster per test. None
 * of irctest's own code is in this repository: give a checkout with
 * `--dir DIR` (or IRCTEST_DIR; default data/irctest), or `--from-git DIR` to
 * extract one from a git repository of irctest (bare or not) into data/irctest.
 * Python dependencies (pytest, ecdsa, filelock, websockets) are installed
 * with pip when missing. Extra arguments after `--` go to pytest.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import process from "node:process";
import { defineCommand, fail, parseCommandLine } from "../lib/config/cli.ts";



const DEFAULT_MARKERS = "not Ergo and not deprecated and not strict";
const PYTHON_DEPS = ["pytest!=9.0.0", "ecdsa", "filelock", "websockets"];

const IRCTEST = defineCommand({
  name: "irctest",
  about: "npm run irctest: the IRC conformance suite against DistChat's IRC front end (docs/IRC.md).",
  usage: "npm run irctest -- [--dir DIR | --from-git DIR] [--markers EXPR] [--runtime node|deno] [--junit FILE] [-- PYTEST-ARGS...]",
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
    junit: { type: "string", value: "FILE", help: "also write pytest's JUnit XML report there" },
  },
  notes: "Each test starts its own server (server.ts --irc HOST:PORT) in a temporary directory; pytest's last line counts passed, failed and skipped tests. Example:\n\n" +
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

const env = {
  ...process.env,
  PYTHONPATH: [join(root, "irctest"), dir, process.env.PYTHONPATH].filter(Boolean).join(":"),
  DISTCHAT_RUNTIME: values.runtime,
};
const args = [
  "-m", "pytest", "-p", "no:cacheprovider", "--controller", "distchat_controller",
  "-m", values.markers!, "-rfEs",
  ...(values.junit ? ["--junitxml", resolve(values.junit)] : []),
  // test files given after "--" replace the whole suite
  ...(positionals.some((p) => p.startsWith("irctest/")) ? [] : ["irctest/server_tests/"]),
  ...positionals,
];
process.exitCode = run("python3", args, { cwd: dir, env });
