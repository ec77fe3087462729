/**
 * Helpers for membership-change tests (tests/membership_*_test.ts): a
 * servers file rewritten with some servers (and `retired` lines), writers
 * that keep adding messages to whichever servers take writes, and the
 * checks "every acked message is on this server" and "this server logged
 * that line".
 *
 * @example
 * ```ts
 * writeServers(file, entries, ["a", "b", "c", "d"], ["e"]);
 * const w = startWriters({ count: 3, room: "r", targets: () => [a.clientAddr, b.clientAddr] });
 * const acked = await w.stop();
 * await everyAckedOn(u, d, token, "r", acked, 10_000); // null, or what is missing
 * ```
 */
import { writeFileSync } from "node:fs";
import { formatAddress } from "../lib/wire/address.ts";
import { escapeText } from "../lib/wire/codec.ts";
import { keyField } from "../lib/config/servers_file.ts";
import { type Address, type ClusterEntry, lines, removeTempDirs, type ServerHandle, type UdpClient, udpClient } from "./harness.ts";
import { enter, login, readAll, sleep, tag, within } from "./cluster_ops.ts";

/** Writes `file` with the lines of `live` (in that order, from `entries`) and a `retired` line for each of `retired`. */
export function writeServers(file: string, entries: readonly ClusterEntry[], live: readonly string[], retired: readonly string[] = []): void {
  const line = (e: ClusterEntry) => [e.id, formatAddress(e.client), formatAddress(e.peer), e.web, e.key && keyField(e.key)].filter((f) => f).join(" ");
  const byId = new Map(entries.map((e) => [e.id, e] as const));
  writeFileSync(file, [...live.map((id) => line(byId.get(id)!)), ...retired.map((id) => `${id} retired`)].join("\n") + "\n");
}

/** Messages acked: text → msgID. */
export type Acked = Map<string, string>;

/** Writers adding messages until stopped; `stop` resolves with every acked one. */
export type Writers = { stop(): Promise<Acked>; readonly acked: Acked; readonly refused: number };

/**
 * `count` writers, each with its own socket and session, adding to `room`
 * one message at a time at the servers `targets()` gives, turn by turn; a
 * refusal or silence moves the writer to the next target. Bounded: at most
 * `max` messages each (default 400), about one per 20 ms.
 */
export function startWriters(o: { count: number; room: string; targets: () => Address[]; max?: number }): Writers {
  const acked: Acked = new Map();
  let stopped = false, refused = 0;
  const one = async (k: number) => {
    const u = await udpClient();
    try {
      const first = o.targets()[0];
      const token = await login(u, first, `w${k}`);
      await enter(u, first, token, o.room);
      for (let i = 0, turn = k; !stopped && i < (o.max ?? 400); i++) {
        const text = `w${k}-${i}`, t = tag();
        for (let tries = 0; !stopped && tries < 40; tries++, turn++) {
          const targets = o.targets();
          const to = targets[turn % targets.length];
          const r = await u.request(to, lines("add", t, token, escapeText(text), o.room), 1500).catch(() => null);
          if (r?.startsWith("ok\n")) {
            acked.set(text, r.split("\n")[5]);
            turn++; // the next message goes to the next server
            break;
          }
          if (r !== null) refused++;
        }
        await sleep(20);
      }
    } finally {
      await u.close();
    }
  };
  const running = Promise.all(Array.from({ length: o.count }, (_, k) => one(k)));
  return {
    acked,
    get refused() {
      return refused;
    },
    async stop() {
      stopped = true;
      await running;
      return acked;
    },
  };
}

/**
 * Waits (at most `ms`) until every acked message is listed by `server`
 * under its acked id; null then, else what is missing (for the assertion).
 */
export async function everyAckedOn(u: UdpClient, server: ServerHandle, user: string, room: string, acked: Acked, ms: number): Promise<string | null> {
  const token = await login(u, server.clientAddr, user);
  await enter(u, server.clientAddr, token, room);
  let missing: string[] = [];
  const ok = await within(ms, async () => {
    const listed = await readAll(u, server.clientAddr, token, room).catch(() => null);
    if (!listed) return false;
    const have = new Map(listed.msgs.map((m, i) => [m, listed.ids[i]] as const));
    missing = [...acked].filter(([text, id]) => have.get(text) !== id).map(([text, id]) => `${text} (${id})`);
    return missing.length === 0;
  }, 200);
  return ok === null ? `${server.id} lacks ${missing.length} of ${acked.size} acked: ${missing.slice(0, 5).join(", ")}` : null;
}

/** Waits (at most `ms`) for `pattern` in what `server` printed; true when it came. */
export async function logged(server: ServerHandle, pattern: RegExp, ms = 10_000): Promise<boolean> {
  return (await within(ms, () => Promise.resolve(pattern.test(server.stdout() + server.stderr())), 50)) !== null;
}

/** What a test file's hooks keep: a UDP client for checks and the servers to stop at the end. */
export type Tracked = { readonly u: UdpClient; running: Set<ServerHandle> };

/** Registers `suite`'s before/after hooks: a UDP client, and every server in `running` stopped (and temp dirs removed) at the end. */
export function trackServers(suite: { before(fn: () => Promise<void>): void; after(fn: () => Promise<void>): void }): Tracked {
  let u: UdpClient | null = null;
  const t: Tracked = {
    get u() {
      if (u === null) throw new Error("trackServers: used before the suite's before hook");
      return u;
    },
    running: new Set(),
  };
  suite.before(async () => void (u = await udpClient()));
  suite.after(async () => {
    for (const s of t.running) await s.stop().catch(() => {});
    await u?.close();
    removeTempDirs();
  });
  return t;
}
