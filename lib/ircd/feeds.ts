/**
 * Shared room streams of the IRC listener (docs/IRC.md "The listener"): one
 * long poll per room per server, whatever the number of IRC connections in
 * its channel. Each batch it brings is handed, as the same objects, to every
 * connection watching the room (`IrcConnection.feed`), which shows what it
 * has not shown yet (its own vector of what was shown, so failover replay and
 * exactly-once hold as with a poll of its own) and renders a channel message
 * once for all of them (lib/irc/_deliver.ts, lib/irc/_lines.ts).
 *
 * The poll runs with the session of one watching connection, the leader, so
 * DistChat's membership rule decides what the stream may show: when the
 * leader is refused (`not-member`: kicked, banned, parted), that connection
 * is told and another one leads. A connection that comes to the stream with
 * a cursor the stream is already past ("behind") reads what it missed with a
 * poll of its own that is not held, then watches again; it is fed only once
 * its cursor covers the stream's, so nothing falls between.
 *
 * Pure of sockets: requests go out through `send`, replies come back through
 * `reply`; the listener (lib/ircd/listener.ts) routes them by client address.
 */
import type { Address } from "../wire/address.ts";
import type { Reply, Request } from "../wire/messages.ts";
import { covers, type Vector } from "../wire/vector.ts";
import { nameKey } from "../wire/names.ts";
import type { FeedEvent, IrcConnection, IrcStep } from "../irc/connection.ts";

/** What a feed needs of a connection of the listener. */
export type FeedLink = { conn: IrcConnection; from: Address; closed: boolean };

/** A failed shared poll (not the leader's fault) is asked again after this long, doubling to `MAX_RETRY_MS`. */
const RETRY_MS = 500, MAX_RETRY_MS = 30_000;

/** One room's shared stream. */
type Feed<L extends FeedLink> = {
  room: string;
  /** The client address its polls are sent from (replies come back to it): the leader's host, a port of its own. */
  port: number;
  cursor: Vector;
  watchers: Set<L>;
  /** The poll out, if any: its tag, and the leader and token it was sent with. */
  out: { tag: string; leader: L; token: string } | null;
  failures: number;
  retryAt: number;
};

/** What the feeds use of the listener. */
export type FeedHost<L extends FeedLink> = {
  /** Sends a request from client address `from` (its reply comes back to `reply`). */
  send(req: Request, from: Address): void;
  /** Applies a connection's step (its lines, requests, and new watches). */
  apply(link: L, step: IrcStep): void;
  /** A fresh client port number (a feed's address). */
  port(): number;
  now(): number;
  /** How long a poll is held, ms. */
  waitMs: number;
};

/** The listener's shared room streams. */
export class RoomFeeds<L extends FeedLink> {
  #host: FeedHost<L>;
  #byRoom = new Map<string, Feed<L>>();
  #byPort = new Map<number, Feed<L>>();
  #nextTag = 1;

  constructor(host: FeedHost<L>) {
    this.#host = host;
  }

  /** Rooms with a stream now. */
  get size(): number {
    return this.#byRoom.size;
  }

  /** True when `port` is a feed's client address (its replies go to `reply`). */
  owns(port: number): boolean {
    return this.#byPort.has(port);
  }

  /** `link` wants `room`'s stream from `cursor` (IrcStep.watch). */
  watch(link: L, room: string, cursor: Vector): void {
    const key = nameKey(room);
    let feed = this.#byRoom.get(key);
    if (feed === undefined) {
      feed = { room, port: this.#host.port(), cursor, watchers: new Set(), out: null, failures: 0, retryAt: 0 };
      this.#byRoom.set(key, feed);
      this.#byPort.set(feed.port, feed);
    }
    if (!covers(cursor, feed.cursor)) {
      feed.watchers.delete(link);
      return this.#tell(link, feed, { kind: "behind" });
    }
    feed.watchers.add(link);
    if (feed.out === null) this.#poll(feed);
  }

  /** A reply to a feed's poll (client address port `port`). */
  reply(port: number, r: Reply): void {
    const feed = this.#byPort.get(port);
    const out = feed?.out;
    if (feed === undefined || out === null || out === undefined || out.tag !== r.tag) return; // an abandoned poll
    feed.out = null;
    if (r.verb === "poll") {
      feed.failures = 0;
      feed.cursor = r.cursor;
      const ev: FeedEvent = { kind: "entries", entries: r.entries, cursor: r.cursor };
      for (const link of [...feed.watchers]) this.#tell(link, feed, ev);
      return this.#poll(feed);
    }
    const leaderOwn = out.leader.conn.state.token === out.token && !out.leader.closed;
    if (leaderOwn && r.verb === "error" && (r.code === "not-member" || r.code === "bad-token" || r.code === "no-room")) {
      // The leader may not read the room (any more): it is told, and another watcher leads.
      feed.watchers.delete(out.leader);
      this.#host.apply(out.leader, out.leader.conn.feed(feed.room, { kind: "failed", reply: r }, this.#host.now()));
      return this.#poll(feed);
    }
    if (!leaderOwn) return this.#poll(feed); // the leader's session changed (a nick change) or closed: ask again
    feed.failures++;
    feed.retryAt = this.#host.now() + Math.min(RETRY_MS * 2 ** feed.failures, MAX_RETRY_MS);
  }

  /** Timers: failed polls asked again. */
  tick(): void {
    const now = this.#host.now();
    for (const feed of this.#byRoom.values()) if (feed.out === null && feed.retryAt <= now) this.#poll(feed);
  }

  /** `link` closed: streams it led poll again with another watcher. */
  closed(link: L): void {
    for (const feed of this.#byRoom.values()) {
      feed.watchers.delete(link);
      if (feed.out?.leader === link) {
        feed.out = null; // its held poll is abandoned (its reply is dropped)
        this.#poll(feed);
      }
    }
  }

  /** Hands `ev` to `link` if it still watches the room; otherwise it stops watching. */
  #tell(link: L, feed: Feed<L>, ev: FeedEvent): void {
    if (link.closed || (ev.kind !== "behind" && !link.conn.watching(feed.room))) {
      feed.watchers.delete(link);
      return;
    }
    this.#host.apply(link, link.conn.feed(feed.room, ev, this.#host.now()));
  }

  /** Sends the feed's next long poll with a watcher's session; a feed nobody watches is dropped. */
  #poll(feed: Feed<L>): void {
    if (feed.out !== null) return;
    let leader: L | undefined;
    for (const l of feed.watchers) {
      if (!l.closed && l.conn.watching(feed.room) && l.conn.state.token !== null) {
        leader = l;
        break;
      }
      feed.watchers.delete(l);
    }
    if (leader === undefined) {
      this.#byRoom.delete(nameKey(feed.room));
      this.#byPort.delete(feed.port);
      return;
    }
    const token = leader.conn.state.token!;
    const tag = `f${this.#nextTag++}`;
    feed.out = { tag, leader, token };
    const req: Request = { verb: "request", tag, token, groupName: feed.room, cursor: feed.cursor, waitMs: this.#host.waitMs, notices: true };
    this.#host.send(req, { host: leader.from.host, port: feed.port });
  }
}
