/**
 * The membership changes of a chaos run (`npm run chaos -- --membership`,
 * testing/chaos.ts): a third of the way in, a spare server is added (the
 * servers file rewritten, SIGHUP to every live server until each lists it;
 * an add is refused while a member is down, so kills pause until every
 * server lists the spare — then the spare is started with `--join`, kills
 * going on; clients get its address once it
 * has caught up); two thirds of the way in, the first server is retired
 * (its line removed: SIGHUP to it, then to the others until each lists the
 * rest, then it is stopped). Kills go on meanwhile, among the servers
 * `active` holds.
 *
 * @example
 * ```ts
 * const done = changeMembership({ fc, ids, spare: "f", active, down, addrs, seconds: 30, log });
 * await done; // { added: "f", retired: "a" } or throws
 * ```
 */
import type { FaultyCluster } from "./cluster_ops.ts";
import { askState, sleep } from "./cluster_ops.ts";
import { type Address, udpClient } from "./harness.ts";
import { logged } from "./membership.ts";

/** What the run shares with the membership changes. */
export type MembershipRun = {
  fc: FaultyCluster;
  /** The servers at the start, in file order. */
  ids: string[];
  /** The server added. */
  spare: string;
  /** Servers that run and may be killed (updated here). */
  active: Set<string>;
  /** Servers killed and not yet back (the killer's). */
  down: Set<string>;
  /** True while the killer must not kill (set here during the add). */
  paused: { on: boolean };
  /** The clients' failover list (the spare's address is appended once it takes writes). */
  addrs: Address[];
  seconds: number;
  log(line: string): void;
};

/** SIGHUPs every server of `to` whose `members` are not `want` until all list `want` (at most 60 s); throws otherwise. */
async function reloadUntil(r: MembershipRun, to: readonly string[], want: readonly string[]): Promise<void> {
  const u = await udpClient();
  try {
    for (const until = Date.now() + 60_000; Date.now() < until; await sleep(1000)) {
      let pending = 0;
      for (const id of to) {
        if (r.down.has(id)) {
          pending++;
          continue;
        }
        const s = await askState(u, r.fc.peerListen[id], null, 1000);
        if (s?.members?.join(",") === want.join(",")) continue;
        pending++;
        r.fc.servers[id].signal("SIGHUP");
      }
      if (pending === 0) return;
    }
    throw new Error(`membership ${want.join(",")} not reached by ${to.join(",")} within 60 s`);
  } finally {
    await u.close();
  }
}

/** Runs both changes (see the file comment); resolves with what changed. */
export async function changeMembership(r: MembershipRun): Promise<{ added: string; retired: string }> {
  const start = Date.now(), third = r.seconds * 1000 / 3;
  const at = () => `${((Date.now() - start) / 1000).toFixed(1)} s in`;
  await sleep(third);
  const all = [...r.ids, r.spare];
  r.paused.on = true;
  while (r.down.size > 0) await sleep(100);
  r.fc.writeServers(all);
  await reloadUntil(r, r.ids, all).finally(() => (r.paused.on = false));
  r.log(`chaos: ${at()}: ${r.ids.join(", ")} list ${r.spare}; starting it with --join`);
  const joined = await r.fc.start(r.spare, ["--join"]);
  if (!(await logged(joined, /caught up with every peer/, 60_000))) throw new Error(`${r.spare} never caught up: ${joined.stderr()}`);
  r.addrs.push(r.fc.clientAddr[r.spare]);
  r.active.add(r.spare);
  r.log(`chaos: ${at()}: ${r.spare} caught up, takes writes`);
  await sleep(Math.max(0, start + 2 * third - Date.now()));
  const gone = r.ids[0];
  r.active.delete(gone);
  while (r.down.has(gone)) await sleep(100);
  const rest = all.filter((id) => id !== gone);
  r.fc.writeServers(rest, [gone]);
  r.fc.servers[gone].signal("SIGHUP");
  await logged(r.fc.servers[gone], /this server is retired/, 10_000);
  r.log(`chaos: ${at()}: ${gone} retiring (takes no writes)`);
  await reloadUntil(r, rest, rest);
  await r.fc.servers[gone].stop();
  r.log(`chaos: ${at()}: ${rest.join(", ")} list ${gone} retired; ${gone} stopped`);
  return { added: r.spare, retired: gone };
}
