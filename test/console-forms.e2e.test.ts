import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Browser, type Locator, type Page } from 'playwright-core';
import { ARTIFACTS, collectProblems, launchChromium, prepareConsole, withoutChromium } from './console-browser.js';
import { startTandem, type Running } from './harness.js';


/**
 * The console's forms for experiments, models, alert rules and personalization in real Chromium against a real
 * server: each definition is made through its form only (no JSON typed), then read back through the admin API.
 * A viewer sees the same forms disabled. Setup that is not under test (users, an audience, a Slack channel) goes
 * through the admin API.
 */
describe.skipIf(withoutChromium)('console forms: experiments, models, alert rules, personalization', () => {
  let t: Running;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];
  const shot = (name: string) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
  const nav = (label: string) => page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: label, exact: true }).click();
  const field = (scope: Locator | Page, label: string) => scope.getByLabel(label, { exact: true });
  const body = async <T,>(path: string) => {
    const res = await t.admin(path);
    expect(res.status).toBe(200);
    return (await res.json()) as T;
  };
  const signIn = async (name: string) => {
    await page.goto('/');
    await page.getByLabel('User name').fill(name);
    await page.getByLabel('Password').fill(`${name}-password`);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText(`Signed in as ${name}`).waitFor();
  };

  beforeAll(async () => {
    await prepareConsole();
    t = await startTandem();
    for (const [name, role] of [['ed', 'editor'], ['vera', 'viewer']]) expect((await t.admin('/users', { method: 'POST', json: { name, password: `${name}-password`, role } })).status).toBe(201);
    expect((await t.admin('/audiences', { method: 'POST', json: { key: 'vip', condition: { trait: 'plan', eq: 'pro' } } })).status).toBe(201);
    expect((await t.admin('/audiences', { method: 'POST', json: { key: 'newsletter', condition: { trait: 'email', exists: true } } })).status).toBe(201);
    expect((await t.admin('/channels', { method: 'POST', json: { key: 'ops-slack', type: 'slack', settings: { webhookUrl: { env: 'OPS_SLACK_URL' } } } })).status).toBe(201);
    browser = await launchChromium();
    const context = await browser.newContext({ baseURL: t.url, viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
    collectProblems(page, problems);
    await signIn('ed');
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await t?.stop();
  });

  it('creates an experiment through the form, shows an API validation error at its field, and shows results as tables', async () => {
    await nav('Experiments');
    await page.getByRole('heading', { level: 1, name: 'Experiments' }).waitFor();
    const form = page.getByRole('form', { name: 'Experiment form' });
    await field(form, 'Experiment key').fill('checkout_test');
    await field(form, 'Experiment name').fill('One-click checkout');
    await field(form, 'Arm 2 key').fill('one_click');
    await field(form, 'Arm 2 weight').fill('30');
    await form.getByRole('button', { name: 'Add arm' }).click();
    await field(form, 'Arm 3 key').fill('control');
    await field(form, 'Arm 3 weight').fill('20');
    expect(await form.getByLabel('Arm 1 share').textContent()).toBe('50% of profiles');
    await field(form, 'Metric 1 key').fill('orders');
    await form.getByRole('button', { name: 'Add metric' }).click();
    await field(form, 'Metric 2 key').fill('revenue');
    await field(form, 'Metric 2 type').selectOption('revenue');
    await field(form, 'Metric 2 event').fill('Order Completed');
    await field(form, 'Metric 2 revenue property').fill('total');
    await field(form, 'Metric 2 window after exposure').fill('7d');
    await form.getByRole('button', { name: 'Add metric' }).click();
    await field(form, 'Metric 3 key').fill('unsubscribes');
    await field(form, 'Metric 3 event').fill('Unsubscribed');
    await field(form, 'Metric 3 is a guardrail').check();
    await field(form, 'Only some profiles take part').check();
    const targeting = form.getByRole('group', { name: 'Targeting', exact: true });
    await field(targeting, 'Type of Targeting').selectOption('in_audience');
    await field(targeting, 'Audience key').fill('vip');

    // Arm 3 repeats the key "control": the API refuses it and the message appears at that field.
    const before = problems.length;
    await form.getByRole('button', { name: 'Save experiment' }).click();
    await form.getByRole('alert').getByText("Not saved: arms[2].key: arm 'control' appears twice (arms[2].key)").waitFor();
    expect(await field(form, 'Arm 3 key').getAttribute('aria-invalid')).toBe('true');
    expect(await field(form, 'Arm 1 key').getAttribute('aria-invalid')).toBeNull();
    await shot('30-experiment-form-error');
    // The refused request is the one console message Chromium writes for it; nothing else.
    expect(problems.slice(before)).toEqual([expect.stringMatching(/^error: Failed to load resource: the server responded with a status of 400/)]);
    problems.splice(before);

    await field(form, 'Arm 3 key').fill('two_click');
    await field(form, 'Control arm').selectOption('control');
    await form.getByRole('button', { name: 'Save experiment' }).click();
    await page.getByText("Saved experiment 'checkout_test'.").waitFor();

    const stored = await body<Record<string, unknown>>('/experiments/checkout_test');
    expect(stored).toEqual({
      key: 'checkout_test',
      name: 'One-click checkout',
      status: 'running',
      control: 'control',
      arms: [{ key: 'control', weight: 50 }, { key: 'one_click', weight: 30 }, { key: 'two_click', weight: 20 }],
      metrics: [
        { key: 'orders', type: 'conversion', event: 'Order Completed', within: '14d' },
        { key: 'revenue', type: 'revenue', event: 'Order Completed', property: 'total', within: '7d' },
        { key: 'unsubscribes', type: 'conversion', event: 'Unsubscribed', guardrail: true },
      ],
      targeting: { in_audience: 'vip' },
    });

    // The saved experiment is selected: its results are tables (no exposures yet), not a JSON dump.
    const results = page.getByRole('region', { name: 'Results' });
    const exposures = results.getByRole('table', { name: 'Exposures per arm' });
    await exposures.waitFor();
    expect(await exposures.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.children].map((c) => c.textContent)))).toEqual([
      ['control (control)', '0'],
      ['one_click', '0'],
      ['two_click', '0'],
    ]);
    expect(await results.getByRole('table').count()).toBe(4);
    expect(await results.locator('pre').count()).toBe(0);
    expect(await field(page, 'Experiment key').getAttribute('readonly')).not.toBeNull();
    await shot('31-experiment-results');
  });

  it('creates a model through the form, trains it and lists the run in a table', async () => {
    await nav('Models');
    await page.getByRole('heading', { level: 1, name: 'Models' }).waitFor();
    const form = page.getByRole('form', { name: 'Model form' });
    await field(form, 'Model key').fill('buy_soon');
    await field(form, 'Model name').fill('Buys within 2 weeks');
    await field(form, 'Model type').selectOption('propensity');
    await field(form, 'Predicted event').fill('Order Completed');
    await field(form, 'Outcome window').fill('14d');
    await field(form, 'Count windows').fill('7d, 30d');
    await field(form, 'Trait features').fill('age, visits');
    await field(form, 'Also fit boosted trees').uncheck();
    // No schedule: a scheduled model trains on its own when saved, and this test starts run 1 itself.
    await field(form, 'Output computed trait').fill('buy_soon_score');
    await form.getByRole('button', { name: 'Save model' }).click();
    await page.getByText("Saved model 'buy_soon'.").waitFor();

    const stored = await body<Record<string, unknown>>('/models/buy_soon');
    const { status: _status, ...definition } = stored;
    expect(definition).toEqual({
      key: 'buy_soon',
      name: 'Buys within 2 weeks',
      type: 'propensity',
      output: 'buy_soon_score',
      propensity: { event: 'Order Completed', within: '14d', windows: ['7d', '30d'], traits: ['age', 'visits'], l2: 1, boosting: false },
    });

    const runs = page.getByRole('region', { name: 'Training runs' });
    await runs.getByText('Not trained yet.').waitFor();
    await runs.getByRole('button', { name: 'Train now' }).click();
    await runs.getByText('Training run 1 started.').waitFor();
    const table = runs.getByRole('table', { name: 'Trainings of buy_soon, newest first' });
    await table.getByRole('rowheader', { name: '1', exact: true }).waitFor();
    // Run 1 of definition version 1; it may still be running or have finished (ok, or an error with no history).
    expect(await table.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => [tr.children[0].textContent, tr.children[4].textContent]))).toEqual([['1', '1']]);
    // The table follows the run to its end without a reload: ok with its figures, or an error with its message.
    const status = table.locator('tbody tr td').first();
    await expect.poll(() => status.textContent(), { timeout: 60_000 }).toMatch(/^(ok|error)$/);
    const outcome = table.locator('tbody tr td').last();
    if ((await status.textContent()) === 'ok') expect(await outcome.locator('dl.pairs dt').count()).toBeGreaterThan(0);
    else expect((await outcome.locator('.error').textContent())?.length).toBeGreaterThan(0);
    await shot('32-model-runs');
  });

  it('creates an alert rule with PagerDuty, Slack and webhook routing and a runbook, linked to incidents', async () => {
    await nav('Alerts');
    await page.getByRole('heading', { level: 1, name: 'Alert rules' }).waitFor();
    const form = page.getByRole('form', { name: 'Alert rule form' });
    await field(form, 'Rule key').fill('no_orders');
    await field(form, 'Rule name').fill('No orders for 30 minutes');
    await field(form, 'Severity').selectOption('critical');
    await field(form, 'Metric').selectOption('events');
    await field(form, 'Window').fill('30m');
    await form.getByRole('button', { name: 'Add to match labels' }).click();
    await field(form, 'Match labels: label 1').fill('event');
    await field(form, 'Match labels: value 1').fill('Order Completed');
    await field(form, 'Fires when the value is').selectOption('lt');
    await field(form, 'Threshold').fill('1');
    await field(form, 'For at least').fill('10m');
    await form.getByRole('button', { name: 'Add destination' }).click();
    await field(form, 'Destination 1 type').selectOption('pagerduty');
    await field(form, 'Destination 1 secret name').fill('pd-orders');
    await form.getByRole('button', { name: 'Add destination' }).click();
    await field(form, 'Destination 2 channel').selectOption('ops-slack');
    await form.getByRole('button', { name: 'Add destination' }).click();
    await field(form, 'Destination 3 type').selectOption('webhook');
    await field(form, 'Destination 3 webhook URL').fill('https://hooks.example.com/orders');
    await field(form, 'Notify again every').fill('1h');
    await field(form, 'Runbook (Markdown)').fill('1. Check the checkout service.\n2. Page the payments team.');
    await form.getByRole('button', { name: 'Save alert rule' }).click();
    await page.getByText("Saved alert rule 'no_orders'.").waitFor();

    expect(await body('/alerts/no_orders')).toEqual({
      key: 'no_orders',
      name: 'No orders for 30 minutes',
      severity: 'critical',
      series: { metric: 'events', aggregate: 'count', window: '30m', match: { event: 'Order Completed' } },
      threshold: { op: 'lt', value: 1 },
      for: '10m',
      notify: [{ pagerduty: { routingKey: { secret: 'pd-orders' } } }, { channel: 'ops-slack' }, { webhook: { url: 'https://hooks.example.com/orders' } }],
      repeatInterval: '1h',
      runbook: '1. Check the checkout service.\n2. Page the payments team.',
      enabled: true,
    });
    const incidents = page.getByRole('region', { name: 'Incidents of this rule' });
    await incidents.getByText('No incident yet.').waitFor();
    await incidents.getByRole('link', { name: 'All incidents' }).click();
    await page.getByRole('heading', { level: 1, name: 'Alerts and incidents' }).waitFor();
    await nav('Alerts');
    await field(page, 'Choose from alert rules').selectOption('no_orders');
    expect(await field(page, 'Destination 2 channel').inputValue()).toBe('ops-slack');
    // A saved rule edited in the form is replaced (PUT): the new threshold, the destinations as they were.
    await field(page, 'Threshold').fill('3');
    await field(page, 'Delivery attempts').fill('2');
    await page.getByRole('button', { name: 'Save alert rule' }).click();
    await expect.poll(async () => ((await body<{ threshold: unknown }>('/alerts/no_orders')).threshold)).toEqual({ op: 'lt', value: 3 });
    const updated = await body<{ retry: unknown; notify: unknown[] }>('/alerts/no_orders');
    // The schema's defaults fill the rest of the retry policy on the server.
    expect(updated.retry).toEqual({ attempts: 2, backoff: '30s', maxBackoff: '15m' });
    expect(updated.notify).toHaveLength(3);
    await shot('33-alert-rule');
  });

  it('sets what a page may see and creates a decision point with offers, eligibility, policy, cap and holdout', async () => {
    await nav('Personalization');
    const exposure = page.getByRole('form', { name: 'Personalization settings' });
    await field(exposure, 'Audience vip').check();
    await field(exposure, 'Computed traits a page may see').fill('buy_soon_score');
    await exposure.getByRole('button', { name: 'Save settings' }).click();
    await exposure.getByText('Saved what a page may see.').waitFor();
    expect(await body('/personalization')).toEqual({ audiences: ['vip'], computed: ['buy_soon_score'] });

    const points = page.getByRole('region', { name: 'Decision points' });
    const form = points.getByRole('form', { name: 'Decision point form' });
    await field(form, 'Decision point key').fill('home_banner');
    await field(form, 'Decision point name').fill('Home banner');
    await field(form, 'Offer 1 key').fill('welcome');
    await field(form, 'Offer 1 content: value 1').fill('Welcome back');
    await form.getByRole('button', { name: 'Add offer' }).click();
    await field(form, 'Offer 2 key').fill('vip_deal');
    await form.getByRole('button', { name: 'Add to offer 2 content' }).click();
    await field(form, 'Offer 2 content: field 1').fill('title');
    await field(form, 'Offer 2 content: value 1').fill('20% off for you');
    await field(form, 'Offer 2 has an eligibility condition').check();
    const eligibility = form.getByRole('group', { name: 'Eligibility of offer 2', exact: true });
    await field(eligibility, 'Type of Eligibility of offer 2').selectOption('trait');
    await field(eligibility, 'Trait').fill('plan');
    await field(eligibility, 'Operator').selectOption('eq');
    await field(eligibility, 'Value').fill('pro');
    await field(form, 'Policy').selectOption('rules');
    await field(form, 'Cap per visitor and offer').check();
    await field(form, 'Cap per visitor and offer: at most (times)').fill('2');
    await field(form, 'Cap per visitor and offer: within').fill('1d');
    await field(form, 'Hold out some visitors').check();
    await field(form, 'Holdout share (%)').fill('5');
    await form.getByRole('button', { name: 'Add reward event' }).click();
    await field(form, 'Reward event 1').fill('Banner Clicked');
    await form.getByRole('button', { name: 'Save decision point' }).click();
    await points.getByText("Saved decision point 'home_banner'.").waitFor();

    expect(await body('/decisions/home_banner')).toEqual({
      key: 'home_banner',
      name: 'Home banner',
      offers: [
        { key: 'welcome', content: { title: 'Welcome back' } },
        { key: 'vip_deal', content: { title: '20% off for you' }, condition: { trait: 'plan', eq: 'pro' } },
      ],
      policy: { type: 'rules' },
      cap: { max: 2, within: '1d' },
      holdout: { percent: 5 },
      reward: { events: [{ event: 'Banner Clicked' }] },
    });
    const results = page.getByRole('region', { name: 'Results of home_banner' });
    await results.getByRole('table', { name: 'Rewards per group' }).waitFor();
    await results.getByText('No decision made yet.').waitFor();
    await shot('34-decision-point');
  });

  it('shows a viewer the same forms, read-only', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await signIn('vera');
    await nav('Experiments');
    await field(page, 'Choose from experiments').selectOption('checkout_test');
    const experiment = page.getByRole('form', { name: 'Experiment form' });
    await experiment.getByText('Read only').waitFor();
    expect(await field(experiment, 'Arm 2 weight').inputValue()).toBe('30');
    for (const label of ['Experiment name', 'Arm 2 weight', 'Metric 2 type', 'Only some profiles take part']) expect(await field(experiment, label).isDisabled()).toBe(true);
    expect(await experiment.getByRole('button', { name: /^(Save|Delete)/ }).count()).toBe(0);
    for (const name of ['Add arm', 'Add metric', 'Remove metric 1']) expect(await experiment.getByRole('button', { name }).isDisabled()).toBe(true);
    await experiment.getByText('JSON (advanced)').click();
    expect(await field(experiment, 'Experiment (JSON)').getAttribute('readonly')).not.toBeNull();
    // The fallback shows the same definition the form does, as the API stores it.
    expect(JSON.parse(await field(experiment, 'Experiment (JSON)').inputValue())).toEqual(await body('/experiments/checkout_test'));
    await page.getByRole('table', { name: 'Exposures per arm' }).waitFor();

    await nav('Models');
    await field(page, 'Choose from models').selectOption('buy_soon');
    const model = page.getByRole('form', { name: 'Model form' });
    expect(await field(model, 'Outcome window').inputValue()).toBe('14d');
    expect(await field(model, 'Outcome window').isDisabled()).toBe(true);
    await page.getByRole('table', { name: 'Trainings of buy_soon, newest first' }).waitFor();
    expect(await page.getByRole('button', { name: 'Train now' }).count()).toBe(0);

    await nav('Alerts');
    await field(page, 'Choose from alert rules').selectOption('no_orders');
    const alert = page.getByRole('form', { name: 'Alert rule form' });
    expect(await field(alert, 'Threshold').isDisabled()).toBe(true);
    expect(await field(alert, 'Runbook (Markdown)').isDisabled()).toBe(true);
    expect(await alert.getByRole('button', { name: 'Save alert rule' }).count()).toBe(0);

    await nav('Personalization');
    await page.getByRole('form', { name: 'Personalization settings' }).getByText('Read only').waitFor();
    expect(await page.getByRole('form', { name: 'Personalization settings' }).getByLabel('Audience vip', { exact: true }).isDisabled()).toBe(true);
    expect(await page.getByRole('button', { name: 'Save settings' }).count()).toBe(0);
    await field(page, 'Decision point').selectOption('home_banner');
    const decision = page.getByRole('form', { name: 'Decision point form' });
    expect(await field(decision, 'Offer 2 key').inputValue()).toBe('vip_deal');
    expect(await field(decision, 'Offer 2 key').isDisabled()).toBe(true);
    expect(await decision.getByRole('group', { name: 'Eligibility of offer 2', exact: true }).getByLabel('Trait', { exact: true }).isDisabled()).toBe(true);
    expect(await decision.getByRole('button', { name: 'Save decision point' }).count()).toBe(0);
    await shot('35-viewer-forms');

    // The API refuses a viewer's write whatever the page shows.
    const refused = await page.request.put('/api/v1/experiments/checkout_test', { data: { key: 'checkout_test' } });
    expect(refused.status()).toBe(403);
  }, 90_000);

  it('writes no error to the browser console', async () => {
    for (const label of ['Experiments', 'Models', 'Alerts', 'Personalization']) {
      await nav(label);
      await page.getByRole('heading', { level: 1 }).first().waitFor();
      await page.waitForLoadState('networkidle').catch(() => undefined);
    }
    expect(problems).toEqual([]);
  });
});
