/**
 * Percentiles and run summaries for the benchmarks.
 *
 * @example
 * ```ts
 * percentile([3, 1, 2], 50); // 2
 * formatSummary(summarize([10, 12, 11]), 0); // "11 (10–12)"
 * ```
 */

/** Median with the range over several runs of one measurement. */
export type Summary = { median: number; min: number; max: number; runs: number };

/** Nearest-rank percentile (p in 0..100) of unsorted samples; NaN when empty. */
export function percentile(samples: readonly number[], p: number): number {
  if (p < 0 || p > 100) throw new RangeError(`percentile ${p} is outside 0..100`);
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1];
}

/** Median, min and max of the values of several runs (NaN values are left out). */
export function summarize(values: readonly number[]): Summary {
  const ok = values.filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
  if (ok.length === 0) return { median: NaN, min: NaN, max: NaN, runs: 0 };
  const mid = ok.length >> 1;
  const median = ok.length % 2 ? ok[mid] : (ok[mid - 1] + ok[mid]) / 2;
  return { median, min: ok[0], max: ok[ok.length - 1], runs: ok.length };
}

/** A number with thousands separators and `digits` decimals. */
export function formatNumber(value: number, digits = 0): string {
  if (Number.isNaN(value)) return "–";
  return value.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** "median (min–max)", or just the value for a single run. */
export function formatSummary(s: Summary, digits = 0): string {
  if (s.runs === 0) return "–";
  const m = formatNumber(s.median, digits);
  return s.runs === 1 || s.min === s.max ? m : `${m} (${formatNumber(s.min, digits)}–${formatNumber(s.max, digits)})`;
}
