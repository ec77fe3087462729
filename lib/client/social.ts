/**
 * What the terminal client does for accounts, direct messages and
 * moderation (docs/CLIENT.md): /register, /password, /unregister, /whois,
 * /topic, /op … /mode, and sealing and opening direct messages
 * (lib/client/dm_seal.ts) with trust on first use of the peer's key
 * (a `KeyMemory`: lib/client/known_keys.ts keeps it in a file; the page in
 * its storage). The password stays in this process: the server gets a
 * SCRAM verifier at registration and proofs at login. Runtime-neutral.
 */
import type { PollEntry, Reply, RoomInfoReply } from "../wire/messages.ts";
import { MAX_MSG_BYTES } from "../wire/messages.ts";
import { base64Bytes } from "../wire/base64.ts";
import { nameKey } from "../wire/names.ts";
import { utf8Length } from "../wire/utf8.ts";
import { DEFAULT_ITERATIONS, makeVerifier, verifierToBase64 } from "../accounts/scram.ts";
import { DM_PREFIX, type DmKeyPair, dmKeyPair, fingerprint, MAX_DM_PLAIN, openDm, sealDm } from "./dm_seal.ts";
import { randomBytes } from "./random.ts";
import type { Session } from "./session.ts";
import { describeError, type MessageView, modeWords, unsealedDmWords } from "./wording.ts";

/** What the first sight of a key was: new, the one remembered, or a different one. */
export type KeyCheck = "first" | "same" | "changed";

/** Other users' DM keys as first seen (trust on first use). */
export type KeyMemory = {
  /** The key remembered for `user`, if any. */
  get(user: string): string | undefined;
  /** Compares `publicKey` with what is remembered for `user`, then remembers it. */
  check(user: string, publicKey: string): KeyCheck;
};

/**
 * A KeyMemory over a plain object (name key → key), told of every change:
 * lib/client/known_keys.ts saves it to a file, the page to its storage.
 */
export function keyMemory(keys: Record<string, string> = {}, save: (keys: Record<string, string>) => void = () => {}): KeyMemory {
  return {
    get: (user) => keys[nameKey(user)],
    check(user, publicKey) {
      const k = nameKey(user);
      const old = keys[k];
      if (old === publicKey) return "same";
      keys[k] = publicKey;
      save(keys);
      return old === undefined ? "first" : "changed";
    },
  };
}

type Ui = {
  notice(t: string): void;
  error(t: string): void;
  output(t: string): void;
  /** A room's settings (its topic, mode and roles): read after a join and by /topic and /mode. Without it: notices. */
  roomInfo?(info: RoomInfoReply): void;
};
type ErrorReply = Extract<Reply, { verb: "error" }>;

const failed = (r: Reply | null): r is ErrorReply => r !== null && r.verb === "error";

export class Social {
  /** This user's DM key pair once the password is known (a registered name). */
  dmKey: DmKeyPair | null = null;
  #session!: Session;
  #ui: Ui;
  #userName: string;
  #iterations: number;
  #known: KeyMemory;
  /** Peers' published keys, by name key ("-": the peer publishes none). */
  #peers = new Map<string, string>();
  #warnedPlain = new Set<string>();

  constructor(o: { ui: Ui; userName: string; known: KeyMemory; iterations?: number }) {
    this.#ui = o.ui;
    this.#userName = o.userName;
    this.#known = o.known;
    this.#iterations = o.iterations ?? DEFAULT_ITERATIONS;
  }

  attach(session: Session): void {
    this.#session = session;
  }

  /** The SaltedPassword of a password login: the DM key follows from it. */
  onSalted = (salted: Uint8Array): void => {
    this.dmKey = dmKeyPair(salted);
  };

  /** Whether this user holds a DM key (a registered name, logged in with its password). */
  get registered(): boolean {
    return this.dmKey !== null;
  }

  async #verifier(password: string) {
    const v = await makeVerifier(password, randomBytes(16), this.#iterations);
    return { wire: verifierToBase64(v), key: dmKeyPair(v.salted) };
  }

  /** /register: the name held now becomes this password's; true when it did. */
  async register(password: string): Promise<boolean> {
    const v = await this.#verifier(password);
    const r = await this.#session.call((tag, token) => ({ verb: "register", tag, token, verifier: v.wire, publicKey: v.key.publicKey }));
    if (r === null) return false;
    if (failed(r)) return (this.#ui.error(`cannot register ${this.#userName}: ${describeError(r.code, r.message)}`), false);
    this.#session.password = password;
    this.dmKey = v.key;
    this.#ui.notice(`registered ${this.#userName}: from now on it logs in only with this password; your key fingerprint is ${fingerprint(v.key.publicKey)}`);
    return true;
  }

  /** /password: proven with the old one (a SCRAM exchange), then the new verifier and key; true when it changed. */
  async changePassword(old: string, fresh: string): Promise<boolean> {
    const proof = await this.#session.prove(this.#userName, old);
    if (proof === null) return false;
    if ("verb" in proof) return (this.#ui.error(`password not changed: ${describeError((proof as ErrorReply).code, (proof as ErrorReply).message)}`), false);
    const v = await this.#verifier(fresh);
    const r = await this.#session.send((tag) => ({ verb: "password", tag, userName: this.#userName, proof: proof.message, verifier: v.wire }));
    if (r === null) return false;
    if (failed(r)) return (this.#ui.error(`password not changed: ${describeError(r.code, r.message)}`), false);
    // The old verifier signs this reply (docs/PROTOCOL.md "Accounts"): the exchange just made with the old password.
    if (r.verb === "ok" && r.kind === "password" && r.serverFinal !== proof.serverSignature) {
      return (this.#ui.error("password change not confirmed: the server could not prove it knows this account"), false);
    }
    this.#session.password = fresh;
    this.dmKey = v.key;
    const k = await this.#session.call((tag, token) => ({ verb: "pubkey", tag, token, publicKey: v.key.publicKey }));
    if (failed(k)) this.#ui.error(`new key not published: ${describeError(k.code, k.message)}`);
    this.#ui.notice(`password changed; your new key fingerprint is ${fingerprint(v.key.publicKey)} (direct messages sealed to the old key can no longer be opened)`);
    return true;
  }

  /** /unregister; true when the account was dropped. */
  async unregister(password: string): Promise<boolean> {
    const proof = await this.#session.prove(this.#userName, password);
    if (proof === null) return false;
    if ("verb" in proof) return (this.#ui.error(`not unregistered: ${describeError((proof as ErrorReply).code, (proof as ErrorReply).message)}`), false);
    const r = await this.#session.send((tag) => ({ verb: "drop", tag, userName: this.#userName, proof: proof.message, verifier: null }));
    if (r === null) return false;
    if (failed(r)) return (this.#ui.error(`not unregistered: ${describeError(r.code, r.message)}`), false);
    this.#session.password = null;
    this.dmKey = null;
    this.#ui.notice(`${this.#userName} is no longer registered: anyone may use the name once you log out`);
    return true;
  }

  /** Reads a peer's published key and checks it against the one remembered (trust on first use). */
  async #fetchKey(user: string): Promise<Extract<Reply, { kind: "whois" }> | ErrorReply | null> {
    const r = await this.#session.call((tag, token) => ({ verb: "whois", tag, token, userName: user }));
    if (r === null || r.verb === "error") return r as ErrorReply | null;
    if (r.verb !== "ok" || r.kind !== "whois") return null;
    // A key that is not 32 bytes of base64 (a broken or hostile server) counts as none.
    if (r.publicKey !== "-" && !base64Bytes(r.publicKey, 32)) r.publicKey = "-";
    this.#peers.set(nameKey(user), r.publicKey);
    if (r.publicKey !== "-" && nameKey(user) !== nameKey(this.#userName)) {
      const old = this.#known.get(user);
      const seen = this.#known.check(user, r.publicKey);
      if (seen === "changed") {
        this.#ui.error(
          `WARNING: ${r.userName}'s key changed from ${fingerprint(old!)} to ${fingerprint(r.publicKey)}. ` +
            `If ${r.userName} did not change their password, someone may be reading your direct messages; compare fingerprints another way.`,
        );
      } else if (seen === "first") this.#ui.notice(`${r.userName}'s key fingerprint: ${fingerprint(r.publicKey)} (first seen; compare it with ${r.userName})`);
    }
    return r;
  }

  /** Before a conversation's messages show: the peer's key. */
  beforeConversation = async (address: string): Promise<void> => {
    if (!this.#peers.has(nameKey(address.slice(1)))) await this.#fetchKey(address.slice(1));
  };

  /** /whois NAME. */
  async whois(user: string): Promise<void> {
    const r = await this.#fetchKey(user);
    if (r === null) return;
    if (r.verb === "error") return this.#ui.error(`whois ${user}: ${describeError(r.code, r.message)}`);
    const idle = r.idle === null ? "not logged in" : `logged in, idle ${r.idle} s`;
    const key = r.publicKey === "-" ? "no key" : `key ${fingerprint(r.publicKey)}`;
    const rooms = r.rooms.length ? `rooms in common: ${r.rooms.join(", ")}` : "no rooms in common";
    this.#ui.output(`${r.userName}: ${r.registered ? "registered" : "not registered"}, ${idle}, ${key}, ${rooms}`);
  }

  /** The most UTF-8 bytes a line typed into conversation `address` may have: less when it is sealed. */
  limitOf(address: string): number {
    const peer = this.#peers.get(nameKey(address.slice(1)));
    return this.dmKey === null || peer === undefined || peer === "-" ? MAX_MSG_BYTES : MAX_DM_PLAIN;
  }

  /** Whether what is sent to conversation `address` is sealed (both registered, the peer's key known). */
  seals(address: string): boolean {
    return this.limitOf(address) === MAX_DM_PLAIN;
  }

  /** The text to send to conversation `address`: sealed when both sides have keys. */
  outgoing(address: string, text: string): { ok: true; text: string } | { ok: false; message: string } {
    const peer = this.#peers.get(nameKey(address.slice(1)));
    if (this.dmKey === null || peer === undefined || peer === "-") {
      if (!this.#warnedPlain.has(nameKey(address))) {
        this.#warnedPlain.add(nameKey(address));
        this.#ui.notice(unsealedDmWords(address.slice(1), this.dmKey === null ? "you-unregistered" : "peer-has-no-key"));
      }
      return { ok: true, text };
    }
    if (utf8Length(text) > MAX_DM_PLAIN) return { ok: false, message: `message not sent: a sealed direct message holds at most ${MAX_DM_PLAIN} bytes` };
    return { ok: true, text: sealDm(this.dmKey, peer, this.#userName, address.slice(1), text) };
  }

  /** How a message of conversation `address` shows: opened when sealed. */
  view(address: string, e: PollEntry): MessageView {
    if (!e.msg.startsWith(DM_PREFIX)) return { kind: "plain", text: e.msg };
    const peerName = address.slice(1);
    const peer = this.#peers.get(nameKey(peerName));
    if (this.dmKey === null || peer === undefined || peer === "-") {
      return { kind: "locked", text: this.dmKey === null ? "[sealed direct message: log in with your password to read it]" : `[sealed direct message: ${peerName} has no key]` };
    }
    const mine = nameKey(e.userName) === nameKey(this.#userName);
    const opened = openDm(this.dmKey, peer, e.userName, mine ? peerName : this.#userName, e.msg);
    return opened.ok ? { kind: "sealed", text: opened.text } : { kind: "tampered", text: "[sealed direct message that does not open: altered, or sealed with an older key]" };
  }

  // --- Moderation --------------------------------------------------------------

  async #room(room: string) {
    const r = await this.#session.call((tag, token) => ({ verb: "room", tag, token, groupName: room }));
    if (r === null) return null;
    if (r.verb !== "ok" || r.kind !== "room") {
      const e = r as ErrorReply;
      this.#ui.error(`cannot read ${room}'s settings: ${describeError(e.code, e.message)}`);
      return null;
    }
    return r;
  }

  /** After a join: the room's settings to the UI, or its topic as a notice (if there is one). */
  afterJoin = async (room: string): Promise<void> => {
    const r = await this.#session.call((tag, token) => ({ verb: "room", tag, token, groupName: room }));
    if (r?.verb !== "ok" || r.kind !== "room") return;
    if (this.#ui.roomInfo) return this.#ui.roomInfo(r);
    if (r.topic !== "") this.#ui.notice(topicLine(r));
  };

  /** /topic [TEXT]. */
  async topic(room: string, text: string | null): Promise<void> {
    if (text !== null) return this.mod(room, "topic", "-", text);
    const r = await this.#room(room);
    if (!r) return;
    this.#ui.roomInfo?.(r);
    this.#ui.output(r.topic === "" ? `${r.groupName} has no topic` : topicLine(r));
  }

  /** /mode [+i|-i|+l N|-l|…]: without an argument, the mode and roles. */
  async mode(room: string, mode: string | null): Promise<void> {
    if (mode !== null) return this.mod(room, "mode", mode, "");
    const r = await this.#room(room);
    if (r) this.#ui.roomInfo?.(r);
    const roles = r?.roles.filter((x) => !x.startsWith("*")) ?? [];
    if (r) this.#ui.output(`${r.groupName}: ${modeWords(r.mode, r.roles)}; roles: ${roles.join(" ") || "none"} (~owner @operator %voiced !banned +invited)`);
  }

  /** /op /deop /kick /ban /unban /invite /topic /mode. */
  async mod(room: string, action: "op" | "deop" | "kick" | "ban" | "unban" | "invite" | "topic" | "mode", target: string, text: string): Promise<void> {
    const r = await this.#session.call((tag, token) => ({ verb: "mod", tag, token, groupName: room, action, target, text }));
    if (r === null) return;
    if (failed(r)) {
      const what = action === "topic" ? `set the topic of ${room}` : action === "mode" ? `change the mode of ${room}` : `${action} ${target} in ${room}`;
      return this.#ui.error(`cannot ${what}: ${describeError(r.code, r.message)}`);
    }
    if (action === "invite") this.#ui.notice(`invited ${target} to ${room}`);
  }
}

/** A room's topic as a line. */
const topicLine = (r: RoomInfoReply) => `topic of ${r.groupName}: ${r.topic} (set by ${r.topicBy})`;
