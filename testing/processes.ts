/**
 * Child processes for tests, benchmarks and the demo: each in its own
 * process group (so a launcher such as node_modules/.bin/deno and the
 * runtime it starts stop together), its output collected, and every group
 * still running killed when this process exits; `groupRss` reads the
 * resident memory of a group's largest process from /proc.
 *
 * @example
 * ```ts
 * const p = startProcess(["node", "server.ts", "--id", "a"], { cwd: ROOT });
 * await p.stop();      // SIGTERM to the group, SIGKILL after the grace period
 * p.stderr();          // what it wrote
 * ```
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import process from "node:process";

export type Exit = { code: number | null; signal: string | null };

export type ProcessOptions = {
  cwd?: string;
  /** Added to this process's environment. */
  env?: Record<string, string>;
  /** "pipe" to write to it (`write`, `endInput`); default "ignore". */
  stdin?: "pipe" | "ignore";
  /** Called with each chunk of stdout as it arrives (text). */
  onStdout?: (chunk: string) => void;
  /** Most characters of stderr kept (default: all). */
  maxStderr?: number;
};

export type Proc = {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Everything it wrote so far. */
  stdout(): string;
  stderr(): string;
  /** Writes to its stdin (with stdin "pipe"); ignored once it has exited. */
  write(text: string): void;
  /** Closes its stdin. */
  endInput(): void;
  /** Resolves when it has exited. */
  readonly exited: Promise<Exit>;
  /** True once it has exited. */
  readonly ended: boolean;
  /** Sends `signal` to its whole group. */
  signal(signal: NodeJS.Signals): void;
  /** SIGTERM to the group, SIGKILL after `graceMs` (default 10 s); resolves with the exit. */
  stop(graceMs?: number): Promise<Exit>;
  /** SIGKILL to the group (a crash); resolves with the exit. */
  kill9(): Promise<Exit>;
};

const live = new Set<Proc>();

/** Starts `argv` in its own process group. */
export function startProcess(argv: readonly string[], o: ProcessOptions = {}): Proc {
  const child = spawn(argv[0], argv.slice(1), {
    cwd: o.cwd,
    env: o.env ? { ...process.env, ...o.env } : process.env,
    detached: true,
    stdio: [o.stdin ?? "ignore", "pipe", "pipe"],
  });
  let out = "", err = "", ended = false;
  child.stdout?.setEncoding("utf8").on("data", (d: string) => {
    out += d;
    o.onStdout?.(d);
  });
  child.stderr?.setEncoding("utf8").on("data", (d: string) => {
    if (o.maxStderr === undefined || err.length < o.maxStderr) err += d;
  });
  child.stdin?.on("error", () => {});
  const exited = new Promise<Exit>((resolve) => {
    const done = (e: Exit) => {
      if (ended) return;
      ended = true;
      live.delete(proc);
      resolve(e);
    };
    child.once("exit", (code, signal) => done({ code, signal }));
    child.once("error", (e) => {
      err += String(e);
      done({ code: null, signal: "spawn-error" });
    });
  });
  const signal = (sig: NodeJS.Signals) => {
    if (child.pid === undefined || ended) return;
    try {
      process.kill(-child.pid, sig);
    } catch {
      try {
        child.kill(sig);
      } catch { /* gone */ }
    }
  };
  const proc: Proc = {
    child,
    pid: child.pid ?? -1,
    stdout: () => out,
    stderr: () => err,
    write: (text) => void (!ended && child.stdin?.write(text)),
    endInput: () => void child.stdin?.end(),
    exited,
    get ended() {
      return ended;
    },
    signal,
    async stop(graceMs = 10_000) {
      signal("SIGTERM");
      const timer = setTimeout(() => signal("SIGKILL"), graceMs);
      const e = await exited;
      clearTimeout(timer);
      return e;
    },
    kill9() {
      signal("SIGKILL");
      return exited;
    },
  };
  live.add(proc);
  return proc;
}

/** What the processes of group `pgid` hold now (Linux /proc): resident memory (MiB) and open file descriptors. */
export function groupUsage(pgid: number): { rssMiB: number; fds: number } {
  let kb = 0, fds = 0;
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(fields[2]) !== pgid) continue; // pgrp
      kb += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0);
      fds += readdirSync(`/proc/${pid}/fd`).length;
    } catch { /* gone */ }
  }
  return { rssMiB: kb / 1024, fds };
}

/** SIGKILLs every process group still running (exit and signal handlers). */
export function killAll(): void {
  for (const p of live) p.signal("SIGKILL");
}

process.on("exit", killAll);

function statusKiB(status: string, field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status);
  return m ? Number(m[1]) : 0;
}

/** The member of process group `pgid` with the largest VmRSS (the runtime, not a launcher). */
export function groupRss(pgid: number): { rssKiB: number; hwmKiB: number; pid: number } {
  let best = { rssKiB: 0, hwmKiB: 0, pid: -1 };
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(fields[2]) !== pgid) continue; // field 5: pgrp
      const status = readFileSync(`/proc/${name}/status`, "utf8");
      const rssKiB = statusKiB(status, "VmRSS");
      if (rssKiB > best.rssKiB) best = { rssKiB, hwmKiB: statusKiB(status, "VmHWM"), pid: Number(name) };
    } catch { /* gone meanwhile */ }
  }
  return best;
}

let stopping = false;

/**
 * On SIGINT, SIGTERM or SIGHUP: SIGKILLs every process group still running,
 * runs `cleanup` (the harness removes its temporary directories), says so
 * in one line and exits 130 (143 for SIGTERM). For runners (tests/run.ts):
 * without it a signal ends the process without its exit handlers, leaving
 * servers (parent PID 1) and /tmp directories behind.
 */
export function stopOnSignals(cleanup: () => void = () => {}): void {
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      const n = live.size;
      killAll();
      try {
        cleanup();
      } catch { /* best effort: exiting anyway */ }
      process.stdout.write(`\n${signal}: stopped ${n} process group${n === 1 ? "" : "s"} the tests started, removed their temporary directories\n`);
      process.exit(signal === "SIGTERM" ? 143 : 130);
    });
  }
}
