import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Browser, type Page } from 'playwright-core';
import { ARTIFACTS, collectProblems, launchChromium, prepareConsole, withoutChromium } from './console-browser.js';
import { startTandem, type Running } from './harness.js';


/**
 * The analytics, personalization and metadata pages in real Chromium against a real server. The history is small
 * enough to count by hand: ann views, adds and orders; ben views and adds; cid only views; dee adds without viewing
 * (so she never enters a funnel that starts with a view). Only ann has an e-mail; her view came from a Google ad
 * campaign (UTM), the one touchpoint before the one order.
 */
describe.skipIf(withoutChromium)('console pages: analytics, personalization, metadata', () => {
  let t: Running;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];
  const shot = (name: string) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
  const nav = (label: string) => page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: label, exact: true }).click();

  beforeAll(async () => {
    await prepareConsole();
    t = await startTandem();
    expect((await t.admin('/users', { method: 'POST', json: { name: 'ed', password: 'ed-password', role: 'editor' } })).status).toBe(201);
    const start = Date.now() - 3_600_000;
    const at = (minutes: number) => new Date(start + minutes * 60_000).toISOString();
    const track = (userId: string, event: string, minutes: number, properties: Record<string, unknown> = {}) => ({ type: 'track', userId, event, timestamp: at(minutes), properties });
    const batch = [
      { type: 'identify', userId: 'u-ann', timestamp: at(0), traits: { email: 'ann@example.com', plan: 'pro' } },
      { type: 'identify', userId: 'u-ben', timestamp: at(0), traits: { plan: 'free' } },
      { ...track('u-ann', 'Product Viewed', 1, { sku: 'sku-1', price: 9.5 }), context: { campaign: { source: 'google', name: 'spring' } } },
      track('u-ann', 'Product Added', 2, { sku: 'sku-1' }),
      track('u-ann', 'Order Completed', 3, { total: 9.5 }),
      track('u-ben', 'Product Viewed', 1, { sku: 'sku-2', price: 12.25 }),
      track('u-ben', 'Product Added', 4, { sku: 'sku-2' }),
      track('u-cid', 'Product Viewed', 2, { sku: 'sku-3', price: null }),
      track('u-dee', 'Product Added', 5, { sku: 'sku-4' }),
    ];
    expect((await t.collect('/v1/batch', { batch })).status).toBe(200);
    expect((await t.admin('/audiences', { method: 'POST', json: { key: 'has_email', condition: { trait: 'email', exists: true } } })).status).toBe(201);
    expect((await t.admin('/audiences', { method: 'POST', json: { key: 'free_plan', condition: { trait: 'plan', eq: 'free' } } })).status).toBe(201);
    expect((await t.admin('/personalization', { method: 'PUT', json: { audiences: ['*'] } })).status).toBe(200);
    await t.settle();
    browser = await launchChromium();
    const context = await browser.newContext({ baseURL: t.url, viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
    collectProblems(page, problems);
    await page.goto('/');
    await page.getByLabel('User name').fill('ed');
    await page.getByLabel('Password').fill('ed-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('Signed in as ed').waitFor();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await t?.stop();
  });

  it('builds a funnel and shows the step counts of the known history', async () => {
    await nav('Analytics');
    const funnel = page.getByRole('region', { name: 'Funnel' });
    await funnel.getByLabel('Step 1 event').fill('Product Viewed');
    await funnel.getByLabel('Step 2 event').fill('Product Added');
    await funnel.getByRole('button', { name: 'Add step' }).click();
    await funnel.getByLabel('Step 3 event').fill('Order Completed');
    await funnel.getByRole('button', { name: 'Run funnel' }).click();
    await funnel.getByText('The funnel report is ready.').waitFor();
    // Entered: ann, ben, cid (3); added after viewing: ann, ben (2); ordered: ann (1). Dee never viewed.
    const rows = await funnel.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.children].slice(0, 5).map((c) => c.textContent)));
    expect(rows).toEqual([
      ['1. Product Viewed', '3', '100%', '–', '0'],
      ['2. Product Added', '2', '66.7%', '66.7%', '1'],
      ['3. Order Completed', '1', '33.3%', '50%', '1'],
    ]);
    await funnel.getByText('Profiles per step: 1. Product Viewed 3 (100% of entries), 2. Product Added 2 (66.7% of entries), 3. Order Completed 1 (33.3% of entries)').waitFor();
    const download = page.waitForEvent('download');
    await funnel.getByRole('button', { name: 'Download funnel CSV' }).click();
    expect((await download).suggestedFilename()).toBe('funnel.csv');

    const paths = page.getByRole('region', { name: 'Paths' });
    await paths.getByLabel('Anchor event').fill('Product Viewed');
    await paths.getByRole('button', { name: 'Run paths' }).click();
    // After viewing: ann added then ordered, ben added, cid did nothing (the two paths tie, so their order is free).
    await paths.getByText('3 profiles did Product Viewed; 1 did nothing after it.').waitFor();
    expect((await paths.getByRole('list', { name: 'Top paths' }).getByRole('listitem').allTextContents()).sort()).toEqual([
      'Product Viewed → Product Added → Order Completed: 1 profiles (33.3%)',
      'Product Viewed → Product Added: 1 profiles (33.3%)',
    ]);
    await shot('20-analytics-funnel');

    const retention = page.getByRole('region', { name: 'Retention' });
    await retention.getByLabel('Period', { exact: true }).selectOption('day');
    await retention.getByLabel('Periods', { exact: true }).fill('2');
    await retention.getByRole('button', { name: 'Run retention' }).click();
    // Period 0 holds every cohort member by definition; nobody is eligible for later days yet.
    await retention.getByText('Retention curve: day 0 100%, day 1 no data, day 2 no data').waitFor();

    const attribution = page.getByRole('region', { name: 'Attribution' });
    await attribution.getByLabel('Conversion event').fill('Order Completed');
    await attribution.getByRole('button', { name: 'Run attribution' }).click();
    await attribution.getByText('1 conversions (Order Completed), 1 with touchpoints in the 30d lookback; revenue 0.').waitFor();
    // One touchpoint before the one conversion: every model gives it the whole conversion, and removing it loses all.
    expect(await attribution.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.children].map((c) => c.textContent)))).toEqual([['google / spring', '1', '1', '1', '1', '1', '1', '1', '100%']]);
    await shot('21-analytics-attribution');
  });

  it('lists an observed event with its property types and confirms a classification suggestion', async () => {
    await nav('Metadata');
    await page.getByRole('region', { name: 'Observed events' }).getByRole('button', { name: 'Product Viewed' }).click();
    const event = page.getByRole('region', { name: 'Event Product Viewed' });
    const row = (path: string) => event.locator('tbody tr', { has: page.getByRole('rowheader', { name: path, exact: true }) });
    await row('sku').waitFor();
    // Three views: sku always a string; price a number twice and null once (cid).
    expect(await row('sku').locator('td').evaluateAll((tds) => tds.slice(0, 4).map((td) => td.textContent))).toEqual(['string 3', '3', '0%', '3']);
    expect(await row('price').locator('td').evaluateAll((tds) => tds.slice(0, 3).map((td) => td.textContent))).toEqual(['number 2, null 1', '3', '33.3%']);
    await row('sku').getByRole('button', { name: 'Lineage of sku' }).click();
    await page.getByRole('group', { name: 'Lineage of property:Product Viewed:sku' }).getByText('No definition uses it.').waitFor();

    const suggestions = page.getByRole('region', { name: 'Classification suggestions' });
    await suggestions.getByRole('button', { name: 'Confirm trait:email' }).click();
    await suggestions.getByText(/Dictionary entry '.+' saved: trait:email is pii\./).waitFor();
    const dictionary = (await (await t.admin('/dictionary')).json()) as { data: { trait?: string; classification?: string; piiType?: string }[] };
    expect(dictionary.data.map((d) => ({ trait: d.trait, classification: d.classification, piiType: d.piiType }))).toEqual([{ trait: 'email', classification: 'pii', piiType: 'email' }]);
    await page.getByRole('region', { name: 'Data dictionary' }).getByText('trait email').waitFor();
    expect(await suggestions.getByRole('button', { name: 'Confirm trait:email' }).count()).toBe(0);
    await shot('22-metadata');
  });

  it('saves a decision point and shows a known visitor\'s audiences and decision in "try it"', async () => {
    await nav('Personalization');
    const points = page.getByRole('region', { name: 'Decision points' });
    await points.getByText('JSON (advanced)').click();
    await points.getByLabel('Decision point (JSON)').fill(JSON.stringify({ key: 'hero', name: 'Hero banner', offers: [{ key: 'welcome', content: { title: 'Welcome back' } }], policy: { type: 'rules' } }));
    await points.getByRole('button', { name: 'Save decision point' }).click();
    await points.getByText("Saved decision point 'hero'.").waitFor();
    expect(((await (await t.admin('/decisions/hero')).json()) as { offers: { key: string }[] }).offers.map((o) => o.key)).toEqual(['welcome']);

    const tryIt = page.getByRole('region', { name: 'Try it' });
    await tryIt.getByLabel('Write key').fill(t.writeKey);
    await tryIt.getByLabel('Visitor id', { exact: true }).fill('u-ben');
    await tryIt.getByRole('checkbox', { name: 'hero' }).check();
    await tryIt.getByRole('button', { name: 'Personalize' }).click();
    await tryIt.getByText('A known visitor.').waitFor();
    // Ben has plan free and no e-mail: free_plan only.
    expect(await tryIt.getByRole('list', { name: 'Audiences of the visitor' }).getByRole('listitem').allTextContents()).toEqual(['free_plan']);
    expect(await tryIt.getByRole('list', { name: 'Decisions' }).getByRole('listitem').allTextContents()).toEqual(['hero: offer welcome · policy']);
    await tryIt.getByLabel('Visitor id', { exact: true }).fill('u-ann');
    await tryIt.getByRole('button', { name: 'Personalize' }).click();
    await expect.poll(() => tryIt.getByRole('list', { name: 'Audiences of the visitor' }).getByRole('listitem').allTextContents()).toEqual(['has_email']);
    await shot('23-personalization');
  });

  it('shows no error in the browser console on the new pages', async () => {
    for (const label of ['Analytics', 'Personalization', 'Metadata']) {
      await nav(label);
      await page.getByRole('heading', { level: 1, name: label }).waitFor();
      await page.waitForLoadState('networkidle').catch(() => undefined);
    }
    expect(problems).toEqual([]);
  });
});
