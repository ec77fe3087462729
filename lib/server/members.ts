/**
 * The live membership of a running server (docs/ARCHITECTURE.md
 * "Membership changes"): the servers it replicates with and names
 * confirmer, in servers-file order; every server it ever knew (their ops
 * stay valid for good, lib/store/known_servers.ts); and its own state — a
 * `member`, `joining` (added with `--join`, catching up: it takes no writes
 * and sends no `got`, so no one names it confirmer), `rejoining` (restarted
 * on a database that held state, catching up with what its peers told it at
 * start: it takes no writes, but sends its `got`) or `retiring` (its own
 * line went from the servers file: it takes no writes, and goes on
 * replicating what it has until the operator stops it). `reload` applies a
 * reread servers file (SIGHUP) when lib/rules/membership.ts allows it.
 *
 * @example
 * ```ts
 * const members = new Members({ self: "d", servers, known: ["a", "b", "c", "d"], joining: true });
 * members.writesRefused(); // "this server is catching up …" until caughtUp()
 * members.reload(nextFile, heardAgoMs); // { ok: true, added: [], removed: ["c"], retiring: false }
 * ```
 */
import type { Log } from "../config/log.ts";
import { type Address, formatAddress } from "../wire/address.ts";
import type { ServerListing } from "../wire/messages.ts";
import { encodeKey } from "../secure/keys.ts";
import { get, type Vector } from "../wire/vector.ts";
import { serverOf } from "../rules/incarnation.ts";
import type { Clock } from "./clock.ts";
import { readServersFile, type ServerEntry, type ServersFile } from "../config/servers_file.ts";
import { JoinWatch, type Member, type MembershipChange, membershipChange, RejoinWatch } from "../rules/membership.ts";

/** A server's own place in the membership. */
export type MemberState = "member" | "joining" | "rejoining" | "retiring";

/** See the file comment. */
export class Members {
  readonly self: string;
  /** Live servers in servers-file order (this one among them unless retiring). */
  #servers: Member[];
  /** Peers' addresses by id: the map the peer port sends by (updated in place). */
  readonly peers = new Map<string, Address>();
  /** Every server ever known (valid origins). */
  readonly known: Set<string>;
  #state: MemberState;
  #join: JoinWatch;
  #rejoin: RejoinWatch;
  #waiting = "hearing every peer";
  #starting: boolean;

  /**
   * `joining`: started with `--join` on a new database; `rejoining`: restarted on a database that holds state (two-disk acks);
   * `starting`: its start has not chosen the origin it writes under yet (`originChosen` ends it; default false).
   */
  constructor(o: { self: string; servers: readonly Member[]; known: Iterable<string>; joining: boolean; rejoining?: boolean; starting?: boolean }) {
    this.self = o.self;
    this.#starting = o.starting ?? false;
    this.#servers = [...o.servers];
    this.known = new Set([...o.known, ...o.servers.map((s) => s.id)]);
    const peers = o.servers.some((s) => s.id !== o.self);
    this.#state = !peers ? "member" : o.joining ? "joining" : o.rejoining ? "rejoining" : "member";
    this.#join = new JoinWatch(o.self);
    this.#rejoin = new RejoinWatch(o.self);
    this.#setPeers();
  }

  /** Live server ids in servers-file order (the confirmers' ring). */
  get ids(): string[] {
    return this.#servers.map((s) => s.id);
  }

  get state(): MemberState {
    return this.#state;
  }

  /** True while joining or rejoining: it takes no writes. */
  get catchingUp(): boolean {
    return this.#state === "joining" || this.#state === "rejoining";
  }

  /**
   * True until the start has chosen the origin this server writes under
   * (docs/ARCHITECTURE.md "Incarnations"): it answers reads meanwhile, and
   * takes no write — not even a session's `touch`.
   */
  get starting(): boolean {
    return this.#starting;
  }

  /** The start chose the origin: writes are refused only for the state's reasons from now on. */
  originChosen(): void {
    this.#starting = false;
  }

  /**
   * True when this server tells its peers what is on its disk (`got`): not
   * while joining, so that no peer names it confirmer before it holds the
   * cluster's history. A rejoining server does: its `got` is its word on
   * the copies naming it that it has stored (each decided by the binding
   * rule when stored, catching up or not), and without it those copies
   * waited for the end of its start's wait at every server, the rooms with
   * them (docs/ARCHITECTURE.md "A restarted server catches up").
   */
  get sendsGots(): boolean {
    return this.#state !== "joining";
  }

  /** The peers a rejoining server waits for (those that answered by its first check), or null before it. */
  get answered(): string[] | null {
    return this.#rejoin.answered;
  }

  /** The state as `npm run status` shows it. */
  get described(): string {
    if (this.#starting && !this.catchingUp) return "starting: hearing every peer before it chooses its origin";
    return this.catchingUp ? `${this.#state}: waiting for ${this.#waiting}` : this.#state;
  }

  /** The live servers with a client address, as a `servers` reply lists them (docs/PROTOCOL.md "servers"). */
  listing(): ServerListing[] {
    return this.#servers.flatMap((s) => s.client ? [{ id: s.id, client: formatAddress(s.client), publicKey: s.publicKey ? encodeKey(s.publicKey) : "-" }] : []);
  }

  /** Whether `origin` is one of a server ever known (or an incarnation of one). Bound. */
  isOrigin = (origin: string): boolean => this.known.has(serverOf(origin));

  /** Whether `id` is a live server now. Bound. */
  isServer = (id: string): boolean => this.#servers.some((s) => s.id === id);

  /** Why this server takes no writes now, or null. */
  writesRefused(): string | null {
    if (this.#starting) return "this server is starting (hearing its peers before it takes writes); try another server";
    if (this.#state === "joining") return `this server was just added and is catching up (waiting for ${this.#waiting}); try another server`;
    if (this.#state === "rejoining") return `this server restarted and is catching up (waiting for ${this.#waiting}); try another server`;
    if (this.#state === "retiring") return "this server is being retired; try another server";
    return null;
  }

  /**
   * A joining or rejoining server checks whether it has caught up (`told`:
   * the vectors its peers told, `mine`: its own, `live`: whether a peer is
   * up now); true when it just became a member.
   */
  checkCaughtUp(told: readonly { id: string; vector: Vector }[], mine: Vector, live: (peer: string) => boolean = () => true): boolean {
    if (!this.catchingUp) return false;
    const unknown = (id: string) => !this.known.has(id);
    const waiting = this.#state === "joining"
      ? this.#join.waiting(told, [...this.peers.keys()], mine, unknown)
      : this.#rejoin.waiting(told.filter((t) => this.peers.has(t.id)), live, mine, unknown);
    if (waiting !== null) {
      this.#waiting = waiting;
      return false;
    }
    this.#state = "member";
    return true;
  }

  /**
   * Applies a reread servers file (`next`: its live servers; `retired`: its
   * retired ids) when the change is allowed; nothing changes otherwise.
   * `heardAgoMs`: how long ago each peer was heard (Infinity: never).
   */
  reload(next: readonly Member[], retired: readonly string[], heardAgoMs: (id: string) => number): MembershipChange {
    const change = membershipChange({ self: this.self, current: this.#servers, next, heardAgoMs });
    if (!change.ok) return change;
    for (const id of [...next.map((s) => s.id), ...retired]) this.known.add(id);
    this.#servers = [...next];
    if (change.retiring) this.#state = "retiring";
    if (change.added.includes(this.self) && this.#state === "retiring") this.#state = "member"; // its line is back: the retirement is called off
    this.#setPeers();
    return change;
  }

  #setPeers(): void {
    this.peers.clear();
    for (const s of this.#servers) if (s.id !== this.self) this.peers.set(s.id, s.peer);
  }
}

/** What a membership watch reads (lib/server/catch_up.ts, `watchRetire`): the vectors peers told, this server's own, whether a peer is up now. */
export type WatchOptions = { members: Members; clock: Clock; log: Log; told(): { id: string; vector: Vector }[]; mine(): Vector; live?(peer: string): boolean };

/**
 * SIGHUP: reads the servers file `path` again and applies its membership
 * change to `node` (and to GET /servers.json through `web`), or logs why not.
 */
export function reloadServers(
  path: string,
  node: { reload(f: ServersFile): MembershipChange; members: Members },
  web: { servers: readonly Pick<ServerEntry, "id" | "web">[] } | null,
  log: Log,
): void {
  let file: ServersFile;
  try {
    file = readServersFile(path);
  } catch (e) {
    return log(`servers file not reloaded: ${(e as Error).message}`, { level: "error", event: "membership-refused" });
  }
  const change = node.reload(file);
  if (!change.ok) return log(`servers file not reloaded: ${change.problem}`, { level: "warn", event: "membership-refused" });
  if (web) web.servers = file.servers; // GET /servers.json lists the new membership
  log(describeChange(change, node.members.ids), { event: "membership", stdout: true, fields: { added: change.added.join(","), removed: change.removed.join(",") } });
}

/**
 * While `members` is retiring: checks every 500 ms whether every peer has
 * told a vector holding all of this server's own ops; then logs that it may
 * be stopped (step 2 of docs/OPERATIONS.md "Adding and retiring a
 * server"). Returns what stops the timer.
 */
export function watchRetire(o: WatchOptions): () => void {
  if (o.members.state !== "retiring") return () => {};
  const stop = o.clock.every(500, () => {
    const own = [...o.mine()].filter(([origin]) => serverOf(origin) === o.members.self);
    const told = o.told();
    const holds = (id: string) => told.some((t) => t.id === id && own.every(([origin, n]) => get(t.vector, origin) >= n));
    if (o.members.state !== "retiring") return stop();
    if (![...o.members.peers.keys()].every(holds)) return;
    stop();
    o.log(`every peer has all of this server's ops (${own.map(([origin, n]) => `${origin}=${n}`).join(",") || "none"}): reload the others without it, then stop it`, { event: "membership", stdout: true, fields: { state: "retiring" } });
  });
  return stop;
}

/** The log line of an applied change (`ids`: the members now). */
function describeChange(change: Extract<MembershipChange, { ok: true }>, ids: readonly string[]): string {
  if (change.retiring) return `this server is retired: it takes no writes now; stop it once every server has all its ops (npm run status: its entry in their vectors)`;
  const what = change.added.length > 0 ? `added ${change.added[0]}` : change.removed.length > 0 ? `retired ${change.removed[0]}` : "no membership change";
  return `servers file reloaded: ${what} (members ${ids.join(", ")})`;
}
