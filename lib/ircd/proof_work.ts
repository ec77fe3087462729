/**
 * The PBKDF2 work an IRC connection hands its listener (lib/irc's
 * `IrcStep.proofs`), done off the event loop: a SCRAM client-final for a
 * password login (SASL PLAIN, PASS), or a new account's verifier (REGISTER);
 * OPER's checks are lib/ircd/operators.ts's.
 *
 * @example
 * ```ts
 * await proofWork({ id: 1, password: "pw", salt: "c2FsdHNhbHRzYWx0c2FsdA==", iterations: 4096 }); // "storedKey serverKey" (base64)
 * ```
 */
import { clientFinal, makeVerifier, verifierToBase64 } from "../accounts/scram.ts";
import { fromBase64 } from "../wire/base64.ts";
import type { ProofJob } from "../irc/connection.ts";

/** The job's answer: the client-final, or "storedKey serverKey"; null when the challenge or salt was malformed. */
export async function proofWork(job: Exclude<ProofJob, { oper: string }>): Promise<string | null> {
  if (!("salt" in job)) return (await clientFinal(job.password, job.clientFirstBare, job.serverFirst))?.message ?? null;
  const salt = fromBase64(job.salt);
  if (salt === null) return null;
  try {
    const v = verifierToBase64(await makeVerifier(job.password, salt, job.iterations));
    return `${v.storedKey} ${v.serverKey}`;
  } catch {
    return null; // iterations out of range: the connection reports it
  }
}
