/**
 * Child processes for the benchmarks: a script under Node or Deno (or any
 * program) in its own process group, spoken to in lines of JSON over
 * stdin/stdout, and always stopped (the whole group) when done.
 *
 * @example
 * ```ts
 * const child = startChild(runtimeCommand("deno", "bench/_limits_worker.ts", ["echo", "deno"]));
 * const { port } = await child.next<{ port: number }>(5000);
 * await child.stop();
 * ```
 */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

/** The repository root (bench/..). */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

export type Runtime = "node" | "deno";

/** Path of a runtime's binary: the pinned one in node_modules/.bin. */
export function runtimePath(runtime: Runtime): string {
  const pinned = join(ROOT, "node_modules", ".bin", runtime);
  if (existsSync(pinned)) return pinned;
  if (runtime === "node") return process.execPath;
  throw new Error(`Cannot find ${pinned}: run npm install`);
}

/** argv that runs `script` (relative to the repo root) under `runtime`. */
export function runtimeCommand(runtime: Runtime, script: string, args: readonly string[] = []): string[] {
  const path = join(ROOT, script);
  return runtime === "deno" ? [runtimePath("deno"), "run", "-A", path, ...args] : [runtimePath("node"), path, ...args];
}

/** A command as a reader would type it from the repo root. */
export function displayCommand(argv: readonly string[]): string {
  return argv.map((a) => (a.startsWith(ROOT + "/") ? relative(ROOT, a) : a)).join(" ");
}

/** CPU seconds (user + system, all threads) process `pid` has used; NaN when it is gone (Linux /proc). */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in USER_HZ (100 on Linux)
  } catch {
    return NaN;
  }
}

export type Child = {
  readonly pid: number;
  readonly argv: readonly string[];
  /** The next stdout line parsed as JSON; rejects after `timeoutMs` or when the child ends. */
  next<T>(timeoutMs: number): Promise<T>;
  /** Writes one line to the child's stdin. */
  send(line: string): void;
  /** Everything the child wrote to stderr so far (for error messages). */
  stderr(): string;
  /** Resolves when the child has exited. */
  readonly exited: Promise<number | null>;
  /** SIGTERM to the group, SIGKILL after `graceMs`; resolves when it has exited. */
  stop(graceMs?: number): Promise<void>;
};

const live = new Set<ChildProcess>();

/** Starts argv in its own process group (stdout: JSON lines). */
export function startChild(argv: readonly string[], options: { cwd?: string; env?: Record<string, string> } = {}): Child {
  const proc = spawn(argv[0], argv.slice(1), {
    cwd: options.cwd ?? ROOT,
    env: { ...process.env, NO_COLOR: "1", ...options.env },
    detached: true,
    stdio: ["pipe", "pipe", "pipe"],
  });
  live.add(proc);
  const lines: string[] = [];
  const waiters: ((line: string | null) => void)[] = [];
  let ended = false;
  let partial = "";
  let errText = "";
  proc.stdout!.setEncoding("utf8");
  proc.stdout!.on("data", (chunk: string) => {
    partial += chunk;
    let nl;
    while ((nl = partial.indexOf("\n")) >= 0) {
      const line = partial.slice(0, nl).trim();
      partial = partial.slice(nl + 1);
      if (!line) continue;
      const w = waiters.shift();
      if (w) w(line);
      else lines.push(line);
    }
  });
  proc.stderr!.setEncoding("utf8");
  proc.stderr!.on("data", (chunk: string) => {
    if (errText.length < 20_000) errText += chunk;
  });
  proc.stdin!.on("error", () => {});
  const exited = new Promise<number | null>((resolve) => {
    proc.on("exit", (code) => {
      ended = true;
      live.delete(proc);
      for (const w of waiters.splice(0)) w(null);
      resolve(code);
    });
    proc.on("error", (e) => {
      errText += String(e);
      ended = true;
      live.delete(proc);
      for (const w of waiters.splice(0)) w(null);
      resolve(null);
    });
  });
  const shown = displayCommand(argv);
  return {
    pid: proc.pid ?? -1,
    argv,
    next<T>(timeoutMs: number): Promise<T> {
      const ready = lines.shift();
      if (ready !== undefined) return Promise.resolve(JSON.parse(ready) as T);
      if (ended) return Promise.reject(new Error(`${shown} ended: ${errText.trim().slice(-500)}`));
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => {
          const i = waiters.indexOf(take);
          if (i >= 0) waiters.splice(i, 1);
          reject(new Error(`${shown}: no answer in ${timeoutMs} ms ${errText.trim().slice(-500)}`));
        }, timeoutMs);
        const take = (line: string | null) => {
          clearTimeout(timer);
          if (line === null) reject(new Error(`${shown} ended: ${errText.trim().slice(-500)}`));
          else {
            try {
              resolve(JSON.parse(line) as T);
            } catch {
              reject(new SyntaxError(`${shown} wrote a line that is not JSON: ${line.slice(0, 200)}`));
            }
          }
        };
        waiters.push(take);
      });
    },
    send(line) {
      if (!ended) proc.stdin!.write(line + "\n");
    },
    stderr: () => errText,
    exited,
    async stop(graceMs = 1000) {
      if (ended) return;
      signalGroup(proc, "SIGTERM");
      const timer = setTimeout(() => signalGroup(proc, "SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

function signalGroup(proc: ChildProcess, signal: NodeJS.Signals): void {
  if (proc.pid === undefined) return;
  try {
    process.kill(-proc.pid, signal);
  } catch {
    // the group is gone already
  }
}

/** SIGKILLs every child still running (for exit and signal handlers). */
export function killAllChildren(): void {
  for (const proc of live) signalGroup(proc, "SIGKILL");
}
