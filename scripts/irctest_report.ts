/**
 * What `npm run irctest` writes into docs/IRC.md from pytest's JUnit XML
 * reports (one per server run): each server's counts, and every DistChat
 * failure and skip with its reason. Pure: text in, text out.
 *
 * @example
 * ```ts
 * const r = readJunit(readFileSync("distchat.xml", "utf8"));
 * r.passed; r.cases.filter((c) => c.outcome === "failed");
 * replaceSection(doc, renderReport({ runs, details: r, when: "2026-12-07", irctest: "b00c039" }));
 * ```
 */

/** One test's outcome: xpassed counts as passed, xfailed and errors as they are. */
export type Outcome = "passed" | "failed" | "error" | "skipped" | "xfailed";

export type TestCase = { id: string; outcome: Outcome; reason: string };

/** One server's run. */
export type Run = { cases: TestCase[]; passed: number; failed: number; skipped: number; seconds: number };

const attr = (tag: string, name: string): string => {
  const m = new RegExp(`\\s${name}="([^"]*)"`).exec(tag);
  return m ? unescapeXml(m[1]) : "";
};

function unescapeXml(s: string): string {
  return s.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&#10;/g, " ").replace(/&amp;/g, "&");
}

/** The test cases of a JUnit XML report as pytest writes it. */
export function readJunit(xml: string): Run {
  const cases: TestCase[] = [];
  const re = /<testcase\b([^>]*?)(\/>|>([\s\S]*?)<\/testcase>)/g;
  for (let m; (m = re.exec(xml)) !== null;) {
    const head = m[1], body = m[3] ?? "";
    const cls = attr(head, "classname").replace(/^irctest\.server_tests\./, "");
    const id = `${cls}::${attr(head, "name")}`;
    const child = /<(failure|error|skipped)\b([^>]*?)(\/>|>)/.exec(body);
    let outcome: Outcome = "passed", reason = "";
    if (child) {
      const kind = child[1], type = attr(child[2], "type");
      reason = firstLine(attr(child[2], "message"));
      outcome = kind === "skipped" ? (type === "pytest.xfail" ? "xfailed" : "skipped") : kind === "error" ? "error" : "failed";
    }
    cases.push({ id, outcome, reason });
  }
  const seconds = Number(/<testsuite\b[^>]*\stime="([\d.]+)"/.exec(xml)?.[1] ?? 0);
  const n = (o: Outcome[]) => cases.filter((c) => o.includes(c.outcome)).length;
  return { cases, passed: n(["passed"]), failed: n(["failed", "error"]), skipped: n(["skipped", "xfailed"]), seconds };
}

function firstLine(s: string): string {
  const line = s.split("\n").find((l) => l.trim() !== "") ?? "";
  return line.length > 160 ? line.slice(0, 157) + "…" : line;
}

/** Counts per test file of a run: file → [passed, failed, skipped]. */
export function perFile(run: Run): Map<string, [number, number, number]> {
  const out = new Map<string, [number, number, number]>();
  for (const c of run.cases) {
    const file = c.id.split("::")[0].split(".").slice(0, -1).join(".") || c.id.split("::")[0];
    const row = out.get(file) ?? [0, 0, 0];
    row[c.outcome === "passed" ? 0 : c.outcome === "failed" || c.outcome === "error" ? 1 : 2]++;
    out.set(file, row);
  }
  return new Map([...out].sort(([a], [b]) => a.localeCompare(b)));
}

/** Where the report goes in docs/IRC.md. */
export const BEGIN = "<!-- irctest report: written by npm run irctest -->";
export const END = "<!-- end of irctest report -->";

/** The report: the three servers' counts, DistChat's per-file table, then every DistChat failure and skip with its reason. */
export function renderReport(o: { runs: [string, Run][]; details: Run; when: string; irctest: string; markers: string }): string {
  const out = [BEGIN, "", `Run of ${o.when}, irctest ${o.irctest}, markers \`${o.markers}\`:`, ""];
  out.push("| server | passed | failed | skipped | minutes |", "|---|---|---|---|---|");
  for (const [name, r] of o.runs) out.push(`| ${name} | ${r.passed} | ${r.failed} | ${r.skipped} | ${(r.seconds / 60).toFixed(1)} |`);
  out.push("", "DistChat by file (passed, failed, skipped):", "", "| file | passed | failed | skipped |", "|---|---|---|---|");
  for (const [file, [p, f, s]] of perFile(o.details)) out.push(`| ${file} | ${p} | ${f} | ${s} |`);
  const cell = (s: string) => s.replace(/\|/g, "\\|").replace(/`/g, "'");
  for (const [title, kinds] of [["failures", ["failed", "error"]], ["skips", ["skipped", "xfailed"]]] as const) {
    const rows = o.details.cases.filter((c) => (kinds as readonly string[]).includes(c.outcome));
    out.push("", `DistChat's ${rows.length} ${title}, each with pytest's reason:`, "", "| test | reason |", "|---|---|");
    for (const c of rows) out.push(`| \`${cell(c.id)}\` | ${cell(c.reason) || "(none given)"} |`);
  }
  out.push("", END);
  return out.join("\n");
}

/** `doc` with the text between BEGIN and END (markers included) replaced by `report`, or the report appended. */
export function replaceSection(doc: string, report: string): string {
  const a = doc.indexOf(BEGIN), b = doc.indexOf(END);
  if (a < 0 || b < a) return doc.trimEnd() + "\n\n" + report + "\n";
  return doc.slice(0, a) + report + doc.slice(b + END.length);
}
