/// <reference lib="dom" />
import { signerFromSeed, verifierKey } from '@tokenledger/ledger-core';
import {
  eventually,
  freshDatabase,
  freshTopicPrefix,
  kafkaBrokers,
  type TestDatabase,
} from '@tokenledger/testing';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { freePort, startSystem, type RunningSystem } from './system';

/**
 * Issue 17 in a real headless Chromium (Debian's package, scripts/ensure-chromium.mjs) against the
 * whole system: the console server in front of the four apps, a witness, the broker, PostgreSQL.
 * One system and one browser for the whole spec.
 */
const CHROMIUM = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find(
  (p): p is string => !!p && existsSync(p),
);
const SCREENSHOTS = path.join(__dirname, '..', '..', 'docs', 'console');
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const CONSOLE_MAIN = path.join(
  path.dirname(require.resolve('@tokenledger/app-console/package.json')),
  'dist',
  'server',
  'main.js',
);

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[] }[];
}

describe('the console in a real browser (real processes, witness, broker, PostgreSQL)', () => {
  let db: TestDatabase;
  let system: RunningSystem;
  let consoleProcess: ChildProcess;
  let consoleUrl: string;
  let browser: Browser;
  let page: Page;
  const output: string[] = [];
  const owner = `console-e2e-${Date.now()}`;
  let tokenId = '';
  let plaintext = '';
  const COMMENT = 'console e2e: found in a CI log';

  const api = async <T>(
    app: keyof RunningSystem['apps'],
    route: string,
    init: RequestInit = {},
    token = system.rootToken,
  ): Promise<T> => {
    const res = await fetch(`${system.apps[app].url}${route}`, {
      ...init,
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        ...(init.headers ?? {}),
      },
    });
    if (!res.ok) throw new Error(`${route}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  };
  async function sql<T>(text: string, params: unknown[] = []): Promise<T[]> {
    const client = new Client({ connectionString: db.url });
    await client.connect();
    try {
      return (await client.query(text, params)).rows as T[];
    } finally {
      await client.end();
    }
  }
  /** axe-core injected into the page: no serious or critical violation. */
  async function expectAccessible(name: string): Promise<void> {
    if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(AXE); // CDP evaluation: the page's CSP (no inline script) stays on
    const violations = await page.evaluate(async () => {
      const axe = (window as unknown as { axe: { run: () => Promise<{ violations: unknown[] }> } })
        .axe;
      return (await axe.run()).violations;
    });
    const bad = (violations as AxeViolation[]).filter(
      (v) => v.impact === 'serious' || v.impact === 'critical',
    );
    expect({
      page: name,
      violations: bad.map(
        (v) => `${v.id}: ${v.help} ${JSON.stringify(v.nodes.map((n) => n.target))}`,
      ),
    }).toEqual({
      page: name,
      violations: [],
    });
  }
  /** A committed screenshot; a shown plaintext is masked (secret scanners read the repository). */
  const shot = (name: string): Promise<Buffer> =>
    page.screenshot({
      path: path.join(SCREENSHOTS, `${name}.png`),
      fullPage: true,
      mask: [page.getByTestId('plaintext')],
    });
  const round = async (): Promise<number> =>
    Number(await page.getByTestId('timeline').getAttribute('data-round'));
  /** Presses "Refresh and verify again" until a completed verification round satisfies `done`. */
  async function refreshUntil(done: () => Promise<boolean>, what: string): Promise<void> {
    await eventually(
      async () => {
        const before = await round();
        await page.getByRole('button', { name: 'Refresh and verify again' }).click();
        await page.waitForFunction(
          (n) =>
            Number(document.querySelector('[data-testid=timeline]')?.getAttribute('data-round')) >
            n,
          before,
        );
        return (await done()) ? true : undefined;
      },
      45_000,
      what,
    );
  }
  /** Presses Tab until `target` has the focus: it is reachable with the keyboard alone. */
  async function tabTo(target: Locator): Promise<void> {
    for (let i = 0; i < 120; i++) {
      if (await target.evaluate((el) => el === document.activeElement)) return;
      await page.keyboard.press('Tab');
    }
    throw new Error(`not reachable with Tab: ${String(target)}`);
  }

  beforeAll(async () => {
    if (!CHROMIUM) throw new Error('no chromium: run node scripts/ensure-chromium.mjs');
    db = await freshDatabase();
    system = await startSystem({
      DATABASE_URL: db.url,
      KAFKA_BROKERS: kafkaBrokers(),
      TOPIC_PREFIX: freshTopicPrefix(),
      CHECKPOINT_INTERVAL_MS: '200',
    });
    await eventually(
      async () =>
        (
          await fetch(`${system.apps.revocation.url}/v1/whoami`, {
            headers: { authorization: `Bearer ${system.rootToken}` },
          })
        ).status === 200
          ? true
          : undefined,
      20_000,
      'root token known',
    );
    const origin = system.env.LEDGER_ORIGIN ?? 'tokenledger.local/ledger';
    const logKey = verifierKey(
      origin,
      signerFromSeed(origin, Buffer.from(system.env.LEDGER_SIGNING_KEY ?? '', 'base64')).publicKey,
    );
    const port = await freePort();
    consoleUrl = `http://127.0.0.1:${port}`;
    consoleProcess = spawn(process.execPath, [CONSOLE_MAIN], {
      env: {
        PATH: process.env.PATH ?? '',
        CONSOLE_PORT: String(port),
        ISSUANCE_URL: system.apps.issuance.url,
        REVOCATION_URL: system.apps.revocation.url,
        ANOMALY_URL: system.apps.anomaly.url,
        LEDGER_URL: system.apps.ledger.url,
        CONSOLE_LOG_KEYS: logKey,
        CONSOLE_WITNESS_KEYS: system.witness?.verifierKey ?? '',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    consoleProcess.stdout?.on('data', (d: Buffer) => output.push(d.toString()));
    consoleProcess.stderr?.on('data', (d: Buffer) => output.push(d.toString()));
    await eventually(
      () => Promise.resolve(output.join('').includes('console listening') ? true : undefined),
      10_000,
      'console listening',
    );
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox'],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.setDefaultTimeout(15_000);
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    consoleProcess?.kill('SIGTERM');
    await system?.stop();
    await db?.drop();
  }, 60_000);

  it('signs in with the keyboard alone and shows who is signed in with which scopes', async () => {
    await page.goto(consoleUrl);
    await expectAccessible('sign-in');
    await shot('sign-in');
    await page.keyboard.press('Tab');
    await expect(page.evaluate(() => document.activeElement?.getAttribute('name'))).resolves.toBe(
      'operator-token',
    );
    await page.keyboard.type(system.rootToken);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Tokens' }).waitFor();
    const who = await page.getByTestId('principal').innerText();
    expect(who).toContain('admin');
    expect(page.url()).not.toContain(system.rootToken);
    const stored = await page.evaluate(() => ({
      local: JSON.stringify(localStorage),
      session: Object.keys(sessionStorage),
    }));
    expect(stored.local).not.toContain(system.rootToken);
    expect(stored.session).toEqual(['tokenledger.console.operator-token']);
  }, 60_000);

  it('issues a token and shows its plaintext once, with a copy button', async () => {
    const form = page.locator('section', {
      has: page.getByRole('heading', { name: 'Issue a token' }),
    });
    // With the keyboard alone.
    await tabTo(form.getByLabel('Owner id'));
    await page.keyboard.type(owner);
    await tabTo(form.getByLabel('Name'));
    await page.keyboard.type('console-e2e');
    await tabTo(form.getByLabel('ledger:read'));
    await page.keyboard.press('Space');
    await tabTo(form.getByRole('button', { name: 'Issue' }));
    await page.keyboard.press('Enter');
    plaintext = await page.getByTestId('plaintext').innerText();
    expect(plaintext).toMatch(/^tlk_/);
    await expect(
      page.getByTestId('issued').getByRole('button', { name: 'Copy' }).isVisible(),
    ).resolves.toBe(true);
    await expectAccessible('tokens-issued');
    await shot('token-issued');
    const href = await page.getByTestId('issued').locator('a').getAttribute('href');
    tokenId = /#\/tokens\/(.+)$/.exec(href ?? '')?.[1] ?? '';
    expect(tokenId).toMatch(/^[0-9a-f-]{36}$/);
    await page.getByRole('button', { name: /hide the plaintext/ }).click();
    expect(await page.content()).not.toContain(plaintext);
  }, 60_000);

  it('finds it by search', async () => {
    const search = page.getByRole('search');
    // With the keyboard alone: Enter in a field submits the search.
    await tabTo(search.getByLabel('Owner id'));
    await page.keyboard.type(owner);
    await page.keyboard.press('Enter');
    // Only the issued token matches its owner (the root token shown before the search does not).
    await page.waitForFunction((id) => {
      const rows = document.querySelectorAll('tbody tr');
      return rows.length === 1 && rows[0]?.getAttribute('data-token-id') === id;
    }, tokenId);
    expect(await page.locator('tbody tr').allInnerTexts()).toEqual([
      expect.stringContaining(owner),
    ]);
    // The other filters, each narrowing to it or to nothing (the token is unused so far).
    const { prefix } = await api<{ prefix: string }>('issuance', `/v1/tokens/${tokenId}`);
    await search.getByLabel('Owner id').fill('');
    await search.getByLabel('Prefix starts with').fill(prefix);
    await search.getByLabel('Scope').selectOption('ledger:read');
    await search.getByLabel('Never used').check();
    await search.getByLabel('Never rotated').check();
    await search.getByLabel('Name contains').fill('CONSOLE-E2E');
    await search.getByRole('button', { name: 'Search' }).click();
    await page.waitForFunction((id) => {
      const rows = document.querySelectorAll('tbody tr');
      return rows.length === 1 && rows[0]?.getAttribute('data-token-id') === id;
    }, tokenId);
    await search.getByLabel('Scope').selectOption('tokens:issue');
    await search.getByRole('button', { name: 'Search' }).click();
    await page.getByText('No token matches.').waitFor();
    await search.getByLabel('Scope').selectOption('');
    await search.getByLabel('Expiring before').fill(new Date().toISOString().slice(0, 10));
    await search.getByRole('button', { name: 'Search' }).click();
    await page.getByText('No token matches.').waitFor();
    await search.getByLabel('Expiring before').fill('');
    // Issued before today (start of the day, UTC): not the token issued just now.
    await search.getByLabel('Issued before').fill(new Date().toISOString().slice(0, 10));
    await search.getByRole('button', { name: 'Search' }).click();
    await page.getByText('No token matches.').waitFor();
    await search.getByLabel('Issued before').fill('');
    await search.getByLabel('Never rotated').uncheck();
    await search.getByLabel('Prefix starts with').fill('');
    await search.getByLabel('Never used').uncheck();
    await search.getByLabel('Name contains').fill('');
    await search.getByRole('button', { name: 'Search' }).click();
    await page.locator('tbody tr').nth(1).waitFor();
    await expectAccessible('tokens');
    await shot('tokens');
  }, 60_000);

  it('shows the introspection in the timeline, revokes, and verifies every badge in the browser', async () => {
    // Opened with the keyboard alone.
    await tabTo(page.locator(`tr[data-token-id="${tokenId}"] a`));
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Token console-e2e' }).waitFor();
    const introspected = await api<{ active: boolean }>('revocation', '/v1/introspect', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        token: plaintext,
        service: 'console-e2e',
        operation: 'GET /things',
      }).toString(),
    });
    expect(introspected.active).toBe(true);
    await refreshUntil(
      async () => (await page.locator('li[data-type="tokenledger.token.used.v1"]').count()) > 0,
      'the use in the timeline',
    );
    // With the keyboard alone: a select takes the first option starting with the typed letter.
    await tabTo(page.getByLabel('Reason'));
    await page.keyboard.type('l');
    expect(await page.getByLabel('Reason').inputValue()).toBe('leaked');
    await tabTo(page.getByLabel(/^Comment/));
    await page.keyboard.type(COMMENT);
    await tabTo(page.getByRole('button', { name: 'Revoke' }));
    await page.keyboard.press('Enter');
    await eventually(
      async () =>
        (await page.getByTestId('status').innerText()).includes('revoked') ? true : undefined,
      20_000,
      'shown revoked',
    );
    let texts: string[] = [];
    await refreshUntil(async () => {
      // Entries, their badges and texts in one read: a new round may start between two reads.
      const entries = await page.locator('[data-testid=timeline] li').evaluateAll((els) =>
        els.map((e) => ({
          type: e.getAttribute('data-type'),
          badge: e.querySelector('[data-badge]')?.getAttribute('data-badge') ?? '',
          text: (e as HTMLElement).innerText,
        })),
      );
      texts = entries.map((e) => e.text);
      return (
        entries.some((e) => e.type === 'tokenledger.token.revoked.v1') &&
        entries.length >= 3 &&
        entries.every((e) => e.badge === 'verified')
      );
    }, 'every badge verified');
    expect(texts.join('\n')).toContain('witnessed by');
    // The comment is shown from the verified leaf, and it is in the ledger's event.
    expect(texts.join('\n')).toContain(`comment “${COMMENT}”`);
    const timeline = await api<{
      entries: { record: { event?: { type: string; data?: { comment?: string } } } }[];
    }>('ledger', `/v1/ledger/tokens/${tokenId}/timeline`);
    expect(
      timeline.entries.find((e) => e.record.event?.type === 'tokenledger.token.revoked.v1')?.record
        .event?.data?.comment,
    ).toBe(COMMENT);
    await expectAccessible('token-detail');
    await shot('token-detail');
  }, 120_000);

  it('the anomalies, sprawl and ledger pages are there and accessible', async () => {
    await page.getByRole('link', { name: 'Anomalies' }).click();
    await page.getByRole('heading', { name: 'Anomalies' }).waitFor();
    await page.getByText('Live feed').waitFor();
    const rule = page.locator('form[data-rule="new-network"]');
    await rule.getByLabel('Severity').selectOption('low');
    await rule.getByLabel('Thresholds (JSON)').fill('{"warmupUses":7}');
    await rule.getByRole('button', { name: 'Save' }).click();
    await rule.getByRole('status').getByText('Saved').waitFor();
    const ruleOf = async (): Promise<{ severity: string; params: { warmupUses?: number } }> => {
      const { rules } = await api<{
        rules: { rule: string; severity: string; params: { warmupUses?: number } }[];
      }>('anomaly', '/v1/anomaly-rules');
      const found = rules.find((r) => r.rule === 'new-network');
      if (!found) throw new Error('no new-network rule');
      return found;
    };
    expect(await ruleOf()).toMatchObject({ severity: 'low', params: { warmupUses: 7 } });
    // Thresholds the rule refuses: the service's 400 is shown, and nothing changed.
    await rule.getByLabel('Severity').selectOption('high');
    await rule.getByLabel('Thresholds (JSON)').fill('{"warmupUses":-1}');
    await rule.getByRole('button', { name: 'Save' }).click();
    await rule
      .getByRole('alert')
      .getByText(/warmupUses/)
      .waitFor();
    expect(await ruleOf()).toMatchObject({ severity: 'low', params: { warmupUses: 7 } });
    await expectAccessible('anomalies');
    await shot('anomalies');
    await page.getByRole('link', { name: 'Sprawl' }).click();
    await page.getByText('live tokens').waitFor();
    // By owner, by age, hygiene, scope breadth (from issuance's search) and due for rotation.
    await page.getByText('Scope breadth').waitFor();
    expect(await page.locator('canvas').count()).toBe(5);
    await expectAccessible('sprawl');
    await shot('sprawl');
    await page.getByRole('link', { name: 'Ledger' }).click();
    await page.locator('td [data-badge]').first().waitFor();
    const ledgerBadges = await page
      .locator('td [data-badge]')
      .evaluateAll((els) => els.map((e) => e.getAttribute('data-badge')));
    expect(ledgerBadges.every((b) => b === 'verified')).toBe(true);
    await page.getByRole('button', { name: /verify itself/ }).click();
    await page
      .getByTestId('verify-result')
      .getByText(/all \d+ logs verify/)
      .waitFor();
    // A replay of the lifecycle log that holds the token, started and watched in the console.
    const { logs } = await api<{ logs: { logId: string; topic: string; size: number }[] }>(
      'ledger',
      '/v1/ledger/logs',
    );
    const source = logs
      .filter((l) => l.topic.endsWith('tokens.lifecycle') && l.size > 0)
      .sort((a, b) => b.size - a.size)[0];
    if (!source) throw new Error('no lifecycle log');
    const replayForm = page.locator('section', {
      has: page.getByRole('heading', { name: 'Replay a log' }),
    });
    await replayForm.getByLabel('Log').selectOption(source.logId);
    const prefixOfTopic = source.topic.slice(0, -'tokens.lifecycle'.length);
    expect(await replayForm.getByLabel('Target topic').inputValue()).toContain(
      `${prefixOfTopic}replay.console-`,
    );
    await replayForm.getByRole('button', { name: 'Start replay' }).click();
    await page.locator('[data-testid=replay][data-status=completed]').waitFor({ timeout: 30_000 });
    expect(await page.getByTestId('replay').innerText()).toContain(
      `completed, ${source.size} of ${source.size}`,
    );
    await shot('ledger');
  }, 60_000);

  it('a leaf tampered with in the database turns its badge red, naming the failed check', async () => {
    const { entries } = await api<{
      entries: { logId: string; index: number; record: { event?: { type: string } } }[];
    }>('ledger', `/v1/ledger/tokens/${tokenId}/timeline`);
    const used = entries.find((e) => e.record.event?.type === 'tokenledger.token.used.v1');
    if (!used) throw new Error('no used entry');
    await sql('ALTER TABLE ledger.leaves DISABLE TRIGGER USER');
    try {
      const changed = await sql<{ idx: string }>(
        `UPDATE ledger.leaves SET leaf = convert_to(replace(convert_from(leaf, 'UTF8'), 'GET /things', 'GET /thingz'), 'UTF8')
          WHERE log_id = $1 AND idx = $2 RETURNING idx`,
        [used.logId, used.index],
      );
      expect(changed).toHaveLength(1);
    } finally {
      await sql('ALTER TABLE ledger.leaves ENABLE TRIGGER USER');
    }
    await page.goto(`${consoleUrl}/#/tokens/${tokenId}`);
    await page.getByRole('heading', { name: 'Token console-e2e' }).waitFor();
    const bad = page.locator('li[data-type="tokenledger.token.used.v1"] [data-badge="failed"]');
    await bad.waitFor({ timeout: 20_000 });
    expect(await bad.getAttribute('data-check')).toBe('inclusion');
    expect(await bad.innerText()).toContain('inclusion check failed');
    const others = await page
      .locator(
        '[data-testid=timeline] li:not([data-type="tokenledger.token.used.v1"]) [data-badge]',
      )
      .evaluateAll((els) => els.map((e) => e.getAttribute('data-badge')));
    expect(others.length).toBeGreaterThan(0);
    expect(others.every((b) => b === 'verified')).toBe(true);
    await shot('token-tampered');
  }, 60_000);

  it('fits a tablet width: no page scrolls sideways, and each stays accessible', async () => {
    await page.setViewportSize({ width: 768, height: 1024 });
    try {
      for (const [route, heading] of [
        ['#/tokens', 'Tokens'],
        [`#/tokens/${tokenId}`, 'Token console-e2e'],
        ['#/anomalies', 'Anomalies'],
        ['#/sprawl', 'Sprawl'],
        ['#/ledger', 'Ledger'],
      ] as const) {
        await page.goto(`${consoleUrl}/${route}`);
        await page.getByRole('heading', { name: heading, exact: true }).waitFor();
        const widths = await page.evaluate(() => ({
          content: document.documentElement.scrollWidth,
          viewport: window.innerWidth,
        }));
        expect({ route, fits: widths.content <= widths.viewport }).toEqual({ route, fits: true });
        await expectAccessible(`${heading} at 768 px`);
      }
    } finally {
      await page.setViewportSize({ width: 1280, height: 900 });
    }
  }, 60_000);

  it('a token with only ledger:read cannot reach issue or revoke, and is refused with 403 if it forces them', async () => {
    const reader = await api<{ token: string; tokenId: string }>('issuance', '/v1/tokens', {
      method: 'POST',
      body: JSON.stringify({
        owner: { type: 'user', id: 'auditor' },
        name: 'auditor',
        scopes: ['ledger:read'],
        ttlSeconds: 3600,
      }),
    });
    await eventually(
      async () =>
        (
          await fetch(`${system.apps.ledger.url}/v1/whoami`, {
            headers: { authorization: `Bearer ${reader.token}` },
          })
        ).status === 200
          ? true
          : undefined,
      20_000,
      'reader token known',
    );
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Operator token').waitFor();
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    await page.getByLabel('Operator token').fill(reader.token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Tokens' }).waitFor();
    expect(await page.getByTestId('principal').innerText()).toContain('ledger:read');
    expect(await page.getByRole('heading', { name: 'Issue a token' }).count()).toBe(0);
    expect(await page.getByRole('heading', { name: 'Bulk revoke' }).count()).toBe(0);
    await page.getByText('cannot issue tokens').waitFor();
    await page.goto(`${consoleUrl}/#/tokens/${tokenId}`);
    await page.getByRole('heading', { name: 'Ledger timeline' }).waitFor();
    expect(await page.getByRole('button', { name: 'Revoke' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Rotate' }).count()).toBe(0);
    await page.goto(`${consoleUrl}/#/ledger`);
    await page.getByText('cannot start replays').waitFor();
    expect(await page.getByRole('button', { name: 'Start replay' }).count()).toBe(0);
    await page.goto(`${consoleUrl}/#/tokens/${tokenId}`);
    await page.getByRole('heading', { name: 'Ledger timeline' }).waitFor();
    await expectAccessible('token-detail-reader');
    await shot('token-detail-reader');
    const forced = await page.evaluate(async (id) => {
      const token = sessionStorage.getItem('tokenledger.console.operator-token') ?? '';
      const post = async (url: string, body: unknown): Promise<number> =>
        (
          await fetch(url, {
            method: 'POST',
            headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
            body: JSON.stringify(body),
          })
        ).status;
      return {
        issue: await post('/api/issuance/v1/tokens', {
          owner: { type: 'user', id: 'x' },
          name: 'x',
          scopes: ['ledger:read'],
          ttlSeconds: 60,
        }),
        revoke: await post(`/api/revocation/v1/tokens/${id}/revoke`, { reason: 'requested' }),
      };
    }, tokenId);
    expect(forced).toEqual({ issue: 403, revoke: 403 });
    // Nothing of a token reached the console's own output.
    expect(output.join('')).not.toContain(reader.token);
    expect(output.join('')).not.toContain(system.rootToken);
  }, 60_000);
});
