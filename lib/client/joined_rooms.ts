/**
 * The rooms and direct conversations a session is in: joining (with the
 * newest messages, docs/PROTOCOL.md "History"), one long poll per room
 * (lib/client/feed.ts keeps its cursor and shows each message once), older
 * pages, leaving, and the room typed into. What it shows goes through the
 * SessionUi (lib/client/session_ui.ts); requests go through the session's
 * `call`, which logs in again on `bad-token`.
 *
 * @example
 * ```ts
 * const rooms = new JoinedRooms(context);
 * await rooms.join("lobby");                 // newest messages, then its poll (made when there is none)
 * await rooms.older("lobby", 50);              // the 50 before the oldest shown
 * ```
 */
import { changeOf } from "./message_acts.ts";
import type { MsgId, Reply, Request } from "../wire/messages.ts";
import { nameKey } from "../wire/names.ts";
import { RoomFeed } from "./feed.ts";
import { TRANSIENT } from "./outbox.ts";
import type { SessionUi } from "./session_ui.ts";
import { describeError, surfaceWords } from "./wording.ts";

/**
 * A joined room: its feed (cursor, what was shown), the poll in flight, and
 * for older pages the oldest message shown, whether older ones exist, and the
 * older ones shown (a page read from another server may repeat one).
 */
type Room = {
  name: string;
  feed: RoomFeed;
  pollTag: string | null;
  oldest: MsgId | null;
  olderExist: boolean;
  olderShown: Set<string>;
};
type ErrorReply = Extract<Reply, { verb: "error" }>;

/**
 * How a room is joined: `open` makes it (`open`, not `connect`); `key` is its
 * key ("mode +k"); `focus: false` joins it without making it the room typed
 * into (a reload joining its kept rooms again leaves the screen where it was).
 */
export type JoinOptions = { open?: boolean; key?: string; focus?: boolean };

/** What the rooms need of their session. */
export type RoomsContext = {
  ui: SessionUi;
  /** A request with the session's token (logging in again on bad-token); null when closing. */
  call(build: (tag: string, token: string) => Request): Promise<Reply | null>;
  /** A request with the token held now, as it is (used while logging in again); null without one. */
  callNow(build: (tag: string, token: string) => Request): Promise<Reply | null>;
  cancel(tag: string): void;
  sleep(ms: number): Promise<void>;
  closed(): boolean;
  /** How long a poll may be held now. */
  waitMs(): number;
  /** Messages shown on joining: the room's newest. */
  historyLines: number;
  /** Before a direct conversation opens (the peer's key is fetched). */
  beforeConversation?: (address: string) => Promise<void>;
  /** After a room is joined and its newest messages shown (its topic). */
  afterJoin?: (room: string) => Promise<void>;
};

const key = nameKey;
const idText = (id: MsgId) => `${id.origin}.${id.n}`;

export class JoinedRooms {
  #c: RoomsContext;
  #rooms = new Map<string, Room>();
  #current: string | null = null;

  constructor(context: RoomsContext) {
    this.#c = context;
  }

  /** A line that narrates the rooms (joined, left, typing into): only for a UI that does not show them itself. */
  #narrate(text: string): void {
    if (!this.#c.ui.showsRooms) this.#c.ui.notice(text);
  }

  /** The room plain lines go to, as the server names it. */
  get current(): string | null {
    return this.#current === null ? null : this.#rooms.get(this.#current)?.name ?? null;
  }

  /** Names of the joined rooms and conversations. */
  get names(): string[] {
    return [...this.#rooms.values()].map((r) => r.name);
  }

  /** Whether `room` (any case) is joined. */
  has(room: string): boolean {
    return this.#rooms.has(key(room));
  }

  /** Cancels every poll (the session is ending). */
  stopPolls(): void {
    for (const r of this.#rooms.values()) if (r.pollTag) this.#c.cancel(r.pollTag);
  }

  /**
   * /join: joins `room`, creating it when there is none (as IRC's JOIN does;
   * docs/CLIENT.md). /create (`open`): creates it, refused when it exists.
   */
  async join(room: string, o: JoinOptions = {}): Promise<boolean> {
    const call = this.#c.call;
    const withKey = o.key === undefined ? {} : { key: o.key }; // a room's key ("mode +kKEY")
    let reply = await call((tag, token) => (o.open ? { verb: "open", tag, token, groupName: room } : { verb: "connect", tag, token, groupName: room, ...withKey }));
    if (reply?.verb === "error" && reply.code === "no-room" && !o.open) {
      reply = await call((tag, token) => ({ verb: "open", tag, token, groupName: room }));
      if (reply?.verb === "error" && reply.code === "room-exists") {
        reply = await call((tag, token) => ({ verb: "connect", tag, token, groupName: room }));
      }
    }
    if (reply === null) return false;
    if (reply.verb !== "ok" || !("groupName" in reply)) {
      const e = reply as ErrorReply;
      const hint = e.code === "room-exists" ? `; join it with /join ${room}` : "";
      this.#c.ui.error(`cannot ${o.open ? "create" : "join"} ${room}: ${describeError(e.code, e.message)}${hint}`);
      return false;
    }
    const name = reply.groupName;
    const known = this.#rooms.get(key(name));
    const focus = o.focus ?? true;
    const typing = focus ? `; you are typing into ${name}` : "";
    if (known) {
      known.name = name;
      if (focus) this.#setCurrent(key(name));
      this.#narrate(`joined ${name} (already a member)${typing}`);
      return true;
    }
    const r = this.#add(name);
    if (focus) this.#setCurrent(key(name));
    this.#narrate(`${reply.kind === "open" ? "created" : "joined"} ${name}${typing}`);
    await this.#latest(r);
    await this.#c.afterJoin?.(name);
    void this.#pollLoop(r);
    return true;
  }

  /** Opens the direct conversation "@name" (its history, then its long poll); `focus`: type into it. */
  async conversation(address: string, focus: boolean): Promise<void> {
    const k = key(address);
    if (!this.#rooms.has(k)) {
      await this.#c.beforeConversation?.(address);
      if (this.#rooms.has(k)) return this.conversation(address, focus);
      const r = this.#add(address);
      if (focus) this.#setCurrent(k);
      await this.#latest(r);
      void this.#pollLoop(r);
    } else if (focus) this.#setCurrent(k);
    if (focus) this.#narrate(`you are typing to ${address.slice(1)} (a direct conversation)`);
  }

  #add(name: string): Room {
    const r: Room = { name, feed: new RoomFeed(), pollTag: null, oldest: null, olderExist: false, olderShown: new Set() };
    this.#rooms.set(key(name), r);
    return r;
  }

  /**
   * Shows the newest messages of a room just joined and starts its feed at
   * the live tail (docs/PROTOCOL.md "History"). A server that does not know
   * `history` (an older one) answers bad-request: the feed then starts at 0.
   */
  async #latest(room: Room): Promise<void> {
    const reply = await this.#c.call((tag, token) => ({ verb: "history", tag, token, groupName: room.name, limit: this.#c.historyLines, before: null, notices: true }));
    if (reply?.verb === "ok" && reply.kind === "history") {
      room.oldest = reply.entries[0]?.msgId ?? null;
      room.olderExist = reply.more;
      this.#c.ui.joined?.(room.name, { more: reply.more });
      // A page lists messages as they stand now: the notices of their edits and reactions would only repeat that.
      for (const e of room.feed.accept(reply)) if (changeOf(e) === null) this.#c.ui.message(room.name, e);
    } else this.#c.ui.joined?.(room.name, { more: false });
    const hint = surfaceWords[this.#c.ui.surface ?? "terminal"].olderHint(room.name);
    if (room.olderExist && hint !== null) this.#c.ui.notice(hint);
  }

  /**
   * The `n` messages of `room` (default: the current one) before the oldest
   * shown, handed to the UI as one page (`older`), or as a block of lines
   * between two `---` notices when the UI has no `older`.
   */
  async older(n: number, roomName: string | null = null): Promise<void> {
    const k = roomName === null ? this.#current : key(roomName);
    const room = k === null ? undefined : this.#rooms.get(k);
    const ui = this.#c.ui;
    if (!room) return ui.error("you are in no room: /join ROOM first");
    if (!room.olderExist || room.oldest === null) {
      if (ui.older) return ui.older(room.name, [], false);
      return ui.notice(`no older messages in ${room.name}`);
    }
    const before = room.oldest;
    const reply = await this.#c.call((tag, token) => ({ verb: "history", tag, token, groupName: room.name, limit: n, before, notices: true }));
    if (reply === null) return;
    if (reply.verb !== "ok" || reply.kind !== "history") {
      const e = reply as ErrorReply;
      return ui.error(`cannot read older messages of ${room.name}: ${describeError(e.code, e.message)}`);
    }
    const fresh = reply.entries.filter((e) => !room.olderShown.has(idText(e.msgId)) && changeOf(e) === null);
    for (const e of fresh) room.olderShown.add(idText(e.msgId));
    room.oldest = reply.entries[0]?.msgId ?? room.oldest;
    room.olderExist = reply.more && reply.entries.length > 0;
    if (ui.older) return ui.older(room.name, fresh, room.olderExist);
    ui.notice(`--- ${fresh.length} older message(s) of ${room.name} ---`);
    for (const e of fresh) ui.message(room.name, e);
    ui.notice(`--- end of older messages of ${room.name}${room.olderExist ? "; /history for more" : ""} ---`);
  }

  /** /leave [ROOM]. */
  async leave(room: string | null): Promise<void> {
    const target = room ?? this.current;
    const ui = this.#c.ui;
    if (target === null) return ui.error("you are in no room; /leave ROOM");
    if (target.startsWith("@")) {
      this.forget(target, null);
      return this.#narrate(`closed the conversation with ${target.slice(1)}`);
    }
    const reply = await this.#c.call((tag, token) => ({ verb: "leave", tag, token, groupName: target }));
    if (reply === null) return;
    const r = this.#rooms.get(key(target));
    if (reply.verb === "error" && (reply.code !== "not-member" || !r)) {
      return ui.error(`cannot leave ${target}: ${describeError(reply.code, reply.message)}`);
    }
    this.forget(target, null);
    const now = this.current;
    this.#narrate(`left ${r?.name ?? target}${now ? `; you are typing into ${now}` : "; join a room with /join ROOM"}`);
  }

  /** Leaves every room (not conversations: they have no membership) so others see "* NAME left"; at most `ms`. */
  async leaveAll(ms: number): Promise<void> {
    const rooms = this.names.filter((n) => !n.startsWith("@"));
    const leaving = Promise.all(rooms.map((room) => this.#c.call((tag, token) => ({ verb: "leave", tag, token, groupName: room }))));
    await Promise.race([leaving, this.#c.sleep(ms)]);
  }

  /** /switch ROOM: only to a joined room. */
  switchTo(room: string): void {
    const r = this.#rooms.get(key(room));
    if (!r) return this.#c.ui.error(`you are not in ${room}; /join ${room} first`);
    this.#setCurrent(key(room));
    this.#narrate(`you are typing into ${r.name}`);
  }

  #setCurrent(k: string | null): void {
    this.#current = k;
    this.#c.ui.currentRoom?.(this.current);
  }

  /** Stops reading `room` and forgets it (`why`: the reason the UI gives, e.g. a ban; null: the user left). */
  forget(room: string, why: string | null): void {
    const k = key(room);
    const r = this.#rooms.get(k);
    if (!r) return;
    this.#rooms.delete(k);
    if (r.pollTag) this.#c.cancel(r.pollTag);
    this.#c.ui.left?.(r.name, why);
    if (this.#current === k) this.#setCurrent(this.#rooms.keys().next().value ?? null);
  }

  /** connect, or open when the room does not exist, with the token held now; true when a member. */
  async enter(room: string): Promise<boolean> {
    for (let i = 0; i < 3; i++) {
      const r = await this.#c.callNow((tag, token) => ({ verb: "connect", tag, token, groupName: room }));
      if (r === null) return false;
      if (r.verb === "ok") return true;
      if (r.verb !== "error" || r.code !== "no-room") return false;
      const o = await this.#c.callNow((tag, token) => ({ verb: "open", tag, token, groupName: room }));
      if (o === null) return false;
      if (o.verb === "ok") return true;
      if (o.verb !== "error" || o.code !== "room-exists") return false; // else someone created it meanwhile: connect again
    }
    return false;
  }

  async #pollLoop(room: Room): Promise<void> {
    const alive = () => !this.#c.closed() && this.#rooms.get(key(room.name)) === room;
    const ui = this.#c.ui;
    let failures = 0;
    while (alive()) {
      const reply = await this.#c.call((tag, token) => {
        room.pollTag = tag;
        return { verb: "request", tag, token, groupName: room.name, cursor: room.feed.cursor, waitMs: this.#c.waitMs(), notices: true };
      });
      room.pollTag = null;
      if (reply === null || !alive()) return; // cancelled: left the room, or closing
      if (reply.verb === "poll") {
        failures = 0;
        for (const e of room.feed.accept(reply)) ui.message(room.name, e);
        continue;
      }
      if (reply.verb === "error" && reply.code === "not-member" && /banned|kicked|invite-only/.test(reply.message)) {
        const why = describeError(reply.code, reply.message); // names the room: "you are banned from annex (by …)"
        ui.error(why);
        this.forget(room.name, why);
        return;
      }
      if (reply.verb === "error" && reply.code === "not-member" && failures === 0) {
        // Membership lost (e.g. the session was replaced): join again once.
        failures++;
        if (await this.enter(room.name)) continue;
      }
      failures++;
      if (reply.verb === "error" && !TRANSIENT.has(reply.code) && failures > 3) {
        const why = describeError(reply.code, reply.message);
        ui.error(`stopped reading ${room.name}: ${why}`);
        this.forget(room.name, why);
        return;
      }
      await this.#c.sleep(Math.min(500 * 2 ** failures, 10000));
    }
  }
}
