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
import type { ChildProcess } from "node:child_process";
import { join } from "node:path";
import { scriptCommand } from "../lib/platform/runtime.ts";
import { startProcess } from "../testing/processes.ts";

const ROOT = join(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "..");

export type ClientProc = {
  child: ChildProcess;
  out(): string;
  err(): string;
  /** The message lines on stdout (`HH:MM:SS [room] sender: text`), without the time; not notices or actions. */
  messages(): string[];
  /** The notice and action lines on stdout (`HH:MM:SS [room] * bob joined`), without the time. */
  notices(): string[];
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

/** Starts client.ts with `args` (NO_COLOR set), under `wrap` (e.g. `ip netns exec NS`) when given. */
export function startClient(args: string[], wrap: string[] = []): ClientProc {
  const p = startProcess([...wrap, ...scriptCommand(join(ROOT, "client.ts"), args)], { cwd: ROOT, stdin: "pipe", env: { NO_COLOR: "1" } });
  const text = () => p.stdout() + p.stderr();
  return {
    child: p.child,
    out: p.stdout,
    err: p.stderr,
    messages: () => p.stdout().split("\n").filter((l) => /^\d\d:\d\d:\d\d \[/.test(l) && !/^\S+ \[[^\]]*\] \* /.test(l)).map((l) => l.slice(9)),
    notices: () => p.stdout().split("\n").filter((l) => /^\d\d:\d\d:\d\d \[[^\]]*\] \* /.test(l)).map((l) => l.slice(9)),
    send: (line) => p.write(line + "\n"),
    async waitFor(re, ms = 30_000) {
      await until(() => `${re} in client output:\n${p.stdout()}\n${p.stderr()}`, () => re.test(text()), ms);
    },
    async end(ms = 30_000) {
      p.endInput();
      const timer = setTimeout(() => p.signal("SIGKILL"), ms);
      const { code } = await p.exited;
      clearTimeout(timer);
      return code;
    },
    kill: () => p.signal("SIGKILL"),
  };
}
