// Makes sure a Chromium for the console's browser tests is on this machine: Debian's `chromium`
// package (no browser download works here; playwright-core drives it by its executable path).
// Prints the path. Run by .ci/run before the tests, and by hand: `node scripts/ensure-chromium.mjs`.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const CANDIDATES = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'];

const found = () => CANDIDATES.find((p) => p && existsSync(p));

let path = found();
if (!path) {
  const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const apt = (args) =>
    execFileSync(asRoot ? 'apt-get' : 'sudo', asRoot ? args : ['apt-get', ...args], {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  try {
    apt(['update']);
    apt(['install', '-y', '--no-install-recommends', 'chromium']);
  } catch (error) {
    process.stderr.write(`could not install chromium with apt-get: ${error.message}\n`);
    process.exit(1);
  }
  path = found();
}
if (!path) {
  process.stderr.write('chromium is not installed and apt-get did not install it\n');
  process.exit(1);
}
process.stdout.write(`${path}\n`);
