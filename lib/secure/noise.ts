/**
 * The Noise Protocol Framework, revision 34 (noiseprotocol.org/noise.html),
 * sections 5 (CipherState, SymmetricState, HandshakeState), 7 (patterns) and
 * 9 (pre-shared keys), over the suite of ./suite.ts. Only what DistChat
 * uses: the patterns NK (clients) and KKpsk0 (servers), any prologue and
 * payload. The section numbers in comments are the specification's.
 *
 * `readMessage` returns null for anything that does not authenticate (a bad
 * tag, a wrong length, a low-order key) and then changes nothing; it never
 * throws on input.
 *
 * @example
 * ```ts
 * const client = new HandshakeState({ pattern: NK, initiator: true, prologue, remoteStatic: serverKey.publicKey, ephemeral: generateKeyPair });
 * const server = new HandshakeState({ pattern: NK, initiator: false, prologue, static: serverKey, ephemeral: generateKeyPair });
 * server.readMessage(client.writeMessage(new Uint8Array(0)));
 * client.readMessage(server.writeMessage(new Uint8Array(0)));
 * client.split(); // [initiator → responder key, responder → initiator key], as server.split()
 * ```
 */
import {
  aeadDecrypt,
  aeadEncrypt,
  concatBytes,
  dh,
  hmacSha256,
  KEY_LEN,
  type KeyPair,
  type KeyPairSource,
  MAX_NONCE,
  secretKey,
  sha256,
  utf8,
} from "./suite.ts";

/** A handshake pattern (§7): pre-messages and the tokens of each message, psk tokens included (§9). */
export type HandshakePattern = {
  /** e.g. "NK", "KKpsk0": with the suite it makes the protocol name. */
  readonly name: string;
  /** Public keys the responder knows of the initiator before the handshake ("s" or nothing). */
  readonly initiatorPre: readonly "s"[];
  /** Public keys the initiator knows of the responder before the handshake. */
  readonly responderPre: readonly "s"[];
  /** Tokens of each message, the first sent by the initiator, then alternating. */
  readonly messages: readonly (readonly Token[])[];
};

/** A token of a message pattern (§7.1, §9.1). */
export type Token = "e" | "s" | "ee" | "es" | "se" | "ss" | "psk";

/** NK (§7.4): `<- s ... -> e, es <- e, ee`. The client knows the server's static key; it has none. */
export const NK: HandshakePattern = { name: "NK", initiatorPre: [], responderPre: ["s"], messages: [["e", "es"], ["e", "ee"]] };

/** KKpsk0 (§7.5, §9.4): `-> s <- s ... -> psk, e, es, ss <- e, ee, se`. Both static keys pinned; a pre-shared key from the first message. */
export const KKPSK0: HandshakePattern = {
  name: "KKpsk0",
  initiatorPre: ["s"],
  responderPre: ["s"],
  messages: [["psk", "e", "es", "ss"], ["e", "ee", "se"]],
};

/** The suite's part of every protocol name (§8, §12). */
export const SUITE_NAME = "25519_ChaChaPoly_SHA256";

/** `Noise_<pattern>_25519_ChaChaPoly_SHA256`. */
export function protocolName(pattern: HandshakePattern): string {
  return `Noise_${pattern.name}_${SUITE_NAME}`;
}

const EMPTY = new Uint8Array(0);

/** HKDF (§4.3) with HMAC-SHA256: two or three outputs of 32 bytes. */
export function hkdf(chainingKey: Uint8Array, ikm: Uint8Array, outputs: 2 | 3): Uint8Array[] {
  const temp = secretKey(hmacSha256(chainingKey, ikm));
  const o1 = hmacSha256(temp, Uint8Array.of(1));
  const o2 = hmacSha256(temp, o1, Uint8Array.of(2));
  if (outputs === 2) return [o1, o2];
  return [o1, o2, hmacSha256(temp, o2, Uint8Array.of(3))];
}

/** CipherState (§5.1): a key (or none) and a counter nonce. */
export class CipherState {
  #k: Uint8Array | null;
  #n = 0;

  /** InitializeKey(key). */
  constructor(key: Uint8Array | null = null) {
    this.#k = key;
  }

  /** A copy with the same key and nonce. */
  clone(): CipherState {
    const c = new CipherState(this.#k);
    c.#n = this.#n;
    return c;
  }

  /** HasKey(). */
  hasKey(): boolean {
    return this.#k !== null;
  }

  /** The key, for transport sessions that use explicit nonces (§11.4); null before one was set. */
  get key(): Uint8Array | null {
    return this.#k;
  }

  /** EncryptWithAd(ad, plaintext); throws when the nonces are used up (never within a session's limits). */
  encryptWithAd(ad: Uint8Array, plaintext: Uint8Array): Uint8Array {
    if (this.#k === null) return plaintext;
    if (this.#n >= MAX_NONCE) throw new RangeError("Noise nonce exhausted");
    return aeadEncrypt(this.#k, this.#n++, ad, plaintext);
  }

  /** DecryptWithAd(ad, ciphertext): null when it does not authenticate (the nonce is then not used up). */
  decryptWithAd(ad: Uint8Array, ciphertext: Uint8Array): Uint8Array | null {
    if (this.#k === null) return ciphertext;
    if (this.#n >= MAX_NONCE) return null;
    const plain = aeadDecrypt(this.#k, this.#n, ad, ciphertext);
    if (plain !== null) this.#n++;
    return plain;
  }
}

/** SymmetricState (§5.2): the chaining key, the handshake hash and a CipherState. */
export class SymmetricState {
  #ck: Uint8Array;
  #h: Uint8Array;
  #cipher = new CipherState();

  /** InitializeSymmetric(protocol_name). */
  constructor(protocol: string) {
    const name = utf8(protocol);
    this.#h = name.length <= KEY_LEN ? concatBytes(name, new Uint8Array(KEY_LEN - name.length)) : sha256(name);
    this.#ck = this.#h;
  }

  /** A copy to work on (a message is read on a copy, kept only when it authenticates). */
  clone(): SymmetricState {
    const c = new SymmetricState("");
    c.#ck = this.#ck;
    c.#h = this.#h;
    c.#cipher = this.#cipher.clone();
    return c;
  }

  /** The handshake hash h (channel binding, §11.2). */
  get handshakeHash(): Uint8Array {
    return this.#h;
  }

  /** MixKey(input_key_material). */
  mixKey(ikm: Uint8Array): void {
    const [ck, k] = hkdf(this.#ck, ikm, 2);
    this.#ck = ck;
    this.#cipher = new CipherState(k);
  }

  /** MixHash(data). */
  mixHash(data: Uint8Array): void {
    this.#h = sha256(this.#h, data);
  }

  /** MixKeyAndHash(input_key_material), for psk tokens. */
  mixKeyAndHash(ikm: Uint8Array): void {
    const [ck, h, k] = hkdf(this.#ck, ikm, 3);
    this.#ck = ck;
    this.mixHash(h);
    this.#cipher = new CipherState(k);
  }

  /** EncryptAndHash(plaintext). */
  encryptAndHash(plaintext: Uint8Array): Uint8Array {
    const c = this.#cipher.encryptWithAd(this.#h, plaintext);
    this.mixHash(c);
    return c;
  }

  /** DecryptAndHash(ciphertext): null when it does not authenticate. */
  decryptAndHash(ciphertext: Uint8Array): Uint8Array | null {
    const p = this.#cipher.decryptWithAd(this.#h, ciphertext);
    if (p !== null) this.mixHash(ciphertext);
    return p;
  }

  /** Split(): the initiator's sending CipherState, then the responder's. */
  split(): [CipherState, CipherState] {
    const [k1, k2] = hkdf(this.#ck, EMPTY, 2);
    return [new CipherState(k1), new CipherState(k2)];
  }

  /** Bytes an EncryptAndHash of `n` plaintext bytes produces now. */
  sealedLength(n: number): number {
    return this.#cipher.hasKey() ? n + 16 : n;
  }
}

/** What a HandshakeState starts from (§5.3 Initialize). */
export type HandshakeOptions = {
  pattern: HandshakePattern;
  initiator: boolean;
  prologue: Uint8Array;
  /** Our static key pair (s), when the pattern has one for our role. */
  static?: KeyPair;
  /** Their static public key (rs), when known before the handshake. */
  remoteStatic?: Uint8Array;
  /** Where our ephemeral key pair (e) comes from. */
  ephemeral: KeyPairSource;
  /** Pre-shared keys of 32 bytes, in the order of the pattern's psk tokens. */
  psks?: readonly Uint8Array[];
};

/** HandshakeState (§5.3). Write and read messages in the pattern's order, then split. */
export class HandshakeState {
  readonly #pattern: HandshakePattern;
  readonly #initiator: boolean;
  #symmetric: SymmetricState;
  readonly #s: KeyPair | null;
  readonly #ephemeral: KeyPairSource;
  readonly #psks: readonly Uint8Array[];
  readonly #usesPsk: boolean;
  #e: KeyPair | null = null;
  #rs: Uint8Array | null;
  #re: Uint8Array | null = null;
  #next = 0;
  #pskUsed = 0;

  /** Initialize(...): throws a TypeError when a key the pattern needs is missing (a programming error). */
  constructor(o: HandshakeOptions) {
    this.#pattern = o.pattern;
    this.#initiator = o.initiator;
    this.#symmetric = new SymmetricState(protocolName(o.pattern));
    this.#s = o.static ?? null;
    this.#rs = o.remoteStatic ?? null;
    this.#ephemeral = o.ephemeral;
    this.#psks = o.psks ?? [];
    this.#usesPsk = o.pattern.messages.some((m) => m.includes("psk"));
    const pskTokens = o.pattern.messages.flat().filter((t) => t === "psk").length;
    if (this.#psks.length !== pskTokens || this.#psks.some((k) => k.length !== KEY_LEN)) {
      throw new TypeError(`${o.pattern.name} needs ${pskTokens} pre-shared key(s) of 32 bytes`);
    }
    this.#symmetric.mixHash(o.prologue);
    for (const [pre, ours] of [[o.pattern.initiatorPre, o.initiator], [o.pattern.responderPre, !o.initiator]] as const) {
      if (pre.length === 0) continue;
      const key = ours ? this.#s?.publicKey : this.#rs;
      if (!key) throw new TypeError(`${o.pattern.name} needs the ${ours ? "local" : "remote"} static key before the handshake`);
      this.#symmetric.mixHash(key);
    }
  }

  /** True once every message of the pattern was written or read. */
  get finished(): boolean {
    return this.#next >= this.#pattern.messages.length;
  }

  /** True when the next message is ours to write. */
  get myTurn(): boolean {
    return !this.finished && (this.#next % 2 === 0) === this.#initiator;
  }

  /** The handshake hash (the same on both sides once finished). */
  get handshakeHash(): Uint8Array {
    return this.#symmetric.handshakeHash;
  }

  /** The remote party's static public key, when known. */
  get remoteStatic(): Uint8Array | null {
    return this.#rs;
  }

  /** WriteMessage(payload): the message bytes. Throws when it is not our turn (a programming error). */
  writeMessage(payload: Uint8Array): Uint8Array {
    if (!this.myTurn) throw new TypeError("Not this side's turn to write a handshake message");
    const out: Uint8Array[] = [];
    for (const t of this.#pattern.messages[this.#next]) {
      if (t === "e") {
        this.#e = this.#ephemeral();
        out.push(this.#e.publicKey);
        this.#mixEphemeral(this.#e.publicKey);
      } else if (t === "s") {
        out.push(this.#symmetric.encryptAndHash(this.#s!.publicKey));
      } else if (t === "psk") {
        this.#symmetric.mixKeyAndHash(this.#psks[this.#pskUsed++]);
      } else if (!this.#mixDh(t)) {
        throw new TypeError(`Handshake ${t}: a low-order key`);
      }
    }
    out.push(this.#symmetric.encryptAndHash(payload));
    this.#next++;
    return concatBytes(...out);
  }

  /**
   * ReadMessage(message): the payload, or null when the message does not
   * authenticate. A message that fails changes nothing: the state can
   * still read the right one.
   */
  readMessage(message: Uint8Array): Uint8Array | null {
    if (this.finished || this.myTurn) return null;
    const saved = { symmetric: this.#symmetric, re: this.#re, rs: this.#rs, pskUsed: this.#pskUsed };
    this.#symmetric = saved.symmetric.clone();
    const payload = this.#read(message);
    if (payload === null) {
      this.#symmetric = saved.symmetric;
      this.#re = saved.re;
      this.#rs = saved.rs;
      this.#pskUsed = saved.pskUsed;
      return null;
    }
    this.#next++;
    return payload;
  }

  #read(message: Uint8Array): Uint8Array | null {
    let at = 0;
    for (const t of this.#pattern.messages[this.#next]) {
      if (t === "e") {
        if (message.length - at < KEY_LEN) return null;
        this.#re = message.slice(at, at + KEY_LEN);
        at += KEY_LEN;
        this.#mixEphemeral(this.#re);
      } else if (t === "s") {
        const len = this.#symmetric.sealedLength(KEY_LEN);
        if (message.length - at < len) return null;
        const rs = this.#symmetric.decryptAndHash(message.subarray(at, at + len));
        if (rs === null) return null;
        this.#rs = rs;
        at += len;
      } else if (t === "psk") {
        this.#symmetric.mixKeyAndHash(this.#psks[this.#pskUsed++]);
      } else if (!this.#mixDh(t)) {
        return null;
      }
    }
    return this.#symmetric.decryptAndHash(message.subarray(at));
  }

  /** Split() once finished: [initiator → responder, responder → initiator]. */
  split(): [CipherState, CipherState] {
    if (!this.finished) throw new TypeError("The handshake is not finished");
    return this.#symmetric.split();
  }

  #mixEphemeral(publicKey: Uint8Array): void {
    this.#symmetric.mixHash(publicKey);
    if (this.#usesPsk) this.#symmetric.mixKey(publicKey);
  }

  /** ee, es, se, ss: MixKey(DH(...)); false for a low-order key. */
  #mixDh(t: "ee" | "es" | "se" | "ss"): boolean {
    // In "es" the initiator contributes e and the responder s; "se" the other way round.
    const [mine, theirs] = t === "ee"
      ? [this.#e, this.#re]
      : t === "ss"
      ? [this.#s, this.#rs]
      : (t === "es") === this.#initiator
      ? [this.#e, this.#rs]
      : [this.#s, this.#re];
    if (!mine || !theirs) return false;
    const shared = dh(mine, theirs);
    if (shared === null) return false;
    this.#symmetric.mixKey(shared);
    return true;
  }
}
