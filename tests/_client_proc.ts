/**
 * client.ts as a child process for black-box tests: stdin a pipe (pipe
 * mode), stdout and stderr collected, its own process group, killed at exit.
 *
 * @example
 * ```ts
 * const bob = startClient(["--user", "bob", "--servers", file, "--room", "lobby"]);
 * bob.send("hi");
 * await bob.waitFor(/bob: hi/);
 * assert.is(await bob.end(), 0);
 * ```
 */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { join } from "node:path";
import process from "node:process";
import { scriptCommand } from "../lib/runtime.ts";

const ROOT = join(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "..");

export type ClientProc = {
  child: ChildProcess;
  out(): string;
  err(): string;
  /** The message lines on stdout (`HH:MM:SS [room] sender: text`), without the time. */
  messages(): string[];
  send(line: string): void;
  /** Waits until stdout+stderr match `re`. */
  waitFor(re: RegExp, ms?: number): Promise<void>;
  /** Closes stdin and waits for the exit code (kills it after `ms`). */
  end(ms?: number): Promise<number | null>;
  kill(): void;
};

/** Polls `cond` every 10 ms; throws naming `what` after `ms`. */
export async function until(what: string | (() => string), cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${typeof what === "string" ? what : what()}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const running = new Set<ChildProcess>();
const killGroup = (c: ChildProcess) => {
  try {
    process.kill(-(c.pid as number), "SIGKILL");
  } catch { /* gone */ }
};
process.on("exit", () => {
  for (const c of running) killGroup(c);
});

/** Starts client.ts with `args` (NO_COLOR set). */
export function startClient(args: string[]): ClientProc {
  const [cmd, ...rest] = scriptCommand(join(ROOT, "client.ts"), args);
  const child = spawn(cmd, rest, { cwd: ROOT, detached: true, stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, NO_COLOR: "1" } });
  running.add(child);
  let out = "", err = "";
  child.stdout?.setEncoding("utf8").on("data", (d: string) => (out += d));
  child.stderr?.setEncoding("utf8").on("data", (d: string) => (err += d));
  const exited = new Promise<number | null>((r) =>
    child.once("exit", (code) => {
      running.delete(child);
      r(code);
    })
  );
  return {
    child,
    out: () => out,
    err: () => err,
    messages: () => out.split("\n").filter((l) => /^\d\d:\d\d:\d\d \[/.test(l)).map((l) => l.slice(9)),
    send: (line) => void child.stdin?.write(line + "\n"),
    async waitFor(re, ms = 30_000) {
      await until(() => `${re} in client output:\n${out}\n${err}`, () => re.test(out + err), ms);
    },
    async end(ms = 30_000) {
      child.stdin?.end();
      const timer = setTimeout(() => killGroup(child), ms);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
    kill: () => killGroup(child),
  };
}
