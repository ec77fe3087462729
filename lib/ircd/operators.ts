/**
 * OPER's password check (docs/IRC.md "Operators"): the password an IRC
 * client gives is checked against its operator's SCRAM-SHA-256 verifier
 * from irc-opers.txt (lib/config/irc_opers.ts) — PBKDF2, asynchronous, off
 * the event loop, as a SCRAM proof is. An unknown operator name costs the
 * same work as a known one (a dummy verifier), so the answer's time does
 * not tell which names exist.
 *
 * @example
 * ```ts
 * await operPasswordOk(opers, "alice", "secret"); // true when alice's verifier is of "secret"
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
