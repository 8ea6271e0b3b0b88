// A student in a real browser: log in to the Hub, open the assignment list in JupyterLab,
// fetch the assignment, open its notebook and run its first code cell; save a screenshot.
// Driven by tests/test_jupyterhub_browser.py: one JSON argument in, one JSON line out.
// Chromium is Debian's; playwright-core talks to it over a pipe (no listening port).
'use strict';
const { openBrowser, logInToJupyterLab, openAssignmentList } = require('./hub_student');

const args = JSON.parse(process.argv[2]);
const steps = [];
const t0 = Date.now();
function step(name) { steps.push([name, (Date.now() - t0) / 1000]); }

(async () => {
  const { browser, page } = await openBrowser(args);
  try {
    await logInToJupyterLab(page, args);
    step('logged in, JupyterLab loaded');

    await openAssignmentList(page);
    const released = page.locator('#released_assignments_list .list_item', { hasText: args.assignment });
    await released.waitFor();
    step('assignment list open');
    await page.screenshot({ path: args.screenshot.replace(/\.png$/, '-assignments.png') });

    await released.locator('button', { hasText: 'Fetch' }).click();
    const fetched = page.locator('#fetched_assignments_list .list_item', { hasText: args.assignment });
    await fetched.waitFor();
    step('assignment fetched');

    // Unfold the assignment to show its notebooks (the list may re-render right after a fetch,
    // folding it again: retry until the notebook's link shows).
    const notebookLink = page.locator('#fetched_assignments_list .collapse.in a', { hasText: args.notebook }).first();
    for (let attempt = 0; ; attempt++) {
      await page.locator('#fetched_assignments_list a.assignment-notebooks-link', { hasText: args.assignment }).first().click();
      try {
        await notebookLink.waitFor({ state: 'visible', timeout: 3000 });
        break;
      } catch (err) {
        if (attempt >= 5) throw err;
      }
    }
    await notebookLink.click();
    const panel = page.locator('.jp-NotebookPanel:visible');
    await panel.waitFor();
    const firstCode = panel.locator('.jp-Cell.jp-CodeCell').first();
    await firstCode.waitFor();
    step('notebook open');

    // JupyterLab may ask which kernel to start: the student takes the one proposed (Python 3).
    const dialog = page.locator('.jp-Dialog', { hasText: 'Select Kernel' });
    try {
      await dialog.waitFor({ state: 'visible', timeout: 5000 });
      await dialog.locator('button.jp-mod-accept').click();
      await dialog.waitFor({ state: 'detached' });
      step('kernel selected');
    } catch (err) { /* no dialog: the kernel starts by itself */ }
    // Run the first code cell (the assignment's imports).
    await firstCode.locator('.jp-InputArea-editor').click();
    await page.keyboard.press('Shift+Enter');
    await firstCode.locator('.jp-InputPrompt', { hasText: '[1]:' }).waitFor({ timeout: args.timeout_ms });
    step('first code cell ran');
    const source = await firstCode.locator('.jp-InputArea-editor').innerText();
    const errors = await firstCode.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"], .jp-RenderedText[data-mime-type="application/vnd.jupyter.error"]').count();
    await page.screenshot({ path: args.screenshot });
    step('screenshot saved');
    console.log(JSON.stringify({ ok: true, steps, source, errors }));
  } catch (err) {
    await page.screenshot({ path: args.screenshot.replace(/\.png$/, '-failure.png') }).catch(() => {});
    console.log(JSON.stringify({ ok: false, steps, error: String(err && err.stack || err), url: page.url() }));
    process.exitCode = 1;
  } finally {
    await browser.close();
  }
})();
