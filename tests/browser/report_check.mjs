// SPDX-License-Identifier: Apache-2.0
// Opens a trawl-triage HTML report in Debian's headless Chromium (Playwright
// drives it) and asserts on the rendered page, as an analyst would use it:
// the host table, the evidence of the planted side-load, the timeline's
// points, search and level filters narrowing the lists, and that nothing
// collected ran as script (no dialog, no flag set by a payload, no element
// or request that came from data).
// Usage: node report_check.mjs REPORT.html EXPECT.json
// EXPECT: {hosts, quiet_hosts, quiet_search, top_host, planted_path, planted_sha256, rule_id, search, search_hits, host_search,
//          hostile_text}
import fs from 'node:fs';
import { chromium } from 'playwright-core';

const [, , file, expectFile] = process.argv;
const want = JSON.parse(fs.readFileSync(expectFile, 'utf8'));
const failures = [];
let checks = 0;
function check(ok, what) {
  checks++;
  if (!ok) failures.push(what);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu'],
});
try {
  const page = await browser.newPage();
  const problems = [];
  let dialogs = 0;
  const requests = [];
  page.on('pageerror', (e) => problems.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });
  page.on('dialog', async (d) => { dialogs++; await d.dismiss(); });
  page.on('request', (r) => { if (!r.url().startsWith('file:')) requests.push(r.url()); });
  await page.goto('file://' + file, { waitUntil: 'load' });

  // Hosts by verdict: one row per host, the planted host first; the hosts
  // with no findings folded into a closed <details>.
  const hostRows = page.locator('#hosts tbody tr');
  const quietRows = page.locator('#quiet-hosts tbody tr');
  const nHosts = (await hostRows.count()) + (await quietRows.count());
  check(nHosts === want.hosts, `host rows: ${nHosts} != ${want.hosts}`);
  check((await quietRows.count()) === want.quiet_hosts, `quiet host rows: ${await quietRows.count()} != ${want.quiet_hosts}`);
  for (const r of await hostRows.all()) {
    check((await r.locator('td').nth(4).textContent()).trim() !== '0', 'a host without findings is on the first screen');
  }
  for (const r of await quietRows.all()) {
    check((await r.locator('td').nth(4).textContent()).trim() === '0', 'a host with findings is folded away');
  }
  if (want.quiet_hosts > 0) {
    check(!(await page.locator('#quiet').evaluate((d) => d.open)), 'the quiet hosts are not folded');
  }
  const firstHost = (await hostRows.first().locator('td').nth(2).textContent()).trim();
  check(firstHost === want.top_host, `first host: ${firstHost} != ${want.top_host}`);
  check((await hostRows.first().getAttribute('data-level')) === 'alert', 'the first host is not an alert');

  // The key finding of the plant, with its evidence.
  const key = page.locator('article', { hasText: want.planted_path }).first();
  check((await key.count()) === 1, `no key finding for ${want.planted_path}`);
  if ((await key.count()) === 1) {
    const text = await key.textContent();
    if (!text.includes(want.rule_id)) console.log(`key finding text: ${text.slice(0, 1500)}`);
    check(text.includes(want.planted_sha256), 'the key finding does not show the SHA-256');
    check(text.includes(want.rule_id), `the key finding does not name rule ${want.rule_id}`);
    check(text.includes('Signature'), 'the key finding does not show the signature state');
    check(/Same SHA-256 in the fleet\s*1 host/.test(text), 'the key finding does not say where else the hash is');
  }

  // The timeline picture has points, the key records among them.
  const points = await page.locator('svg#timeline circle').count();
  const keyPoints = await page.locator('svg#timeline circle.key').count();
  check(points >= 3, `timeline points: ${points}`);
  check(keyPoints >= 1, `timeline key points: ${keyPoints}`);

  // The script ran (allowed by its hash): the count of shown findings is filled in.
  const rows = page.locator('#findings tbody tr');
  const total = await rows.count();
  check((await page.locator('#shown').textContent()) === String(total), 'the report script did not run');

  // Search narrows the findings and the hosts; clearing it restores them.
  await page.fill('#q', want.search);
  const shownAfter = Number(await page.locator('#shown').textContent());
  check(shownAfter === want.search_hits, `search '${want.search}': ${shownAfter} shown, want ${want.search_hits}`);
  check(shownAfter < total, 'search did not narrow the list');
  for (const r of await page.locator('#findings tbody tr:visible').all()) {
    check((await r.textContent()).toLowerCase().includes(want.search.toLowerCase()), 'a shown row lacks the term');
  }
  // A host name narrows the host table to that host.
  await page.fill('#q', want.host_search);
  const visibleHosts = await page.locator('#hosts tbody tr:visible, #quiet-hosts tbody tr:visible').count();
  check(visibleHosts === 1, `search '${want.host_search}' left ${visibleHosts} host rows`);
  if (want.quiet_hosts > 0) {
    // A quiet host: the search opened the fold to show it.
    await page.fill('#q', want.quiet_search);
    const q = await page.locator('#quiet-hosts tbody tr:visible').count();
    check(q === 1, `search '${want.quiet_search}' shows ${q} folded host rows (the fold did not open?)`);
  }
  await page.fill('#q', '');
  check((await page.locator('#shown').textContent()) === String(total), 'clearing the search did not restore');

  // The level filter.
  await page.uncheck('input[data-level="alert"]');
  check((await page.locator('tr.row[data-level="alert"]:visible').count()) === 0, 'alert rows still shown');
  check((await page.locator('tr.row:visible').count()) > 0, 'the level filter hid everything');
  await page.check('input[data-level="alert"]');

  // Nothing collected ran, loaded or became an element.
  const pwned = await page.evaluate(() => window.__pwned);
  check(pwned === undefined, `a payload ran: window.__pwned = ${pwned}`);
  check(dialogs === 0, `${dialogs} dialog(s) opened`);
  check(requests.length === 0, `requests: ${requests.join(' ')}`);
  check((await page.locator('img').count()) === 0, 'an <img> element exists');
  check((await page.locator('script').count()) === 1, 'a script element other than the report\'s exists');
  const body = await page.locator('body').textContent();
  check(body.includes(want.hostile_text), 'the hostile name is not shown as text');
  check(problems.length === 0, `page errors: ${problems.join(' | ')}`);
} finally {
  await browser.close();
}
if (failures.length) {
  console.log(`FAILED ${failures.length} of ${checks} checks:\n  ` + failures.join('\n  '));
  process.exit(1);
}
console.log(`report_check: ${checks} checks passed`);
