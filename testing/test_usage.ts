/** What `npm test -- --help` (scripts/test.ts) and `tests/run.ts --help` print: filters and the environment they read. */
export const TEST_USAGE = `npm test: checks the generated parser, type-checks (deno check), then runs tests/*_test.ts under Node and under Deno, at the same time.

usage: npm test -- [FILTER...]            every test file whose name contains one of the FILTERs (none: all, ~10 min)
       npm run test:node -- [FILTER...]   under Node only
       npm run test:deno -- [FILTER...]   under Deno only

  e.g. npm test -- web          tests/web_*_test.ts
       npm test -- client cli   the client's and the flags' tests

environment:
  BROWSER_TESTS=all     run the browser test files under both runtimes (default: each under one, node or deno)
  CHROMIUM=PATH         the Chromium the browser tests drive (default /usr/bin/chromium; npm test installs Debian's as root)
  CHAOS_SEED=N, FAULTS_SEED=N   replay a chaos or cluster-faults run (the failing run prints its seed)

CI runs .ci/run, which is  npm install && npm test  (every file, both runtimes; nothing differs under CI=1).
Missing Debian packages (faketime, chromium) are installed with apt-get when run as root; otherwise
the line to install them is printed and the tests that need them fail saying so.
  TEST_DEADLINE_MS=N    a run longer than this fails (default 1200000, 20 min)
  TEST_SERIAL=1         run Node's tests, then Deno's (default: both at once, Deno's output shown when it ends)
  TEST_ORDER=reverse    the test files in reverse order (npm test gives it to the Deno run)

Ctrl-C stops the run: the servers and browsers it started are stopped and its temporary directories removed.
Screenshots of the browser tests go to test-artifacts/.`;
