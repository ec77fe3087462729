/**
 * An event trace of a server process, for bench/trace.ts (not part of the
 * product; issue 27). Loaded before server.ts — `node --import
 * ./bench/_trace_preload.ts server.ts …` (bench/trace.ts passes it in
 * NODE_OPTIONS) — it does nothing unless DISTCHAT_TRACE names a directory
 * and the main script is server.ts. Then it wraps, without changing what
 * they do:
 *
 * - each callback the event loop runs: a datagram arriving (node:dgram
 *   "message"), an immediate (`Clock.soon`), a timer (`after`, `every`);
 * - each datagram sent (node:dgram `send`), and when it really leaves
 *   (node:dgram sends once the running callback has returned);
 * - each SQLite statement run (`StatementSync` run/get/all/iterate, by SQL
 *   text) and each `exec` (BEGIN, COMMIT, PRAGMA), with its duration;
 * - each `fsyncSync` / `fdatasyncSync` / `writeFileSync` (the write-ahead
 *   log's sync, the high-water mark), with its duration, and each `fsync`
 *   (the pipelined commit's, on the thread pool) from its call to its callback;
 * - the checkpoints of the worker thread (`PRAGMA wal_checkpoint`);
 * - garbage collections (PerformanceObserver "gc": the pause, its kind).
 *
 * Times are CLOCK_MONOTONIC µs (process.hrtime), the same clock in every
 * process of the machine, so the traces of several servers and of the
 * driver line up. Events go to DIR/trace-PID-THREAD.jsonl, one JSON array
 * per line, flushed every 200 ms and at exit; SIGUSR2 also writes a line
 * `["mark", t, label, uvLoopCount]` (the driver marks the start and end of
 * what it measures; uvLoopCount is libuv's count of event-loop turns).
 *
 * Event lines: ["rx", t, dur, localPort, bytes, head] · ["tx", t, localPort,
 * toPort, bytes, head] · ["go", t, localPort, toPort, bytes, head, txTime] · ["im", t, dur, name] · ["tm", t, dur, ms, name] ·
 * ["sql", t, dur, sql] · ["ex", t, dur, sql] · ["fs", t, dur, call] ·
 * ["ck", t, dur, sql] · ["gc", t, dur, kind]. `head` is the datagram's first two lines: a client's
 * verb and tag ("add t12"), a peer's verb and sender ("add a").
 */
import fs from "node:fs";
import dgram from "node:dgram";
import { syncBuiltinESMExports } from "node:module";
import process from "node:process";
import { isMainThread, threadId } from "node:worker_threads";
import { DatabaseSync, StatementSync } from "node:sqlite";
import { performance, PerformanceObserver } from "node:perf_hooks";
import { setFlagsFromString } from "node:v8";

const dir = process.env.DISTCHAT_TRACE;
const script = process.argv[1] ?? "";
const worker = !isMainThread;
if (dir && (worker || /server\.ts$/.test(script))) install(dir);
// bench/_gc_trace.ts: V8's GC trace on stdout (a V8 flag NODE_OPTIONS cannot carry), servers only.
if (process.env.DISTCHAT_GC_TRACE && isMainThread && /server\.ts$/.test(script)) setFlagsFromString("--trace-gc");

function install(dir: string): void {
  const file = `${dir}/trace-${process.pid}-${threadId}.jsonl`;
  let buffer: unknown[][] = [];
  const us = (): number => Number(process.hrtime.bigint() / 1000n);
  // Formatted at flush, not here: the traced path pays a push per event.
  const emit = (e: unknown[]): void => void buffer.push(e);
  const flush = (): void => {
    if (buffer.length === 0) return;
    const text = buffer.map((e) => JSON.stringify(e)).join("\n") + "\n";
    buffer = [];
    try {
      const fd = fs.openSync(file, "a");
      fs.writeSync(fd, text);
      fs.closeSync(fd);
    } catch { /* the driver removed the directory: nothing to keep */ }
  };
  // Our own flushes are not part of the trace: the timer is made before setInterval is wrapped.
  (setInterval(flush, 200) as { unref?: () => void }).unref?.();
  process.on("exit", flush);
  const loops = (): number => (performance as unknown as { nodeTiming?: { uvMetricsInfo?: { loopCount: number } } }).nodeTiming?.uvMetricsInfo?.loopCount ?? -1;
  if (!worker) {
    process.on("SIGUSR2", () => {
      emit(["mark", us(), "usr2", loops()]);
      flush();
    });
  }

  const decoder = new TextDecoder();
  /** The first two lines of a datagram: a client's verb and tag ("add t12"), a peer's verb and sender ("add a"). */
  const head = (bytes: Uint8Array): string => {
    const lines = decoder.decode(bytes.subarray(0, 80)).split("\n");
    return `${lines[0]} ${lines[1] ?? ""}`;
  };
  const timed = <A extends unknown[], R>(fn: (...a: A) => R, record: (start: number, dur: number, a: A) => void) =>
    function (this: unknown, ...a: A): R {
      const t = us();
      try {
        return fn.apply(this, a);
      } finally {
        record(t, us() - t, a);
      }
    };

  // --- The event loop's callbacks ---------------------------------------------------
  const g = globalThis as unknown as Record<string, (...a: unknown[]) => unknown>;
  const nameOf = (fn: unknown) => (typeof fn === "function" && fn.name) || "anonymous";
  const immediate = g.setImmediate;
  g.setImmediate = (fn: unknown, ...rest: unknown[]) =>
    immediate((...a: unknown[]) => timed(fn as (...a: unknown[]) => unknown, (t, d) => emit(["im", t, d, nameOf(fn)]))(...a), ...rest);
  for (const k of ["setTimeout", "setInterval"]) {
    const orig = g[k];
    g[k] = (fn: unknown, ms?: unknown, ...rest: unknown[]) =>
      orig((...a: unknown[]) => timed(fn as (...a: unknown[]) => unknown, (t, d) => emit(["tm", t, d, ms ?? 0, nameOf(fn)]))(...a), ms, ...rest);
  }

  // --- Datagrams (node:dgram; Deno.listenDatagram is not traced) -----------------------
  type Sock = Record<string, (...a: unknown[]) => unknown> & { address(): { port: number } };
  const sock = dgram.Socket.prototype as unknown as Sock;
  // A socket's port, asked once (address() is a getsockname system call).
  const ports = new WeakMap<object, number>();
  const portOf = (s: Sock): number => {
    let p = ports.get(s);
    if (p === undefined) ports.set(s, p = s.address().port);
    return p;
  };
  const on = sock.on;
  sock.on = function (this: typeof sock, event: unknown, fn: unknown) {
    if (event !== "message") return on.call(this, event, fn);
    const self = this;
    return on.call(this, event, (msg: Uint8Array, rinfo: unknown) => {
      const t = us();
      try {
        (fn as (m: Uint8Array, r: unknown) => void)(msg, rinfo);
      } finally {
        emit(["rx", t, us() - t, portOf(self), msg.length, head(msg)]);
      }
    });
  };
  // node:dgram looks the address up (its handle's `lookup`) before it sends, and for an IP address answers
  // on process.nextTick: the datagram leaves when the running callback has returned. "go" events mark that
  // moment, in the order of the sends ("tx"); the lookup is wrapped on each socket's handle.
  const leaving: unknown[][] = [];
  const wrapped = new WeakSet<object>();
  const wrapLookup = (socket: object): void => {
    if (wrapped.has(socket)) return;
    wrapped.add(socket);
    for (const k of Object.getOwnPropertySymbols(socket)) {
      const state = (socket as Record<symbol, { handle?: { lookup?: (...a: unknown[]) => unknown } }>)[k];
      const handle = state?.handle;
      if (!handle || typeof handle.lookup !== "function") continue;
      const lookup = handle.lookup;
      handle.lookup = (address: unknown, cb: unknown) =>
        lookup.call(handle, address, (...r: unknown[]) => {
          const tx = leaving.shift();
          if (tx) emit(["go", us(), ...tx]);
          (cb as (...r: unknown[]) => void)(...r);
        });
    }
  };
  const send = sock.send;
  sock.send = function (this: typeof sock, ...a: unknown[]) {
    const bytes = a[0] as Uint8Array;
    const t = us();
    emit(["tx", t, portOf(this), a[1], bytes.length, head(bytes)]);
    wrapLookup(this);
    leaving.push([portOf(this), a[1], bytes.length, head(bytes), t]);
    return send.apply(this, a);
  };

  // --- SQLite ------------------------------------------------------------------------
  const sqlOf = new WeakMap<object, string>();
  const short = (sql: string) => sql.replace(/\s+/g, " ").trim().slice(0, 90);
  const dbp = DatabaseSync.prototype as unknown as Record<string, (...a: unknown[]) => unknown>;
  const prepare = dbp.prepare;
  dbp.prepare = function (this: unknown, sql: unknown) {
    const st = prepare.call(this, sql) as object;
    sqlOf.set(st, short(String(sql)));
    return st;
  };
  dbp.exec = timed(dbp.exec, (t, d, a) => emit(["ex", t, d, short(String(a[0]))]));
  const stp = StatementSync.prototype as unknown as Record<string, (...a: unknown[]) => unknown>;
  for (const m of ["run", "get", "all", "iterate"]) {
    const orig = stp[m];
    stp[m] = function (this: object, ...a: unknown[]) {
      const t = us();
      try {
        return orig.apply(this, a);
      } finally {
        const sql = sqlOf.get(this) ?? "?";
        emit([/wal_checkpoint/.test(sql) ? "ck" : "sql", t, us() - t, sql]);
      }
    };
  }

  // --- Syncs and small files (store.ts imports fsyncSync by name: syncBuiltinESMExports) -----
  const fsx = fs as unknown as Record<string, (...a: unknown[]) => unknown>;
  for (const k of ["fsyncSync", "fdatasyncSync", "writeFileSync"]) {
    fsx[k] = timed(fsx[k], (t, d) => emit(["fs", t, d, k]));
  }
  // The pipelined group commit's sync on the thread pool: from the call to its callback (the loop runs meanwhile).
  const fsync = fsx.fsync;
  fsx.fsync = function (this: unknown, ...a: unknown[]) {
    const t = us(), done = a[1] as (e: unknown) => void;
    return fsync.call(this, a[0], (e: unknown) => (emit(["fs", t, us() - t, "fsync (thread pool)"]), done(e)));
  };
  syncBuiltinESMExports();

  // --- Garbage collections: the entry's start, moved from performance.now() (which drifts) onto CLOCK_MONOTONIC now ---
  new PerformanceObserver((list) => {
    const nowUs = us(), perfNow = performance.now();
    for (const e of list.getEntries()) {
      const kind = (e as unknown as { detail?: { kind?: number } }).detail?.kind ?? 0;
      emit(["gc", Math.round(nowUs - (perfNow - e.startTime) * 1000), Math.round(e.duration * 1000), kind]);
    }
  }).observe({ entryTypes: ["gc"] });
  emit(["start", us(), script, worker ? "worker" : "main", loops()]);
}
