/**
 * Packing operations into peer datagrams of at most MAX_DATAGRAM bytes,
 * counted exactly as lib/wire/codec.ts writes them. Private to lib/replication/replicator.ts.
 */
import { MAC_LINE, opText, peerSignedText, utf8Length, WORST_NONCE } from "../wire/codec.ts";
import type { Op } from "../wire/messages.ts";
import { MAX_DATAGRAM } from "../wire/messages.ts";
import type { Vector } from "../wire/vector.ts";
import { advance } from "../wire/vector.ts";

/** Room for a count of up to 5 digits where the empty datagram has "0". */
const COUNT_SLACK = 4;

/** Bytes of an `add` or `ok` datagram with this head and no ops, at worst. */
export function headBytes(verb: "add" | "ok", from: string, vector: Vector): number {
  const text = verb === "add"
    ? peerSignedText({ verb, from, nonce: WORST_NONCE, vector, ops: [] })
    : peerSignedText({ verb, from, nonce: WORST_NONCE, vector, more: true, ops: [] });
  return utf8Length(text) + COUNT_SLACK + MAC_LINE;
}

const sizes = new WeakMap<Op, number>();

/** Bytes one op adds to a datagram (remembered per op object). */
export function opBytes(op: Op): number {
  let n = sizes.get(op);
  if (n === undefined) sizes.set(op, n = utf8Length(opText(op)));
  return n;
}

export type Packed = {
  /** Ops per datagram, in the given order. */
  batches: Op[][];
  /** How many of the given ops went into `batches` (a prefix, minus `oversize`). */
  used: number;
  /** Ops too large for any datagram with this head (left out). */
  oversize: Op[];
};

/**
 * Packs a prefix of `ops`, in order, into at most `maxDatagrams` datagrams
 * whose head takes `head` bytes (see headBytes).
 *
 * @example
 * ```ts
 * const { batches } = packOps(ops, headBytes("add", "a", vector), Infinity);
 * ```
 */
export function packOps(ops: readonly Op[], head: number, maxDatagrams: number): Packed {
  const room = MAX_DATAGRAM - head;
  const batches: Op[][] = [];
  const oversize: Op[] = [];
  let current: Op[] = [];
  let size = 0;
  let used = 0;
  for (const op of ops) {
    const n = opBytes(op);
    if (n > room) {
      oversize.push(op);
      used++;
      continue;
    }
    if (size + n > room) {
      batches.push(current);
      if (batches.length >= maxDatagrams) return { batches, used, oversize };
      current = [];
      size = 0;
    }
    current.push(op);
    size += n;
    used++;
  }
  if (current.length > 0) batches.push(current);
  return { batches, used, oversize };
}

/** An answer to an ask, read and packed: its datagrams' ops, the asker's vector once all arrive, and whether there is more. */
export type Answer = { batches: Op[][]; oversize: Op[]; expect: Vector; more: boolean };

/**
 * Reads from `log` the ops an asker with vector `asked` lacks — at most
 * `answerOps`, `fetchOps` per read, no more than fit `datagrams` datagrams
 * with a head of `head` bytes — and packs them (docs/PEER_PROTOCOL.md "ok").
 */
export function readAnswer(
  log: { opsAfter(v: Vector, limit: number): Op[] },
  asked: Vector,
  o: { head: number; datagrams: number; answerOps: number; fetchOps: number },
): Answer {
  const budget = o.datagrams * (MAX_DATAGRAM - o.head);
  const ops: Op[] = [];
  let cursor = asked;
  let bytes = 0;
  let exhausted = false;
  while (ops.length < o.answerOps && bytes <= budget) {
    const want = Math.min(o.fetchOps, o.answerOps - ops.length);
    const chunk = log.opsAfter(cursor, want);
    for (const op of chunk) {
      ops.push(op);
      cursor = advance(cursor, op.origin, op.seq);
      bytes += opBytes(op);
    }
    if (chunk.length < want) {
      exhausted = true;
      break;
    }
  }
  const packed = packOps(ops, o.head, o.datagrams);
  let expect = asked;
  for (const batch of packed.batches) for (const op of batch) expect = advance(expect, op.origin, op.seq);
  return { batches: packed.batches, oversize: packed.oversize, expect, more: packed.used < ops.length || !exhausted };
}
