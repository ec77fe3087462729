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
 * gate.hold(key, { session, tag, copy, groupName }, (reply) => send(reply)); // the client port, after the add's handler
 * gate.noteGot();                                          // from the peer port, on a peer's `got`
 * ```
 */
import type { OkReply } from "../wire/messages.ts";
import type { Vector } from "../wire/vector.ts";
import type { AddedCopy } from "../handlers/context.ts";
import { HeldAcks } from "../acks/confirm.ts";
import type { PeerLiveness } from "../acks/liveness.ts";
import type { SettledTest } from "../store/settling.ts";
import type { Clock } from "./clock.ts";
import type { GroupCommit } from "./commit.ts";

/** What the gate reads of the store. */
export interface GateStore {
  vector(): Vector;
  messages: { byTag(session: string, tag: string): AddedCopy | null };
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
  /**
   * A count that moves whenever the visible copy of a (session, tag) may
   * have changed (lib/store/visible_changes.ts): a release reads the copy
   * again only when it moved since the ack was held. Default: always read.
   */
  visibleChanges?: () => number;
};

/** The add reply a released ack sends. */
export type AddOk = Extract<OkReply, { kind: "add" }>;

/** What the gate keeps with a held ack: where its reply goes, how it names the room, and the visible-changes count its copy was read at. */
type Waiting = { release: (reply: AddOk) => void; groupName: string; seen: number };

/** An add to hold: its (session, tag), the copy its handler stored or found, and how its reply names the room. */
export type AddToHold = { session: string; tag: string; copy: AddedCopy; groupName: string };

export class AckGate {
  #o: AckGateOptions;
  #acks: HeldAcks<AddedCopy, Waiting>;

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
   * Holds the ack of `add` under its retransmission `key` until its copy may
   * be acked (checked after the next commit); `release` gets the reply.
   * Call it right after the handler that read or stored `add.copy`. A
   * retransmission of a held add only replaces `release` (the newest address
   * answers). The reply names the room as `add.groupName` does (a direct
   * conversation: "@" + the other user).
   */
  hold(key: string, add: AddToHold, release: (reply: AddOk) => void): void {
    const held = this.#acks.get(key);
    if (held) {
      held.data.release = release;
      return;
    }
    const { session, tag, copy, groupName } = add;
    const seen = this.#o.visibleChanges?.() ?? NaN;
    this.#acks.hold(key, { session, tag, copy, until: this.#o.clock.now() + (this.#o.holdMs ?? 10_000), data: { release, groupName, seen } });
  }

  /**
   * A peer's `got` came: the acks it may release are checked now when no
   * batch is open (everything read is committed); else the check after
   * that batch's commit (every commit is followed by one) reads it, so
   * none is acked from uncommitted rows and none is checked twice.
   */
  noteGot(): void {
    if (this.#acks.size === 0 || this.#o.commit.busy) return;
    this.#recheck();
  }

  /**
   * The settling test of stable delivery (lib/store/settling.ts): a copy is
   * settled here when the ack rule would ack it now (its confirmer's word is
   * in), read against this moment's clock and delivered vector.
   */
  settledTest(): SettledTest {
    const now = this.#o.clock.now();
    const mine = this.#o.store.vector();
    return (origin, seq, conf) => this.#acks.confirmed({ origin, seq, conf }, mine, now);
  }

  #recheck(): void {
    if (this.#acks.size === 0) return;
    const { store, clock } = this.#o;
    // The copy read at hold (or at a later release check) is still the visible one while the count has not moved (NaN: unknown).
    const changes = this.#o.visibleChanges?.() ?? NaN;
    const visible = (session: string, tag: string, held: { copy: AddedCopy; data: Waiting }) => {
      if (held.data.seen === changes) return held.copy;
      const copy = store.messages.byTag(session, tag);
      if (copy !== null) held.data.seen = changes; // `due` makes it the held copy when it differs
      return copy;
    };
    for (const h of this.#acks.due(clock.now(), store.vector(), visible)) {
      const copy = h.copy;
      h.data.release({ verb: "ok", tag: h.tag, kind: "add", msg: copy.msg, groupName: h.data.groupName, msgId: { origin: copy.origin, n: copy.seq } });
    }
  }
}
