/**
 * V8's own garbage-collection trace of bench servers, lined up with what a
 * bench measured (issue 27, the delivery tail; not a test). The servers run
 * with `--trace-gc` — under Deno through DENO_V8_FLAGS, under Node through
 * bench/_trace_preload.ts (DISTCHAT_GC_TRACE: NODE_OPTIONS cannot carry a V8
 * flag) — and print a line per collection on stdout (line-buffered: `STDBUF`); each line
 * is stamped with the driver's clock when it arrives, so a pause is known to
 * have ended by then. A process prints the collections of every isolate it
 * runs (the checkpoint worker's too): the isolate with the most lines is the
 * main thread's, whose pauses stop the event loop.
 *
 * @example
 * ```ts
 * const gc = new GcLog();
 * const c = await startBenchCluster("deno", dir, 3, { pairProxies: false, args, env: gcTraceEnv("deno"), onStdout: gc.hear });
 * gc.pauses({ ids: ["a", "b"], from, to, minMs: 2 }); // [{ id: "a", kind: "Incremental Mark-Compact", ms: 40.1, endAt: … }]
 * ```
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { ROOT, type Runtime } from "./_child.ts";

/**
 * coreutils' stdbuf library: V8 prints the trace through C's stdout, which a pipe makes block-buffered (Deno's lines
 * then arrive at exit, not as they happen); preloaded with _STDBUF_O=L it is line-buffered.
 */
const STDBUF = "/usr/libexec/coreutils/libstdbuf.so";

/** The environment that makes a bench server print V8's GC trace, a line as each collection ends. */
export function gcTraceEnv(runtime: Runtime): Record<string, string> {
  const lines: Record<string, string> = existsSync(STDBUF) ? { LD_PRELOAD: STDBUF, _STDBUF_O: "L" } : {};
  if (runtime === "deno") return { ...lines, DENO_V8_FLAGS: "--trace-gc" };
  return { ...lines, DISTCHAT_GC_TRACE: "1", NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} --import=${join(ROOT, "bench", "_trace_preload.ts")}`.trim() };
}

/**
 * One collection: the server, the isolate, its kind, its pause (ms), when its line reached the driver
 * (performance.now()), and for a mark-compact the wall time since its incremental marking began (ms; else 0): the
 * slow deliveries of Deno's first mark-compact came during the marking, not only in the final pause.
 */
export type GcPause = { id: string; isolate: string; kind: string; ms: number; endAt: number; markingMs: number };

/** "[pid:0xisolate]   5203 ms: Scavenge 21.4 (30.0) -> 15.9 (30.7) MB, pooled: 0.0 MB, 4.82 / 0.00 ms …" */
const LINE = /^\[\d+:(0x[0-9a-f]+)\]\s+[\d.]+ ms: ([A-Za-z -]+?)(?: \([a-z ]+\))? [\d.]+ \([\d.]+\) -> .*?, ([\d.]+) \/ [\d.]+ ms/;

export class GcLog {
  #all: GcPause[] = [];
  #partial = new Map<string, string>();

  /** Takes a chunk of server `id`'s stdout (ClusterOptions.onStdout). */
  hear = (id: string, chunk: string): void => {
    const at = performance.now();
    const text = (this.#partial.get(id) ?? "") + chunk;
    const lines = text.split("\n");
    this.#partial.set(id, lines.pop() ?? "");
    for (const line of lines) {
      const m = LINE.exec(line);
      const marking = / walltime since start of marking ([\d.]+) ms/.exec(line);
      if (m) this.#all.push({ id, isolate: m[1], kind: m[2], ms: Number(m[3]), endAt: at, markingMs: marking ? Number(marking[1]) : 0 });
    }
  };

  /** Forgets what was heard (a new cluster). */
  clear(): void {
    this.#all = [];
    this.#partial.clear();
  }

  /** The main isolate of server `id`: the one with the most collections. */
  #main(id: string): string | undefined {
    const n = new Map<string, number>();
    for (const p of this.#all) if (p.id === id) n.set(p.isolate, (n.get(p.isolate) ?? 0) + 1);
    return [...n].sort((x, y) => y[1] - x[1])[0]?.[0];
  }

  /** Main-thread pauses of at least `minMs` on `ids` that ended within [from, to] (driver ms). */
  pauses(o: { ids: string[]; from: number; to: number; minMs: number }): GcPause[] {
    const main = new Map(o.ids.map((id) => [id, this.#main(id)]));
    return this.#all.filter((p) => main.get(p.id) === p.isolate && p.ms >= o.minMs && p.endAt >= o.from && p.endAt <= o.to);
  }
}

/**
 * Of the samples (send time `sentAt[i]`, delivery `ms[i]`, driver ms) at or above `cut`, how many were in flight while
 * one of `pauses` ran — its pause, or a mark-compact's incremental marking — (its line arriving up to `slackMs` after).
 */
export function slowDuringGc(sentAt: readonly number[], ms: readonly number[], cut: number, pauses: readonly GcPause[], slackMs = 2): { slow: number; during: number } {
  let slow = 0, during = 0;
  for (let i = 0; i < ms.length; i++) {
    if (ms[i] < cut) continue;
    slow++;
    const from = sentAt[i], to = sentAt[i] + ms[i];
    if (pauses.some((p) => p.endAt - Math.max(p.ms, p.markingMs) - slackMs <= to && p.endAt >= from)) during++;
  }
  return { slow, during };
}
