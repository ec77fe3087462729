/**
 * CPU profiles of running server processes with Linux `perf` (software
 * cpu-clock samples, so they count CPU time, not waiting), summarized into
 * where that CPU went: the JavaScript of each file (the runtime must write
 * /tmp/perf-PID.map: Node's --perf-basic-prof, Deno's
 * DENO_V8_FLAGS=--perf-basic-prof), SQLite and the rest of the runtime's
 * native code, the garbage collector, libc, and the kernel by system call.
 * Private to bench/ (bench/profile.ts).
 *
 * @example
 * ```ts
 * const p = startPerf(pid, "/tmp/a.perf");
 * // … load …
 * await p.stop();
 * const s = summarizePerf("/tmp/a.perf");
 * ```
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { relative } from "node:path";
import { ROOT } from "./_child.ts";

/** True when `perf record` works here (installed, and allowed to sample). */
export function perfAvailable(): boolean {
  const r = spawnSync("perf", ["stat", "-e", "cpu-clock", "true"], { encoding: "utf8" });
  return r.status === 0;
}

/** A `perf record` attached to one process (all its threads). */
export function startPerf(pid: number, file: string, hz = 1999): { stop(): Promise<void> } {
  const p = spawn("perf", ["record", "-e", "cpu-clock", "-F", String(hz), "-g", "-p", String(pid), "-o", file], { stdio: "ignore" });
  const exited = new Promise<void>((resolve) => p.on("exit", () => resolve()));
  return {
    async stop() {
      p.kill("SIGINT");
      const t = setTimeout(() => p.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(t);
    },
  };
}

/** One line of `perf report`: percent of all samples, dso, symbol. */
type Line = { pct: number; self: number; dso: string; sym: string };

function report(file: string, args: string[]): string {
  const r = spawnSync("perf", ["report", "-i", file, "--stdio", ...args], { encoding: "utf8", maxBuffer: 64 << 20 });
  return r.stdout ?? "";
}

/** Where the CPU of a profile went. */
export type PerfSummary = {
  samples: number;
  /** Self time by group ("SQLite and other C code", "JS lib/wire/…", "kernel", …), percent. */
  groups: [string, number][];
  /** The symbols with the most self time: [percent, dso, symbol]. */
  top: [number, string, string][];
  /** Inclusive percent of chosen entry points (system calls, SQLite calls, GC). */
  inclusive: [string, number][];
  /** Percent by thread name (the main thread, V8's workers, the checkpoint worker). */
  threads: [string, number][];
  /** JavaScript functions by inclusive percent, all compilation tiers of a function added up ("name file:line"). */
  functions: [string, number][];
};

/** "JS:*'peg$parse file:///…/lib/wire/_protocol_parser.js:156:19" → "peg$parse lib/wire/_protocol_parser.js:156"; null for other symbols. */
export function jsFunction(sym: string): string | null {
  const m = /^(?:JS|LazyCompile|Function):[*~^+]?'?(\S*)\s+(?:file:\/\/)?(\S+?):(\d+):\d+$/.exec(sym);
  if (!m) return null;
  const path = m[2].startsWith(ROOT) ? relative(ROOT, m[2]) : m[2];
  return `${m[1] || "(anonymous)"} ${path}:${m[3]}`;
}

/** The group of a symbol's self time. */
export function groupOf(dso: string, sym: string): string {
  if (dso.includes("kernel")) return "kernel";
  if (/^RegExp[.:]/.test(sym)) return "JS regular expressions (compiled)";
  const js = /^(?:JS|LazyCompile|Function):[*~^+]?\S*\s+(?:file:\/\/)?(\S+?):\d+:\d+$/.exec(sym);
  if (js || /^(JS|LazyCompile|Function):/.test(sym)) {
    const path = js ? js[1] : "";
    const rel = path.startsWith(ROOT) ? relative(ROOT, path) : path.replace(/^node:/, "node:");
    if (rel.includes("valibot")) return "JS valibot (lib/wire/_schemas.ts checks)";
    if (rel === "") return "JS (anonymous or runtime)";
    if (/^node:|^ext:|internal\//.test(rel)) return "JS runtime library (node:… / ext:…)";
    return `JS ${rel}`;
  }
  if (dso.startsWith("libc") || dso.includes("libc.so")) return "libc (malloc, free, memcpy)";
  if (/^Builtins_/.test(sym)) return "V8 builtins (part of running JS)";
  if (/Heap|Scaveng|MarkCompact|Sweep|Marking|Evacuat|MinorMS|GCTracer|ConcurrentMark|MemoryAllocator|PagedSpace|Compactor/.test(sym)) return "V8 garbage collector";
  if (/compiler::|Turboshaft|Maglev|maglev::|turboshaft::|OptimizedCompilationJob|TurbofanCompilationJob/.test(sym)) return "V8 optimizing compilers (JIT warm-up)";
  if (/^v8::|^v8_/.test(sym)) return "V8 runtime (ICs, objects, strings, API)";
  if (/^node::sqlite/.test(sym)) return "node:sqlite binding";
  if (/^node::|^uv_|^uv__/.test(sym)) return "Node runtime and libuv";
  if (dso === "[unknown]" || sym.startsWith("0x")) return "unsymbolized (Deno's native code: SQLite, runtime)";
  if (dso === "deno") return "unsymbolized (Deno's native code: SQLite, runtime)";
  if (dso.startsWith("[JIT]")) return "JS (other JIT code)";
  return "SQLite and other C code";
}

/** Entry points whose inclusive time is reported (system calls by their kernel entry, SQLite by its API). */
const ENTRY = /^(__x64_sys_\w+|sqlite3_step|sqlite3_exec|sqlite3_prepare_v[23]|sqlite3Reprepare|sqlite3_reset|sqlite3WalFrames|sqlite3PagerCommitPhaseOne|node::sqlite::\S+|v8::internal::Heap::CollectGarbage|v8::internal::ScavengerCollector::CollectGarbage|v8::internal::MarkCompactCollector::CollectGarbage|uv__udp_\w+|uv__io_poll|uv__run_check|uv__run_timers|asm_exc_page_fault|asm_sysvec_\w+)$/;

/** Reads a perf.data file (perf report) into a summary; null when it holds no samples. */
export function summarizePerf(file: string): PerfSummary | null {
  if (!existsSync(file)) return null;
  const selfText = report(file, ["--no-children", "-n", "--sort", "dso,sym", "-g", "none"]);
  const lines: Line[] = [];
  let samples = 0;
  for (const l of selfText.split("\n")) {
    // "  1.79%  123  [JIT] tid 13463  [.] JS:+'peg$parse file:///…:156:19"
    const m = /^\s+([\d.]+)%\s+(\d+)\s+(\[JIT\] tid \d+|\S+)\s+\[[.k]\]\s+(.*)$/.exec(l);
    if (!m) continue;
    samples += Number(m[2]);
    lines.push({ pct: Number(m[1]), self: Number(m[1]), dso: m[3], sym: m[4].trim() });
  }
  if (!samples) return null;
  const groups = new Map<string, number>();
  for (const l of lines) groups.set(groupOf(l.dso, l.sym), (groups.get(groupOf(l.dso, l.sym)) ?? 0) + l.pct);
  const childText = report(file, ["--children", "--sort", "sym", "-g", "none"]);
  const inclusive = new Map<string, number>();
  const functions = new Map<string, number>();
  for (const l of childText.split("\n")) {
    const m = /^\s+([\d.]+)%\s+([\d.]+)%\s+\[[.k]\]\s+(.*)$/.exec(l);
    if (!m) continue;
    const sym = m[3].trim();
    if (ENTRY.test(sym)) inclusive.set(sym, Math.max(inclusive.get(sym) ?? 0, Number(m[1])));
    const fn = jsFunction(sym);
    if (fn && !fn.includes("node:") && !fn.includes("ext:")) functions.set(fn, (functions.get(fn) ?? 0) + Number(m[1]));
  }
  const threads = new Map<string, number>();
  for (const l of report(file, ["--no-children", "--sort", "comm", "-g", "none"]).split("\n")) {
    const m = /^\s+([\d.]+)%\s+(.+?)\s*$/.exec(l);
    if (m) threads.set(m[2], (threads.get(m[2]) ?? 0) + Number(m[1]));
  }
  return {
    samples,
    threads: [...threads].sort((a, b) => b[1] - a[1]),
    functions: [...functions].sort((a, b) => b[1] - a[1]).slice(0, 45),
    groups: [...groups].sort((a, b) => b[1] - a[1]),
    top: lines.sort((a, b) => b.pct - a.pct).slice(0, 30).map((l) => [l.pct, l.dso, l.sym]),
    inclusive: [...inclusive].filter(([, p]) => p >= 0.3).sort((a, b) => b[1] - a[1]),
  };
}
