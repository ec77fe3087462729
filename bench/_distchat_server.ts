/**
 * One DistChat server (server.ts) under Node or Deno for the benchmarks: own
 * process group, free loopback ports, a fresh database in a temp dir; its
 * resident memory read from /proc; always stopped (the whole group).
 *
 * @example
 * ```ts
 * const srv = await startBenchServer("deno", dir, ["--rate-limit", "0"]);
 * srv.rss(); // { rssKiB, hwmKiB, pid }
 * await srv.stop();
 * ```
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Runtime } from "./_child.ts";
import { displayCommand, ROOT, runtimeCommand } from "./_child.ts";
import { freePort } from "../testing/harness.ts";
import { groupRss, startProcess } from "../testing/processes.ts";

export type BenchServer = {
  pid: number;
  port: number;
  db: string;
  /** The command as a reader would type it (temp paths as TMPDIR). */
  shown: string;
  /** VmRSS and VmHWM (KiB) of the largest process of the server's group. */
  rss(): { rssKiB: number; hwmKiB: number; pid: number };
  stop(): Promise<void>;
};

/** Starts server.ts under `runtime` with its database in `dir` (db file `a.sqlite` unless it exists already). */
export async function startBenchServer(runtime: Runtime, dir: string, extra: string[] = []): Promise<BenchServer> {
  const port = await freePort();
  let peer = await freePort();
  if (peer === port) peer = await freePort();
  const servers = join(dir, "servers.txt");
  writeFileSync(servers, `a 127.0.0.1:${port} 127.0.0.1:${peer}\n`);
  const db = join(dir, "a.sqlite");
  const argv = runtimeCommand(runtime, "server.ts", ["--id", "a", "--servers", servers, "--db", db, "--allow-plaintext", ...extra]);
  const proc = startProcess(argv, { cwd: ROOT, maxStderr: 20_000 });
  const pid = proc.pid;
  const stop = async () => {
    if (!proc.ended) await proc.stop(5000);
  };
  const text = () => (proc.stdout() + proc.stderr()).slice(0, 20_000);
  const until = Date.now() + 30_000;
  while (!/clients \S+, peers/.test(text())) {
    if (proc.ended || Date.now() > until) {
      await stop();
      throw new Error(`server did not start: ${text().trim().slice(-500)}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    pid,
    port,
    db,
    shown: displayCommand(argv).replaceAll(dir, "TMPDIR"),
    rss: () => groupRss(pid),
    stop,
  };
}
