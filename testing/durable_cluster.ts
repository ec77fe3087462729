/**
 * A three-server cluster of real processes for the durability tests that
 * stop, wipe, restore and restart servers (tests/disk_loss_test.ts,
 * tests/restore_test.ts): start and stop servers by id, copy and restore
 * every file of a server, add messages keeping what was acked under which
 * id, and wait until every running server lists exactly the acked messages.
 *
 * @example
 * ```ts
 * const d = durableCluster();
 * test.before(d.setup);
 * test.after(d.teardown);
 * const c = await d.cluster();
 * const alice = await d.loginAndEnter(c.srv.a, "alice");
 * await d.addAll(c.srv.a, alice, ["m1"], acked);
 * await d.converged(c, alice, acked);
 * ```
 */
import * as assert from "uvu/assert";
import { copyFileSync, existsSync, rmSync } from "node:fs";
import { add, enter, login, readAll, sleep } from "./cluster_ops.ts";
import { type ClusterEntry, makeCluster, removeTempDirs, type ServerHandle, startServer, tempDir, type UdpClient, udpClient } from "./harness.ts";

export type Cluster = { file: string; entries: ClusterEntry[]; dir: string; srv: Record<string, ServerHandle> };

/** Acked messages: msgID → text. */
export type Acked = Map<string, string>;

/** Every file a server keeps beside its database path (what a VM snapshot or a backup tool restores). */
export const DB_FILES = ["", "-wal", "-shm", ".hwm", ".key"];

/** The helpers, with one UDP client (`setup` opens it; `teardown` stops every server they started and closes it). */
export function durableCluster() {
  const running = new Set<ServerHandle>();
  let u: UdpClient;

  async function start(c: Cluster, id: string, o: { newCluster?: boolean } = {}): Promise<ServerHandle> {
    const s = await startServer({ id, servers: c.file, db: `${c.dir}/${id}.sqlite`, newCluster: o.newCluster });
    running.add(s);
    c.srv[id] = s;
    return s;
  }

  async function stop(c: Cluster, id: string): Promise<void> {
    await c.srv[id].stop();
    running.delete(c.srv[id]);
  }

  async function cluster(): Promise<Cluster> {
    const dir = tempDir("distchat-disk-");
    const { file, entries } = await makeCluster(["a", "b", "c"], dir);
    const c: Cluster = { file, entries, dir, srv: {} };
    for (const id of ["a", "b", "c"]) await start(c, id);
    return c;
  }

  /** Removes every file of `id`'s database. */
  function wipe(c: Cluster, id: string, suffixes = DB_FILES.slice(0, 4)): void {
    for (const s of suffixes) rmSync(`${c.dir}/${id}.sqlite${s}`, { force: true });
  }

  /** Copies the files of `id`'s database that exist to `to` (plus the same suffixes). */
  function copyFiles(c: Cluster, id: string, to: string, suffixes = DB_FILES): void {
    for (const s of suffixes) {
      rmSync(`${to}${s}`, { force: true });
      if (existsSync(`${c.dir}/${id}.sqlite${s}`)) copyFileSync(`${c.dir}/${id}.sqlite${s}`, `${to}${s}`);
    }
  }

  /** Puts a copy made by `copyFiles` back in place of `id`'s files (those the copy lacks are removed). */
  function restoreFiles(c: Cluster, id: string, from: string, suffixes = DB_FILES): void {
    for (const s of suffixes) {
      rmSync(`${c.dir}/${id}.sqlite${s}`, { force: true });
      if (existsSync(`${from}${s}`)) copyFileSync(`${from}${s}`, `${c.dir}/${id}.sqlite${s}`);
    }
  }

  async function addAll(s: ServerHandle, token: string, texts: string[], acked: Acked): Promise<void> {
    for (const t of texts) {
      const id = await add(u, s.clientAddr, token, "r", t);
      assert.not.ok(acked.has(id), `${id} acked twice: for "${acked.get(id)}" and for "${t}"`);
      acked.set(id, t);
    }
  }

  /** Waits until every running server lists exactly the acked messages of room r, each under its acked id, once. */
  async function converged(c: Cluster, token: string, acked: Acked, ms = 20_000): Promise<void> {
    const want = [...acked].map(([id, t]) => `${id} ${t}`).sort();
    let last = "";
    for (const until = Date.now() + ms;;) {
      let ok = true;
      for (const s of Object.values(c.srv)) {
        let got: string[] = [];
        try {
          const l = await readAll(u, s.clientAddr, token, "r");
          got = l.ids.map((id, i) => `${id} ${l.msgs[i]}`).sort();
        } catch (e) {
          got = [`(${(e as Error).message})`];
        }
        if (JSON.stringify(got) !== JSON.stringify(want)) {
          ok = false;
          last = `server ${s.id} lists\n  ${got.join("\n  ")}\nwant\n  ${want.join("\n  ")}`;
          break;
        }
      }
      if (ok) return;
      if (Date.now() > until) assert.unreachable(`no convergence: ${last}`);
      await sleep(200);
    }
  }

  /** Logs in `user` on `s` and enters room r. */
  async function loginAndEnter(s: ServerHandle, user: string): Promise<string> {
    const token = await login(u, s.clientAddr, user);
    await enter(u, s.clientAddr, token, "r");
    return token;
  }

  async function setup(): Promise<void> {
    u = await udpClient();
  }

  async function teardown(): Promise<void> {
    for (const s of running) await s.stop();
    running.clear();
    await u.close();
    removeTempDirs();
  }

  return { setup, teardown, start, stop, cluster, wipe, copyFiles, restoreFiles, addAll, converged, loginAndEnter };
}
