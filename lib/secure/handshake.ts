/**
 * DistChat's two handshakes over lib/secure/noise.ts, and how their messages
 * sit in datagrams (docs/PROTOCOL.md "Encrypted transport",
 * docs/PEER_PROTOCOL.md "Encrypted transport"):
 *
 * - client → server: `Noise_NK_25519_ChaChaPoly_SHA256`, prologue
 *   `DistChat/1 client`. The client has no static key and pins the server's.
 * - server → server: `Noise_KKpsk0_25519_ChaChaPoly_SHA256`, prologue
 *   `DistChat/1 peer`, both static keys pinned in servers.txt, the psk
 *   derived from the cluster key (./keys.ts).
 *
 * Message 1 carries an empty payload; message 2 carries the responder's
 * index of the new session (4 bytes, so that no one can change it on the
 * way) and the session's 16-byte reset token. The initiator sends with the first
 * key of Split(), the responder with the second.
 *
 * @example
 * ```ts
 * const hs = clientHandshake(serverKey.publicKey, generateKeyPair);
 * const started = initiate(hs, localIndex, serverKey.publicKey, null);  // { bytes, mac1 }
 * // server: respond(init, serverClientHandshake(serverKey, generateKeyPair), index, token, now)
 * finish(hs, response, localIndex, now);                                 // { session, resetToken } or null
 * ```
 */
import {
  encodeInitiationBody,
  encodeResponse,
  indexBytes,
  type Initiation,
  MAC_LEN,
  type PeerInitiation,
  readIndex,
  type Response,
  RESPONSE_PAYLOAD_LEN,
} from "./envelope.ts";
import { sealInitiation } from "./cookie.ts";
import { HandshakeState, KKPSK0, NK } from "./noise.ts";
import { type SessionLimits, TransportSession } from "./session.ts";
import { concatBytes, type KeyPair, type KeyPairSource, utf8 } from "./suite.ts";

/** Prologue of the client handshake. */
export const CLIENT_PROLOGUE = "DistChat/1 client";
/** Prologue of the server-to-server handshake. */
export const PEER_PROLOGUE = "DistChat/1 peer";

const EMPTY = new Uint8Array(0);

/** The client's side of NK, towards the server whose static key is `serverKey`. */
export function clientHandshake(serverKey: Uint8Array, ephemeral: KeyPairSource): HandshakeState {
  return new HandshakeState({ pattern: NK, initiator: true, prologue: utf8(CLIENT_PROLOGUE), remoteStatic: serverKey, ephemeral });
}

/** The server's side of NK. */
export function serverClientHandshake(staticKey: KeyPair, ephemeral: KeyPairSource): HandshakeState {
  return new HandshakeState({ pattern: NK, initiator: false, prologue: utf8(CLIENT_PROLOGUE), static: staticKey, ephemeral });
}

/** One side of KKpsk0 between two servers. */
export function peerHandshake(o: { initiator: boolean; staticKey: KeyPair; remoteKey: Uint8Array; psk: Uint8Array; ephemeral: KeyPairSource }): HandshakeState {
  return new HandshakeState({
    pattern: KKPSK0,
    initiator: o.initiator,
    prologue: utf8(PEER_PROLOGUE),
    static: o.staticKey,
    remoteStatic: o.remoteKey,
    ephemeral: o.ephemeral,
    psks: [o.psk],
  });
}

/** Writes message 1 into an initiation datagram (a server's names its id `from`). */
export function initiate(
  hs: HandshakeState,
  localIndex: number,
  responderKey: Uint8Array,
  cookie: Uint8Array | null,
  from?: string,
): { bytes: Uint8Array; mac1: Uint8Array } {
  const body = encodeInitiationBody(localIndex, hs.writeMessage(EMPTY), from);
  const bytes = sealInitiation(body, responderKey, cookie);
  return { bytes, mac1: bytes.slice(body.length, body.length + MAC_LEN) };
}

/**
 * The responder's part: reads message 1 of `init`, writes message 2 with
 * `token`. Null when message 1 does not authenticate. The session is the
 * responder's: it may send only once a datagram arrived on it.
 */
export function respond(
  init: Initiation | PeerInitiation,
  hs: HandshakeState,
  localIndex: number,
  token: Uint8Array,
  now: number,
  limits?: SessionLimits,
): { session: TransportSession; bytes: Uint8Array } | null {
  if (hs.readMessage(init.message) === null) return null;
  const message = hs.writeMessage(concatBytes(indexBytes(localIndex), token));
  const [toResponder, toInitiator] = hs.split();
  const session = new TransportSession({
    localIndex,
    remoteIndex: init.sender,
    sendKey: toInitiator.key!,
    receiveKey: toResponder.key!,
    createdAt: now,
    initiator: false,
    limits,
  });
  return { session, bytes: encodeResponse({ receiver: init.sender, message }) };
}

/** The initiator's part: reads message 2. Null when it does not authenticate. */
export function finish(
  hs: HandshakeState,
  response: Response,
  localIndex: number,
  now: number,
  limits?: SessionLimits,
): { session: TransportSession; resetToken: Uint8Array } | null {
  const payload = hs.readMessage(response.message);
  if (payload === null || payload.length !== RESPONSE_PAYLOAD_LEN) return null;
  const [toResponder, toInitiator] = hs.split();
  const session = new TransportSession({
    localIndex,
    remoteIndex: readIndex(payload),
    sendKey: toResponder.key!,
    receiveKey: toInitiator.key!,
    createdAt: now,
    initiator: true,
    limits,
  });
  return { session, resetToken: payload.slice(4, 4 + MAC_LEN) };
}
