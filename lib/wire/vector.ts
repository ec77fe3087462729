/**
 * Vector timestamps: for each origin server, the highest sequence number
 * seen. Used as client cursors (docs/PROTOCOL.md "cursor") and as the causal
 * clocks of the server network. Values are immutable maps; every function
 * returns a new one.
 *
 * @example
 * ```ts
 * const v = fromEntries([["a", 3], ["b", 1]]);
 * formatVector(v); // "a=3,b=1"
 * get(v, "c");     // 0
 * ```
 */
export type Vector = ReadonlyMap<string, number>;

export const EMPTY: Vector = new Map();

/** Builds a vector from [origin, n] pairs; zero entries are dropped. */
export function fromEntries(entries: Iterable<readonly [string, number]>): Vector {
  const out = new Map<string, number>();
  for (const [k, n] of entries) if (n > 0) out.set(k, n);
  return out;
}

/** The component of `origin`, 0 when absent. */
export function get(v: Vector, origin: string): number {
  return v.get(origin) ?? 0;
}

/** Returns `v` with `origin` raised to at least `n`. */
export function advance(v: Vector, origin: string, n: number): Vector {
  if (get(v, origin) >= n) return v;
  const out = new Map(v);
  out.set(origin, n);
  return out;
}

/** Component-wise maximum. */
export function merge(a: Vector, b: Vector): Vector {
  let out: Map<string, number> | undefined;
  for (const [k, n] of b) {
    if (get(a, k) < n) {
      out ??= new Map(a);
      out.set(k, n);
    }
  }
  return out ?? a;
}

/** True when `a` has seen everything `b` has (a ≥ b component-wise). */
export function covers(a: Vector, b: Vector): boolean {
  for (const [k, n] of b) if (get(a, k) < n) return false;
  return true;
}

/** True when both vectors have the same non-zero components. */
export function equals(a: Vector, b: Vector): boolean {
  return covers(a, b) && covers(b, a);
}

/** Sum of all components: a logical timestamp consistent with causality. */
export function sum(v: Vector): number {
  let s = 0;
  for (const n of v.values()) s += n;
  return s;
}

/** Wire form: "0" for the empty vector, else "id=n" pairs sorted by id. */
export function formatVector(v: Vector): string {
  const keys: string[] = [];
  for (const [k, n] of v) if (n > 0) keys.push(k);
  if (keys.length === 0) return "0";
  keys.sort();
  let out = `${keys[0]}=${v.get(keys[0])}`;
  for (let i = 1; i < keys.length; i++) out += `,${keys[i]}=${v.get(keys[i])}`;
  return out;
}

/** Parses the "0" / "a=1,b=2" form formatVector makes (trusted text: stored rows, status reports). */
export function parseVectorText(text: string): Vector {
  if (text === "0" || text === "") return fromEntries([]);
  return fromEntries(text.split(",").map((pair) => {
    const i = pair.lastIndexOf("=");
    return [pair.slice(0, i), Number(pair.slice(i + 1))] as const;
  }));
}
