/**
 * OPER's password check (docs/IRC.md "Operators"): the password an IRC
 * client gives is checked against its operator's SCRAM-SHA-256 verifier
 * from irc-opers.txt (lib/config/irc_opers.ts) — PBKDF2, asynchronous, off
 * the event loop, as a SCRAM proof is. An unknown operator name costs the
 * same work as a known one (a dummy verifier), so the answer's time does
 * not tell which names exist. Guessing is bounded per address
 * (`OperChecks`): past 10 failed or running checks in a minute, an address
 * is told to wait, without any work done.
 *
 * @example
 * ```ts
 * await operPasswordOk(opers, "alice", "secret"); // true when alice's verifier is of "secret"
 * const checks = new OperChecks(opers, () => clock.now());
 * await checks.check("192.0.2.1", "alice", "secret"); // "ok", null (wrong) or "rate-limited"
 * ```
 */
import type { IrcOpers } from "../config/irc_opers.ts";
import { DEFAULT_ITERATIONS, makeVerifier, verifierFromBase64 } from "../accounts/scram.ts";
import { bytesEqual } from "../secure/suite.ts";

/** Stands in for an unknown name: the iterations of a default verifier, and a key no password gives. */
const DUMMY = { salt: "AAAAAAAAAAAAAAAAAAAAAA==", iterations: DEFAULT_ITERATIONS, storedKey: "", serverKey: "" };

/** Whether `password` is operator `name`'s (false for a name not in `opers`, after as much work). */
export async function operPasswordOk(opers: IrcOpers, name: string, password: string): Promise<boolean> {
  const known = opers.get(name);
  const v = verifierFromBase64(known ?? DUMMY);
  const mine = await makeVerifier(password, v.salt, v.iterations);
  return known !== undefined && bytesEqual(mine.storedKey, v.storedKey);
}

/** Failed (or running) OPER checks one address may have in a minute; past it, it is told to wait. */
export const OPER_FAILURES_PER_MINUTE = 10;
/** Addresses whose recent failures are remembered (the oldest is forgotten first). */
const MAX_ADDRESSES = 10_000;
const MINUTE_MS = 60_000;

/** OPER's password checks for one listener, bounded per source address. */
export class OperChecks {
  #opers: IrcOpers;
  #now: () => number;
  /** Recent failures by address (times, ms), and checks running. */
  #failures = new Map<string, number[]>();
  #running = new Map<string, number>();

  constructor(opers: IrcOpers, now: () => number) {
    this.#opers = opers;
    this.#now = now;
  }

  /** Checks `password` for operator `name` for a client at `host`: "ok", null (wrong), or "rate-limited" (no work done). */
  async check(host: string, name: string, password: string): Promise<"ok" | "rate-limited" | null> {
    const running = this.#running.get(host) ?? 0;
    if (this.#recent(host).length + running >= OPER_FAILURES_PER_MINUTE) return "rate-limited";
    this.#running.set(host, running + 1);
    let ok = false;
    try {
      ok = await operPasswordOk(this.#opers, name, password);
    } finally {
      const left = (this.#running.get(host) ?? 1) - 1;
      if (left > 0) this.#running.set(host, left);
      else this.#running.delete(host);
    }
    const recent = this.#recent(host); // as it is now: other checks of the address may have ended meanwhile
    this.#failures.delete(host);
    if (!ok) recent.push(this.#now());
    if (recent.length > 0) this.#failures.set(host, recent);
    if (this.#failures.size > MAX_ADDRESSES) this.#failures.delete(this.#failures.keys().next().value as string);
    return ok ? "ok" : null;
  }

  /** The failures of `host` in the last minute. */
  #recent(host: string): number[] {
    return (this.#failures.get(host) ?? []).filter((t) => this.#now() - t < MINUTE_MS);
  }
}
