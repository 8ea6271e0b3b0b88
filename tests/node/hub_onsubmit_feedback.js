// A student opens the feedback the Hub graded on submit, in a real browser: log in, open the
// Assignments tab (Nbgrader > Assignment List), Fetch Feedback, follow the submission's
// "(view feedback)" link to the file browser and open the feedback HTML; save screenshots.
// Driven by tests/test_jupyterhub_feedback_on_submit.py: one JSON argument in, one JSON line
// out, with the text the student sees in the feedback. Chromium and playwright-core as in
// hub_browser.js (a pipe, no listening port).
'use strict';
const path = require('path');
const { openBrowser, logInToJupyterLab, openAssignmentList } = require('./hub_student');

const args = JSON.parse(process.argv[2]);
const steps = [];
const t0 = Date.now();
function step(name) { steps.push([name, (Date.now() - t0) / 1000]); }
const shot = (suffix) => path.join(args.screenshot_dir, `onsubmit_feedback${suffix}.png`);

(async () => {
  const { browser, page } = await openBrowser(args);
  try {
    await logInToJupyterLab(page, args);
    step('logged in, JupyterLab loaded');

    await openAssignmentList(page);
    // The submission, as the Assignments tab lists it: graded on submit, its feedback waiting.
    const submission = page.locator('#submitted_assignments_list .nested_list_item', { hasText: args.timestamp });
    await submission.filter({ hasText: 'feedback available to fetch' }).waitFor();
    step('assignment list: feedback available to fetch');
    await page.screenshot({ path: shot('-assignments') });

    await page.locator('#submitted_assignments_list .list_item', { hasText: args.assignment })
      .locator('button', { hasText: 'Fetch Feedback' }).first().click();
    const viewFeedback = page.locator('#submitted_assignments_list .nested_list_item', { hasText: args.timestamp })
      .locator('a', { hasText: 'view feedback' });
    await viewFeedback.waitFor();
    step('feedback fetched');
    await viewFeedback.click();  // the file browser, in the submission's feedback folder

    const html = `${args.notebook}.html`;
    const item = page.locator('.jp-DirListing-item', { hasText: html }).first();
    await item.waitFor();
    await item.dblclick();
    const frame = page.frameLocator('.jp-HTMLViewer iframe').first();
    await frame.locator('body', { hasText: 'Score' }).waitFor();
    step('feedback open');
    const text = await frame.locator('body').innerText();
    await page.screenshot({ path: shot('') });
    step('screenshot saved');
    console.log(JSON.stringify({ ok: true, steps, text }));
  } catch (err) {
    await page.screenshot({ path: shot('-failure') }).catch(() => {});
    console.log(JSON.stringify({ ok: false, steps, error: String(err && err.stack || err), url: page.url() }));
    process.exitCode = 1;
  } finally {
    await browser.close();
  }
})();
