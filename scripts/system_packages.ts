/**
 * Debian packages some tests need: faketime (clock skew between real
 * processes) and chromium (the web client's browser tests, driven by
 * playwright-core; never a browser downloaded from elsewhere). `npm test` calls `ensurePackages`: what is missing is installed
 * with apt-get when running as root; otherwise it says how to install it and
 * the tests that need it fail with the same message.
 */
import { spawnSync } from "node:child_process";
import process from "node:process";

export type Needed = { command: string; args: string[]; pkg: string };

export const NEEDED: Needed[] = [
  { command: "faketime", args: ["-f", "+1s", "true"], pkg: "faketime" },
  { command: "/usr/bin/chromium", args: ["--version"], pkg: "chromium" },
];

const works = (n: Needed) => {
  const r = spawnSync(n.command, n.args, { stdio: "ignore" });
  return !r.error && r.status === 0;
};

/** Installs what is missing (as root), or prints how to; returns the packages still missing. */
export function ensurePackages(needed: Needed[] = NEEDED): string[] {
  const missing = needed.filter((n) => !works(n));
  if (missing.length === 0) return [];
  const pkgs = missing.map((n) => n.pkg);
  if (process.getuid?.() === 0) {
    console.log(`installing Debian packages the tests need: ${pkgs.join(" ")}`);
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
    spawnSync("apt-get", ["update", "-qq"], { stdio: "inherit", env });
    spawnSync("apt-get", ["install", "-y", "-qq", ...pkgs], { stdio: "inherit", env });
  }
  const still = missing.filter((n) => !works(n)).map((n) => n.pkg);
  if (still.length > 0) console.log(`missing Debian packages (tests that need them will fail): sudo apt-get install -y ${still.join(" ")}`);
  return still;
}
