/**
 * Relevance of search hits (docs/PROTOCOL.md "Search"): Okapi BM25 (k1 1.2,
 * b 0.75, the weights FTS5's bm25() uses) over the ranked window — the
 * newest matches of a query — with the term statistics (how many of them
 * hold each word, their mean length) taken from that window. FTS5's own
 * bm25() counts each query term's rows over the whole index, every query:
 * the room's token alone is a million rows in a room of a million messages
 * (0.1–0.3 s a query, measured: BENCHMARKS.md "Search"); the window's
 * statistics cost nothing more than its texts, and a hit's score moves only
 * when the window does. Words are split and folded as the index's
 * tokenizer does (unicode61, diacritics removed, case folded). Pure.
 *
 * @example
 * ```ts
 * rankScores(["\"deploy\""], ["deploy deploy", "we deploy it on friday"]); // [higher, lower]
 * ```
 */
import { messageWords } from "../wire/message_text.ts";

const K1 = 1.2;
const B = 0.75;

/** `text`'s words as the index folds them: letters and digits, lower case, without diacritics. */
export function foldWords(text: string): string[] {
  return text.normalize("NFD").replace(/\p{M}+/gu, "").toLowerCase().split(/[^\p{L}\p{N}]+/u).filter((w) => w !== "");
}

/**
 * The BM25 score of each text (higher: more relevant) for FTS5 query terms
 * (`"word"` or `"word"*` for a prefix, as lib/store/search.ts makes them),
 * the statistics taken from `texts` themselves.
 */
export function rankScores(terms: readonly string[], texts: readonly string[]): number[] {
  const wanted = terms.map((t) => ({ word: foldWords(t.replace(/^"|"\*?$/g, "")).join(" "), prefix: t.endsWith("*") }));
  const docs = texts.map((t) => foldWords(messageWords(t)));
  const n = docs.length;
  const avg = docs.reduce((s, d) => s + d.length, 0) / Math.max(1, n) || 1;
  const tfs = docs.map((d) => wanted.map((w) => d.filter((x) => (w.prefix ? x.startsWith(w.word) : x === w.word)).length));
  const idf = wanted.map((_, j) => {
    const df = tfs.filter((tf) => tf[j] > 0).length;
    return Math.log((n - df + 0.5) / (df + 0.5) + 1);
  });
  return docs.map((d, i) =>
    tfs[i].reduce((s, tf, j) => s + (tf === 0 ? 0 : idf[j] * (tf * (K1 + 1)) / (tf + K1 * (1 - B + (B * d.length) / avg))), 0)
  );
}
