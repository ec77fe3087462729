/**
 * Two-disk acks at the client port (docs/ARCHITECTURE.md "Acks"): holds the
 * `ok` of each add until the pure rule of lib/acks/confirm.ts says its copy
 * is on two disks, checked after every commit (so no copy is acked from
 * uncommitted rows) and after each peer's `got`; then hands the port the
 * reply value naming the copy visible at that moment. The rule, the peer
 * liveness it reads and the confirmer choice are in lib/acks/; this wrapper
 * only holds the reply callbacks and reads the store.
 *
 * @example
 * ```ts
 * const gate = new AckGate({ self: "a", store, commit, clock, liveness });
 * gate.hold(key, session, tag, (reply) => send(reply));   // from the client port
 * gate.noteGot();                                          // from the peer port, on a peer's `got`
 * ```
 */
import type { OkReply } from "../wire/messages.ts";
import type { Vector } from "../wire/vector.ts";
import type { StoredAdd } from "../store/messages.ts";
import { HeldAcks } from "../acks/confirm.ts";
import type { PeerLiveness } from "../acks/liveness.ts";
import type { Clock } from "./clock.ts";
import type { GroupCommit } from "./commit.ts";

/** What the gate reads of the store. */
export interface GateStore {
  vector(): Vector;
  messages: { byTag(session: string, tag: string): StoredAdd | null };
  rooms: { name(groupName: string): string | null };
}

export type AckGateOptions = {
  /** This server's id (not its incarnation). */
  self: string;
  store: GateStore;
  commit: GroupCommit;
  clock: Clock;
  /** The server's peer liveness table (the peer port keeps it). */
  liveness: PeerLiveness;
  /** How long a held ack waits before it is dropped unanswered, ms. Default 10 s. */
  holdMs?: number;
  /** Most acks held at once; the oldest is dropped past it. Default 50,000. */
  maxHeld?: number;
  /** True for the ids of servers.txt (default: any). A copy naming a confirmer no longer listed is acked on its origin's disk. */
  isServer?: (id: string) => boolean;
};

/** The add reply a released ack sends. */
export type AddOk = Extract<OkReply, { kind: "add" }>;

/** What the gate keeps with a held ack: where its reply goes, and how it names the room. */
type Waiting = { release: (reply: AddOk) => void; groupName?: string };

export class AckGate {
  #o: AckGateOptions;
  #acks: HeldAcks<StoredAdd, Waiting>;

  constructor(o: AckGateOptions) {
    this.#o = o;
    this.#acks = new HeldAcks({ self: o.self, isServer: o.isServer, liveness: o.liveness, started: o.clock.now(), maxHeld: o.maxHeld });
    o.commit.subscribe(() => this.#recheck());
  }

  /** True while the ack of the request with this retransmission key is held. */
  holds(key: string): boolean {
    return this.#acks.get(key) !== undefined;
  }

  /** Acks waiting for a second disk. */
  get size(): number {
    return this.#acks.size;
  }

  /**
   * Holds the ack of add (session, tag) under its retransmission `key`
   * until its copy may be acked (checked after the next commit); `release`
   * gets the reply. A retransmission of a held add only replaces `release`
   * (the newest address answers). `groupName`: how the reply names the room
   * (a direct conversation: "@" + the other user); absent: its display name.
   */
  hold(key: string, session: string, tag: string, release: (reply: AddOk) => void, groupName?: string): void {
    const held = this.#acks.get(key);
    if (held) {
      held.data.release = release;
      return;
    }
    const copy = this.#o.store.messages.byTag(session, tag);
    if (copy === null) return;
    const data = groupName ? { release, groupName } : { release };
    this.#acks.hold(key, { session, tag, copy, until: this.#o.clock.now() + (this.#o.holdMs ?? 10_000), data });
  }

  /** A peer's `got` came: the acks it may release are checked after a commit, so none is acked from uncommitted rows. */
  noteGot(): void {
    if (this.#acks.size > 0) this.#o.commit.afterNextCommit(() => this.#recheck());
  }

  #recheck(): void {
    if (this.#acks.size === 0) return;
    const { store, clock } = this.#o;
    for (const h of this.#acks.due(clock.now(), store.vector(), (s, t) => store.messages.byTag(s, t))) {
      const copy = h.copy;
      const groupName = h.data.groupName ?? store.rooms.name(copy.rkey) ?? copy.rkey;
      h.data.release({ verb: "ok", tag: h.tag, kind: "add", msg: copy.msg, groupName, msgId: { origin: copy.origin, n: copy.seq } });
    }
  }
}
