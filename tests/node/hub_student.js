// What every browser test starts with: Debian's Chromium, driven by playwright-core over a
// pipe (no listening port), and a student logged in to the test's Hub with JupyterLab loaded.
'use strict';
const path = require('path');
const { chromium } = require(path.join(process.env.NODE_TOOLS_DIR, 'node_modules', 'playwright-core'));

async function openBrowser(args) {
  const browser = await chromium.launch({
    executablePath: args.chromium,
    headless: true,
    // root (CI) cannot use Chromium's sandbox; the pages are the test's own Hub
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--no-first-run', '--disable-gpu'],
  });
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.setDefaultTimeout(args.timeout_ms);
  return { browser, page };
}

async function logInToJupyterLab(page, args) {
  await page.goto(`${args.url}/hub/login`);
  await page.fill('#username_input', args.username);
  await page.fill('#password_input', args.password);
  await page.click('#login_submit');
  // The Hub spawns the student's server, then JupyterLab loads.
  await page.waitForURL(new RegExp(`/user/${args.username}/lab`), { timeout: args.timeout_ms });
  await page.locator('#jp-main-dock-panel').waitFor();
}

// The Assignments tab: nbgrader's Assignment List, from JupyterLab's Nbgrader menu.
async function openAssignmentList(page) {
  await page.locator('.lm-MenuBar-itemLabel', { hasText: 'Nbgrader' }).click();
  await page.locator('.lm-Menu-itemLabel', { hasText: 'Assignment List' }).click();
}

module.exports = { openBrowser, logInToJupyterLab, openAssignmentList };
