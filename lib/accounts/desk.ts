/**
 * The account desk of a server (docs/PROTOCOL.md "Accounts"): SCRAM-SHA-256
 * challenges (`auth`) and proofs (a password `login`, `password`, `drop`).
 * The password never reaches the server: clients send a verifier at
 * registration and a proof at login (lib/accounts/scram.ts). A name that is
 * not registered gets a challenge too, with a salt derived from a secret, so
 * a wrong password reads the same whether or not the name exists.
 *
 * What a stranger can do to it is bounded at each step (issue 20):
 * - challenges keep no state (lib/accounts/challenge.ts): a flood of `auth`
 *   takes no memory and evicts no one's challenge; each is answered once;
 * - guessing is slowed per source and per name+source at every proof, not
 *   only at `auth`, and a name under attack asks sources that never logged
 *   in to it for a proof of work (lib/accounts/guess_guard.ts,
 *   lib/accounts/work.ts) — never a lock its owner cannot pass;
 * - the CPU one address spends here is bounded by the client port's
 *   per-address rate (`--rate-limit`): a limit of account requests of their
 *   own would save nothing (refusing an `auth` costs about what answering
 *   it does) and would let a forger of an owner's UDP address, who needs no
 *   reply, use it up at a few datagrams a second.
 */
import { Buffer } from "node:buffer";
import { createHmac, createSecretKey, type KeyObject } from "node:crypto";
import type { AuthRequest } from "../wire/messages.ts";
import { nameKey } from "../wire/names.ts";
import { DEFAULT_ITERATIONS, parseClientFinal, serverFirst, verifierFromBase64, verifyClientFinal } from "./scram.ts";
import { GuessGuard, guessSource } from "./guess_guard.ts";
import { Challenges } from "./challenge.ts";
import { workDone } from "./work.ts";
import type { Account } from "../rules/ledger.ts";

/** Why an account request failed: the reply's code and text. */
export type AccountRefusal = { code: "bad-password" | "rate-limited" | "bad-request"; message: string };

/**
 * A client-final of any other shape than `c=biws,r=NONCE[,w=SOLUTION],p=PROOF`
 * (lib/accounts/scram.ts parseClientFinal): refused before any challenge is
 * looked up, so none is spent and no password checked (issue 20 re-run: with
 * r= after p=, one proof of work made ahead served every challenge).
 */
const MALFORMED: AccountRefusal = { code: "bad-request", message: "malformed SCRAM client-final: it must be c=biws,r=NONCE,p=PROOF, or c=biws,r=NONCE,w=SOLUTION,p=PROOF (docs/PROTOCOL.md \"Accounts\")" };

const WRONG: AccountRefusal = { code: "bad-password", message: "wrong user name or password (or the challenge expired: send auth again)" };

export class AccountDesk {
  readonly guard: GuessGuard;
  readonly challenges: Challenges;
  #saltKey: KeyObject;

  /** `secret`: for the made-up salts (the cluster key: the same on every server); challenges get a per-process secret of their own. */
  constructor(o: { secret: Uint8Array; random: (n: number) => Uint8Array; guard?: GuessGuard }) {
    this.#saltKey = createSecretKey(o.secret);
    this.guard = o.guard ?? new GuessGuard();
    this.challenges = new Challenges({ secret: o.random(32) });
  }

  /** SCRAM server-first for `req`, against `acct` (or a made-up salt when null); a refusal while the source must wait. */
  challenge(req: AuthRequest, acct: Account | null, host: string, now: number): { serverFirst: string } | AccountRefusal {
    const ukey = nameKey(req.userName), source = guessSource(host);
    const stop = this.#gate(ukey, source, now);
    if (stop) return stop;
    const bits = this.guard.work(ukey, source, now);
    if (bits > 0) this.guard.puzzles++;
    const snonce = this.challenges.issue({ userName: req.userName, clientNonce: req.nonce, reg: acct?.reg ?? null, bits }, now);
    return { serverFirst: this.#serverFirst(req.userName, req.nonce, snonce, acct, bits) };
  }

  /**
   * Checks a client-final message for `userName` against `acct` (as it is
   * now). A client-final of another shape than lib/accounts/scram.ts
   * `parseClientFinal` takes is `bad-request`, spending nothing. A challenge
   * is answered once, right or wrong; a proof for a challenge this server
   * did not issue (or that expired) is refused before any password check.
   * On success, the server-final message ("v=…").
   */
  verify(userName: string, proof: string, acct: Account | null, host: string, now: number): { serverFinal: string } | AccountRefusal {
    const ukey = nameKey(userName), source = guessSource(host);
    const stop = this.#gate(ukey, source, now);
    if (stop) return stop;
    const final = parseClientFinal(proof);
    if (final === null) return MALFORMED;
    const { nonce, withoutProof } = final;
    const c = this.challenges.open(nonce, userName, acct?.reg ?? null, now);
    if (c === null) return WRONG;
    if (c.bits < this.guard.work(ukey, source, now)) {
      return { code: "rate-limited", message: "this name is being guessed at: send auth again and answer with the proof of work its challenge asks for (w=)" };
    }
    if (!workDone(withoutProof, c.bits)) return { code: "bad-password", message: `the challenge asked for a proof of work (w=${c.bits}): none or a wrong one came` };
    if (!this.challenges.spend(nonce, c.expires, now)) return WRONG;
    const sf = this.#serverFirst(userName, c.clientNonce, nonce.slice(c.clientNonce.length), acct, c.bits);
    const r = acct === null ? { ok: false as const } : verifyClientFinal(verifierFromBase64(acct), `n=${userName},r=${c.clientNonce}`, sf, proof);
    if (!r.ok) {
      this.guard.miss(ukey, source, now);
      return WRONG;
    }
    this.guard.hit(ukey, source, now);
    return { serverFinal: r.serverFinal };
  }

  /** A refusal while the source must wait after wrong passwords (for this name, or for all); null: go on. */
  #gate(ukey: string, source: string, now: number): AccountRefusal | null {
    const wait = this.guard.wait(ukey, source, now);
    return wait > 0 ? { code: "rate-limited", message: `too many wrong passwords from this address; try again in ${Math.ceil(wait / 1000)} s` } : null;
  }

  #serverFirst(userName: string, clientNonce: string, snonce: string, acct: Account | null, bits: number): string {
    const salt = acct ? new Uint8Array(Buffer.from(acct.salt, "base64")) : this.#fakeSalt(nameKey(userName));
    return serverFirst(`n=${userName},r=${clientNonce}`, snonce, { salt, iterations: acct?.iterations ?? DEFAULT_ITERATIONS }, bits).message;
  }

  /** A salt for a name that is not registered: the same on every ask, unguessable without the secret. */
  #fakeSalt(ukey: string): Uint8Array {
    return new Uint8Array(createHmac("sha256", this.#saltKey).update(`distchat salt ${ukey}`).digest().subarray(0, 16));
  }
}
