/**
 * The account verbs of a server (docs/PROTOCOL.md "Accounts"): SCRAM-SHA-256
 * challenges (`auth`), proofs (a password `login`, `password`, `drop`),
 * `register` and `pubkey`. The password never reaches the server: clients
 * send a verifier at registration and a proof at login
 * (lib/accounts/scram.ts). A name that is not registered gets a challenge
 * too, with a salt derived from a secret, so a wrong password reads the
 * same whether or not the name exists. Guessing is slowed per name and per
 * source (lib/accounts/guess_guard.ts). Challenges live in memory for a
 * minute: a client that changes server starts again with `auth`.
 */
import { Buffer } from "node:buffer";
import { createHmac } from "node:crypto";
import type { AuthRequest } from "../wire/messages.ts";
import { nameKey } from "../wire/names.ts";
import { DEFAULT_ITERATIONS, serverFirst, verifierFromBase64, verifyClientFinal } from "../accounts/scram.ts";
import { GuessGuard } from "../accounts/guess_guard.ts";
import type { Account } from "../store/accounts.ts";

/** How long a challenge may be answered, ms. */
const CHALLENGE_MS = 60_000;
/** Challenges kept at once; the oldest go first. */
const MAX_CHALLENGES = 10_000;

type Challenge = { ukey: string; bare: string; serverFirst: string; reg: string | null; expires: number };

/** Why an account request failed: the reply's code and text. */
export type AccountRefusal = { code: "bad-password" | "rate-limited"; message: string };

export class AccountDesk {
  readonly guard: GuessGuard;
  #challenges = new Map<string, Challenge>();
  #secret: Uint8Array;
  #random: (n: number) => Uint8Array;

  constructor(o: { secret: Uint8Array; random: (n: number) => Uint8Array; guard?: GuessGuard }) {
    this.#secret = o.secret;
    this.#random = o.random;
    this.guard = o.guard ?? new GuessGuard();
  }

  /** SCRAM server-first for `req`, against `acct` (or a made-up salt when null); a refusal while the name or source must wait. */
  challenge(req: AuthRequest, acct: Account | null, source: string, now: number): { serverFirst: string } | AccountRefusal {
    const ukey = nameKey(req.userName);
    const wait = this.guard.wait(ukey, source, now);
    if (wait > 0) return { code: "rate-limited", message: `too many wrong passwords for this name or from this address; try again in ${Math.ceil(wait / 1000)} s` };
    const bare = `n=${req.userName},r=${req.nonce}`;
    const salt = acct ? new Uint8Array(Buffer.from(acct.salt, "base64")) : this.#fakeSalt(ukey);
    const sf = serverFirst(bare, Buffer.from(this.#random(18)).toString("base64url"), { salt, iterations: acct?.iterations ?? DEFAULT_ITERATIONS }).message;
    for (const [k, c] of this.#challenges) {
      if (c.expires > now && this.#challenges.size < MAX_CHALLENGES) break;
      this.#challenges.delete(k);
    }
    this.#challenges.set(/^r=([^,]*)/.exec(sf)![1], { ukey, bare, serverFirst: sf, reg: acct?.reg ?? null, expires: now + CHALLENGE_MS });
    return { serverFirst: sf };
  }

  /**
   * Checks a client-final message for `userName` against `acct` (as it is
   * now); the challenge is used up either way. On success, the server-final
   * message ("v=…").
   */
  verify(userName: string, proof: string, acct: Account | null, source: string, now: number): { serverFinal: string } | AccountRefusal {
    const ukey = nameKey(userName);
    const nonce = /(?:^|,)r=([^,]*)/.exec(proof)?.[1] ?? "";
    const c = this.#challenges.get(nonce);
    this.#challenges.delete(nonce);
    const wrong: AccountRefusal = { code: "bad-password", message: "wrong user name or password (or the challenge expired: send auth again)" };
    if (!c || c.ukey !== ukey || c.expires < now) return wrong;
    const r = acct !== null && c.reg === acct.reg ? verifyClientFinal(verifierFromBase64(acct), c.bare, c.serverFirst, proof) : { ok: false as const };
    if (!r.ok) {
      this.guard.miss(ukey, source, now);
      return wrong;
    }
    this.guard.hit(ukey);
    return { serverFinal: r.serverFinal };
  }

  /** A salt for a name that is not registered: the same on every ask, unguessable without the secret. */
  #fakeSalt(ukey: string): Uint8Array {
    return new Uint8Array(createHmac("sha256", this.#secret).update(`distchat salt ${ukey}`).digest().subarray(0, 16));
  }
}
