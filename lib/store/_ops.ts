/**
 * Ops ⇄ rows of the `ops` table. Private to lib/store/store.ts.
 */
import type { AccountAction, ActAction, ModAction, Op } from "../wire/messages.ts";
import type { Vector } from "../wire/vector.ts";
import { formatVector, parseVectorText } from "../wire/vector.ts";
import { opKey } from "../rules/conflict.ts";

/** One row of the `ops` table. */
export type OpRow = {
  aseq: number;
  origin: string;
  seq: number;
  kind: Op["kind"];
  deps: string;
  at: number;
  session: string;
  room: string | null;
  user: string | null;
  tag: string | null;
  msg: string | null;
  ttl: number | null;
  conf: string | null;
  re: string | null;
};

export { parseVectorText };

/** The conflict key (lib/rules/conflict.ts opKey) of an op read from its row's origin, seq and deps text. */
export function rowKey(r: { origin: string; seq: number; deps: string }): [number, string] {
  return opKey({ origin: r.origin, seq: r.seq, deps: parseVectorText(r.deps) });
}

/** Parameters of the ops INSERT, in column order. */
export function opToParams(op: Op): (string | number | null)[] {
  // The commonest (every message of a catch-up) as one array, no head spread.
  if (op.kind === "msg") return [op.origin, op.seq, "msg", formatVector(op.deps), op.at, op.session, op.groupName, op.userName, op.tag, op.msg, null, op.conf ?? null, op.re ?? null];
  const head = [op.origin, op.seq, op.kind, formatVector(op.deps), op.at, op.session];
  switch (op.kind) {
    case "login":
      return [...head, null, op.userName, null, null, op.ttl, op.account ?? null, null];
    case "acct":
      return [...head, null, op.userName, op.action, op.data, null, null, null];
    case "mod":
      return [...head, op.groupName, op.userName, op.action, op.text, null, op.target, null];
    case "logout":
    case "touch":
      return [...head, null, null, null, null, null, null, null];
    case "open":
    case "join":
      return [...head, op.groupName, null, null, null, null, null, null];
    case "leave":
      return [...head, op.groupName, null, op.quit ? "quit" : null, op.reason ?? null, null, null, null];
    case "hide":
      return [...head, null, null, null, null, null, op.target, null];
    case "act":
      return [...head, op.groupName, op.userName, op.action, op.text, null, op.target, null];
  }
}

/** The op a row holds. */
export function opFromRow(r: OpRow): Op {
  const head = { origin: r.origin, seq: r.seq, deps: parseVectorText(r.deps), at: r.at, session: r.session };
  switch (r.kind) {
    case "login": {
      const l = { ...head, kind: "login" as const, userName: r.user ?? "", ttl: r.ttl ?? 0 };
      return r.conf === null ? l : { ...l, account: r.conf };
    }
    case "acct":
      return { ...head, kind: "acct", action: r.tag as AccountAction, userName: r.user ?? "", data: r.msg ?? "" };
    case "mod":
      return { ...head, kind: "mod", action: r.tag as ModAction, groupName: r.room ?? "", userName: r.user ?? "", target: r.conf ?? "", text: r.msg ?? "" };
    case "logout":
    case "touch":
      return { ...head, kind: r.kind };
    case "open":
    case "join":
      return { ...head, kind: r.kind, groupName: r.room ?? "" };
    case "leave":
      if (r.msg === null) return { ...head, kind: "leave", groupName: r.room ?? "" };
      return r.tag === "quit" ? { ...head, kind: "leave", groupName: r.room ?? "", reason: r.msg, quit: true } : { ...head, kind: "leave", groupName: r.room ?? "", reason: r.msg };
    case "msg": {
      const m: Op & { kind: "msg" } = { ...head, kind: "msg", tag: r.tag ?? "", groupName: r.room ?? "", userName: r.user ?? "", msg: r.msg ?? "" };
      if (r.conf !== null) m.conf = r.conf;
      if (r.re !== null) m.re = r.re;
      return m;
    }
    case "act":
      return { ...head, kind: "act", action: r.tag as ActAction, groupName: r.room ?? "", userName: r.user ?? "", target: r.conf ?? "", text: r.msg ?? "" };
    case "hide":
      return { ...head, kind: "hide", target: r.conf ?? "" };
  }
}
