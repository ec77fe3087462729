/**
 * The account rule, pure (docs/ARCHITECTURE.md "Accounts"): the account of a
 * user name is a fold of that name's `acct` ops taken in conflict-key order
 * (lib/rules/conflict.ts `opKey`), so every server that holds the same ops
 * holds the same account, whatever order the ops arrived in.
 *
 * - `reg` creates the account when the name has none; a later or concurrent
 *   `reg` of a registered name is void (of two concurrent registrations, the
 *   smaller key wins).
 * - `pass`, `key` and `drop` name the registration they were proven against
 *   ("origin.seq" of its `reg`); they apply only while that registration is
 *   the account, so a change meant for a dropped account never touches the
 *   name's next one.
 *
 * @example
 * ```ts
 * const acct = settleAccount([{ id: "a.3", key: [3, "a"], action: "reg", userName: "bob", data: "c2FsdA== 4096 … … -" }]);
 * acct?.reg; // "a.3"
 * ```
 */
import type { AccountAction, WireVerifier } from "../wire/messages.ts";
import { MIN_SALT_BYTES } from "../wire/messages.ts";
import { base64Bytes } from "../wire/base64.ts";
import { compareKeys, type Key } from "./conflict.ts";


/** One `acct` op as the rule reads it. */
export type AccountOp = { id: string; key: Key; action: AccountAction; userName: string; data: string };

/** A registered name: its registration, verifier (base64 fields) and public DM key ("-": none). */
export type Account = {
  reg: string;
  name: string;
  salt: string;
  iterations: number;
  storedKey: string;
  serverKey: string;
  publicKey: string;
  /**
   * True when no account of this name was dropped before this one in the
   * order: only then does the name's bare key in a direct conversation made
   * before conversations named registrations (lib/handlers/direct.ts) stand
   * for this account.
   */
  first: boolean;
};

/** A verifier as op data: "salt iterations storedKey serverKey" (base64 fields). */
export function verifierData(v: WireVerifier): string {
  return `${v.salt} ${v.iterations} ${v.storedKey} ${v.serverKey}`;
}

/** The data of a `reg` op: the verifier's, then the public key ("-": none). */
export function regData(v: WireVerifier, publicKey: string): string {
  return `${verifierData(v)} ${publicKey}`;
}

/** True when verifier fields (salt, iterations, storedKey, serverKey) are well formed: a peer's op may hold anything. */
const wellFormed = (salt: string, iterations: string, storedKey: string, serverKey: string) =>
  base64Bytes(salt, MIN_SALT_BYTES, true) && /^\d{4,8}$/.test(iterations) && Number(iterations) >= 4096 && base64Bytes(storedKey, 32) &&
  base64Bytes(serverKey, 32);
const publicKeyOk = (k: string) => k === "-" || base64Bytes(k, 32);

/** The account the ops of one name settle to, or null when the name is not registered. Ops with malformed data are void. */
export function settleAccount(ops: readonly AccountOp[]): Account | null {
  return settleLedger(ops).account;
}

/** The state the fold carries: the account, and whether an account of the name was dropped before (see `Account.first`). */
export type Ledger = { account: Account | null; dropped: boolean };

/** The ledger of no ops: not registered, never dropped. */
export const EMPTY_LEDGER: Ledger = { account: null, dropped: false };

/** The whole fold: every op of one name in key order. */
export function settleLedger(ops: readonly AccountOp[]): Ledger {
  let ledger = EMPTY_LEDGER;
  for (const op of [...ops].sort((x, y) => compareKeys(x.key, y.key))) ledger = foldAccount(ledger, op);
  return ledger;
}

/**
 * One step of the fold: the ledger after `op`, which sorts after every op
 * already folded into `ledger`. `settleLedger` is these steps in key order
 * (lib/rules/fold_cache.ts takes them one new op at a time).
 */
export function foldAccount(ledger: Ledger, op: AccountOp): Ledger {
  const acct = ledger.account;
  const f = op.data.split(" ");
  if (op.action === "reg") {
    if (acct !== null || f.length !== 5 || !wellFormed(f[0], f[1], f[2], f[3]) || !publicKeyOk(f[4])) return ledger;
    const account = { reg: op.id, name: op.userName, salt: f[0], iterations: Number(f[1]), storedKey: f[2], serverKey: f[3], publicKey: f[4], first: !ledger.dropped };
    return { account, dropped: ledger.dropped };
  }
  if (acct === null || f[0] !== acct.reg) return ledger;
  if (op.action === "drop") return { account: null, dropped: true };
  if (op.action === "key" && f.length === 2 && publicKeyOk(f[1])) return { ...ledger, account: { ...acct, publicKey: f[1] } };
  if (op.action === "pass" && f.length === 5 && wellFormed(f[1], f[2], f[3], f[4])) {
    return { ...ledger, account: { ...acct, salt: f[1], iterations: Number(f[2]), storedKey: f[3], serverKey: f[4] } };
  }
  return ledger;
}
