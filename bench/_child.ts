/**
 * Child processes for the benchmarks: a script under Node or Deno (or any
 * program) spoken to in lines of JSON over stdin/stdout, on the process
 * groups of testing/processes.ts (always stopped, the whole group).
 *
 * @example
 * ```ts
 * const child = startChild(runtimeCommand("deno", "bench/_limits_worker.ts", ["echo", "deno"]));
 * const { port } = await child.next<{ port: number }>(5000);
 * await child.stop();
 * ```
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { killAll, startProcess } from "../testing/processes.ts";

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

/** Starts argv in its own process group (stdout: JSON lines). */
export function startChild(argv: readonly string[], options: { cwd?: string; env?: Record<string, string> } = {}): Child {
  const lines: string[] = [];
  const waiters: ((line: string | null) => void)[] = [];
  let partial = "";
  const p = startProcess(argv, {
    cwd: options.cwd ?? ROOT,
    env: { NO_COLOR: "1", ...options.env },
    stdin: "pipe",
    maxStderr: 20_000,
    onStdout(chunk) {
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
    },
  });
  const exited = p.exited.then((e) => {
    for (const w of waiters.splice(0)) w(null);
    return e.code;
  });
  const shown = displayCommand(argv);
  const errText = () => p.stderr();
  return {
    pid: p.pid,
    argv,
    next<T>(timeoutMs: number): Promise<T> {
      const ready = lines.shift();
      if (ready !== undefined) return Promise.resolve(JSON.parse(ready) as T);
      if (p.ended) return Promise.reject(new Error(`${shown} ended: ${errText().trim().slice(-500)}`));
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => {
          const i = waiters.indexOf(take);
          if (i >= 0) waiters.splice(i, 1);
          reject(new Error(`${shown}: no answer in ${timeoutMs} ms ${errText().trim().slice(-500)}`));
        }, timeoutMs);
        const take = (line: string | null) => {
          clearTimeout(timer);
          if (line === null) reject(new Error(`${shown} ended: ${errText().trim().slice(-500)}`));
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
    send: (line) => p.write(line + "\n"),
    stderr: errText,
    exited,
    async stop(graceMs = 1000) {
      if (!p.ended) await p.stop(graceMs);
    },
  };
}

/** SIGKILLs every child still running (for exit and signal handlers). */
export const killAllChildren = killAll;

/** Stops every child (each its own process group). */
export async function stopAll(children: readonly Child[]): Promise<void> {
  await Promise.all(children.map((c) => c.stop()));
}

/** The load average (1, 5, 15 minutes) as /proc/loadavg gives it, "?" where there is none. */
export function loadAverage(): string {
  try {
    return readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
  } catch {
    return "?";
  }
}

/**
 * A bench script's temp directory under the OS's, and what removes it: `cleanup` kills every child still running and
 * removes the directory; SIGINT and SIGTERM run it and exit 130.
 */
export function benchTempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const cleanup = () => {
    killAll();
    rmSync(dir, { recursive: true, force: true });
  };
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => (cleanup(), process.exit(130)));
  return { dir, cleanup };
}

/** Prints a bench script's summary lines and writes them to `out` (relative to the repository root), making its folder. */
export function writeSummary(lines: readonly string[], out: string): void {
  const text = lines.join("\n") + "\n";
  console.log("\n" + text);
  const file = resolve(ROOT, out);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
}
