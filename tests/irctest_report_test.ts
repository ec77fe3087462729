/**
 * What `npm run irctest` writes into docs/IRC.md (scripts/irctest_report.ts):
 * pytest's JUnit XML read into outcomes and reasons, the report rendered and
 * put between its markers, the rest of the document untouched.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { BEGIN, END, readJunit, renderReport, replaceSection } from "../scripts/irctest_report.ts";

const XML = `<?xml version="1.0"?><testsuites><testsuite name="pytest" errors="0" failures="1" skipped="2" tests="4" time="120.5">
<testcase classname="irctest.server_tests.cap.CapTestCase" name="testNoReq" time="1"/>
<testcase classname="irctest.server_tests.away.AwayTestCase" name="testAway" time="1"><failure message="AssertionError: expected 301&#10;more">trace</failure></testcase>
<testcase classname="irctest.server_tests.monitor.MonitorTestCase" name="testMonitor" time="0"><skipped type="pytest.skip" message="Unsupported capability: monitor">skip</skipped></testcase>
<testcase classname="irctest.server_tests.bot_mode.BotModeTestCase" name="testBot" time="0"><skipped type="pytest.xfail" message="no bot mode"/></testcase>
</testsuite></testsuites>`;

test("JUnit XML: outcomes, reasons (first line), counts and time", () => {
  const r = readJunit(XML);
  assert.equal([r.passed, r.failed, r.skipped, r.seconds], [1, 1, 2, 120.5]);
  assert.equal(r.cases[1], { id: "away.AwayTestCase::testAway", outcome: "failed", reason: "AssertionError: expected 301 more" });
  assert.equal(r.cases[3].outcome, "xfailed");
});

test("the report goes between its markers; the rest of the document stays", () => {
  const r = readJunit(XML);
  const report = renderReport({ runs: [["DistChat", r], ["ngircd", r]], details: r, when: "2026-12-07", irctest: "abc1234", markers: "not Ergo" });
  assert.match(report, /\| DistChat \| 1 \| 1 \| 2 \| 2\.0 \|/);
  assert.match(report, /`away\.AwayTestCase::testAway` \| AssertionError: expected 301 more \|/);
  assert.match(report, /`monitor\.MonitorTestCase::testMonitor` \| Unsupported capability: monitor \|/);
  const doc = `# T\n\nbefore\n\n${BEGIN}\nold\n${END}\n\nafter\n`;
  const out = replaceSection(doc, report);
  assert.ok(out.startsWith("# T\n\nbefore\n\n" + BEGIN) && out.endsWith(END + "\n\nafter\n"));
  assert.not.match(out, /\nold\n/);
  assert.ok(replaceSection("# T\n", report).endsWith(END + "\n"));
});

test.run();
