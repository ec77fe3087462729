/**
 * lib/secure/noise.ts against published test vectors
 * (tests/fixtures/noise_vectors.json: cacophony, snow and flynn/noise, for
 * exactly Noise_NK_25519_ChaChaPoly_SHA256 and
 * Noise_KKpsk0_25519_ChaChaPoly_SHA256). Each vector is run both ways:
 * every message written by its sender must equal the published ciphertext,
 * and read by its receiver must give the published payload; the handshake
 * hash must match where published; transport messages after the handshake
 * alternate initiator, responder, … as in the vector files.
 */
import { readFileSync } from "node:fs";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { CipherState, HandshakeState, type HandshakePattern, KKPSK0, NK, protocolName } from "../lib/secure/noise.ts";
import { keyPairFromPrivate, type KeyPair } from "../lib/secure/suite.ts";

type Vector = {
  source: string;
  protocol_name: string;
  init_prologue: string;
  resp_prologue: string;
  init_psks?: string[];
  resp_psks?: string[];
  init_static?: string;
  init_ephemeral: string;
  init_remote_static?: string;
  resp_static?: string;
  resp_ephemeral: string;
  resp_remote_static?: string;
  handshake_hash?: string;
  messages: { payload: string; ciphertext: string }[];
};

const fixture = JSON.parse(readFileSync(new URL("./fixtures/noise_vectors.json", import.meta.url), "utf8")) as { vectors: Vector[] };
const PATTERNS: HandshakePattern[] = [NK, KKPSK0];

const bytes = (hex: string) => Uint8Array.from(hex.match(/../g) ?? [], (h) => parseInt(h, 16));
const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const pair = (h: string | undefined) => (h === undefined ? undefined : keyPairFromPrivate(bytes(h)));
/** A source of exactly one key pair: the vector's ephemeral. */
const once = (p: KeyPair) => {
  let used = false;
  return () => {
    if (used) throw new Error("a second ephemeral key was asked for");
    used = true;
    return p;
  };
};

test("the fixture holds every protocol DistChat uses, from at least two sources each", () => {
  for (const p of PATTERNS) {
    const sources = new Set(fixture.vectors.filter((v) => v.protocol_name === protocolName(p)).map((v) => v.source));
    assert.ok(sources.size >= (p === NK ? 3 : 2), `${protocolName(p)}: ${[...sources]}`);
  }
  assert.ok(fixture.vectors.every((v) => PATTERNS.some((p) => protocolName(p) === v.protocol_name)));
});

for (const [i, v] of fixture.vectors.entries()) {
  test(`${v.source} #${i}: ${v.protocol_name}`, () => {
    const pattern = PATTERNS.find((p) => protocolName(p) === v.protocol_name)!;
    const initStatic = pair(v.init_static), respStatic = pair(v.resp_static);
    const initiator = new HandshakeState({
      pattern,
      initiator: true,
      prologue: bytes(v.init_prologue),
      static: initStatic,
      remoteStatic: v.init_remote_static ? bytes(v.init_remote_static) : respStatic?.publicKey,
      ephemeral: once(pair(v.init_ephemeral)!),
      psks: (v.init_psks ?? []).map(bytes),
    });
    const responder = new HandshakeState({
      pattern,
      initiator: false,
      prologue: bytes(v.resp_prologue),
      static: respStatic,
      remoteStatic: v.resp_remote_static ? bytes(v.resp_remote_static) : pattern.initiatorPre.length ? initStatic?.publicKey : undefined,
      ephemeral: once(pair(v.resp_ephemeral)!),
      psks: (v.resp_psks ?? []).map(bytes),
    });
    let transport: { init: [CipherState, CipherState]; resp: [CipherState, CipherState] } | null = null;
    for (const [n, m] of v.messages.entries()) {
      const fromInitiator = n % 2 === 0;
      if (transport === null) {
        const [w, r] = fromInitiator ? [initiator, responder] : [responder, initiator];
        assert.is(hex(w.writeMessage(bytes(m.payload))), m.ciphertext, `message ${n} written`);
        assert.is(hex(r.readMessage(bytes(m.ciphertext)) ?? new Uint8Array([0xde, 0xad])), m.payload, `message ${n} read`);
        if (initiator.finished && responder.finished) {
          assert.is(hex(initiator.handshakeHash), hex(responder.handshakeHash));
          if (v.handshake_hash) assert.is(hex(initiator.handshakeHash), v.handshake_hash, "handshake hash");
          transport = { init: initiator.split(), resp: responder.split() };
        }
        continue;
      }
      // Transport: the initiator sends with the first CipherState of Split, the responder with the second.
      const send = fromInitiator ? transport.init[0] : transport.resp[1];
      const receive = fromInitiator ? transport.resp[0] : transport.init[1];
      const none = new Uint8Array(0);
      assert.is(hex(send.encryptWithAd(none, bytes(m.payload))), m.ciphertext, `transport message ${n} written`);
      assert.is(hex(receive.decryptWithAd(none, bytes(m.ciphertext)) ?? new Uint8Array([0xde, 0xad])), m.payload, `transport message ${n} read`);
    }
    assert.ok(transport !== null, "the handshake finished");
  });
}

test("a vector's message with one bit flipped does not authenticate, and the state is then refused", () => {
  const v = fixture.vectors.find((x) => x.source === "cacophony" && x.protocol_name === protocolName(KKPSK0))!;
  for (const at of [0, 31, 32, 47, bytes(v.messages[0].ciphertext).length - 1]) {
    const responder = new HandshakeState({
      pattern: KKPSK0,
      initiator: false,
      prologue: bytes(v.resp_prologue),
      static: pair(v.resp_static),
      remoteStatic: bytes(v.resp_remote_static!),
      ephemeral: once(pair(v.resp_ephemeral)!),
      psks: v.resp_psks!.map(bytes),
    });
    const m = bytes(v.messages[0].ciphertext);
    m[at] ^= 1;
    assert.is(responder.readMessage(m), null, `bit flipped at ${at}`);
  }
});

test("a wrong pre-shared key or prologue fails the first message", () => {
  const v = fixture.vectors.find((x) => x.source === "cacophony" && x.protocol_name === protocolName(KKPSK0))!;
  const base = {
    pattern: KKPSK0,
    initiator: false,
    static: pair(v.resp_static),
    remoteStatic: bytes(v.resp_remote_static!),
    ephemeral: once(pair(v.resp_ephemeral)!),
  };
  const wrongPsk = new HandshakeState({ ...base, prologue: bytes(v.resp_prologue), psks: [new Uint8Array(32)] });
  assert.is(wrongPsk.readMessage(bytes(v.messages[0].ciphertext)), null);
  const wrongPrologue = new HandshakeState({ ...base, prologue: bytes("00"), psks: v.resp_psks!.map(bytes) });
  assert.is(wrongPrologue.readMessage(bytes(v.messages[0].ciphertext)), null);
});

test.run();
