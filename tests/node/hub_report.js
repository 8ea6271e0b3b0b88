// The class report on the Hub in a real browser: each user logs in to the Hub on their way to
// the report service (/services/class-report/); an instructor must see the report (screenshot
// saved), a student must be refused (the final answer's HTTP status, 403).
// Driven by tests/test_jupyterhub_browser.py: one JSON argument in, one JSON line out.
'use strict';
const { openBrowser } = require('./hub_student');

const args = JSON.parse(process.argv[2]);
const steps = [];
const t0 = Date.now();
function step(name) { steps.push([name, (Date.now() - t0) / 1000]); }

async function visit(page, user) {
  const report = `${args.url}/services/class-report/`;
  await page.goto(`${args.url}/hub/login?next=${encodeURIComponent('/services/class-report/')}`);
  await page.fill('#username_input', user.username);
  await page.fill('#password_input', args.password);
  await page.click('#login_submit');
  await page.waitForLoadState('load');
  // Logged in: ask for the report itself and keep the final answer (after the OAuth redirects).
  const answer = await page.goto(report);
  await page.waitForLoadState('load');
  return { status: answer.status(), url: page.url(), title: await page.title(),
           heading: await page.locator('h1').first().innerText().catch(() => '') };
}

(async () => {
  const { browser, page } = await openBrowser(args);
  const seen = {};
  try {
    for (const user of args.users) {
      const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
      const userPage = await context.newPage();
      userPage.setDefaultTimeout(args.timeout_ms);
      seen[user.username] = await visit(userPage, user);
      step(`${user.username}: ${seen[user.username].status}`);
      if (user.screenshot) {
        const link = userPage.locator('a', { hasText: args.assignment }).first();
        await link.click();
        await userPage.locator('h1', { hasText: args.assignment }).waitFor();
        seen[user.username].assignment_heading = await userPage.locator('h1').first().innerText();
        await userPage.screenshot({ path: user.screenshot, fullPage: true });
        step(`${user.username}: screenshot saved`);
      }
      await context.close();
    }
    console.log(JSON.stringify({ ok: true, steps, seen }));
  } catch (err) {
    await page.screenshot({ path: args.failure_screenshot }).catch(() => {});
    console.log(JSON.stringify({ ok: false, steps, seen, error: String(err && err.stack || err), url: page.url() }));
    process.exitCode = 1;
  } finally {
    await browser.close();
  }
})();
