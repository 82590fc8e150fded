// Swagger UI in a real browser: without a token "Try it out" on GET /api/v1/workflows is
// answered 401; after Authorize with a bearer token the same call is answered 200.
// Usage: node swagger-authorize.mjs BASE_URL TOKEN SCREENSHOT.png
import { chromium } from 'playwright-core';

const [baseUrl, token, screenshot] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const page = await browser.newPage({ viewport: { width: 1280, height: 1600 } });
const fail = async (why) => {
  await page.screenshot({ path: screenshot, fullPage: false });
  console.error(`FAIL: ${why}`);
  await browser.close();
  process.exit(1);
};

await page.goto(`${baseUrl}/swagger-ui/`);
const authorize = page.locator('button.authorize').first();
await authorize.waitFor({ timeout: 30000 }).catch(() => fail('no Authorize button'));

// The operation GET /api/v1/workflows, tried out without a token first.
async function tryListWorkflows({ clear }) {
  const op = page.locator('#operations-Workflow_Catalog_API-listWorkflows');
  if (!(await op.locator('.opblock-body').isVisible())) {
    await op.locator('.opblock-summary').click();
  }
  const tryButton = op.locator('button.try-out__btn');
  if ((await tryButton.textContent()).includes('Try it out')) await tryButton.click();
  await op.locator('button.execute').click();
  const status = op.locator('.live-responses-table .response .response-col_status').first();
  await status.waitFor({ timeout: 30000 });
  const code = (await status.textContent()).trim();
  if (clear) await op.locator('button.btn-clear').click().catch(() => {});
  return code;
}

const before = await tryListWorkflows({ clear: true });
if (before !== '401') await fail(`without a token expected 401, got ${before}`);

await authorize.click();
const dialog = page.locator('.modal-ux');
await dialog.locator('input[type=text], input[type=password]').first().fill(token);
await dialog.locator('button.authorize').click();
await dialog.locator('button.btn-done, button.close-modal').first().click();

const after = await tryListWorkflows({ clear: false });
if (after !== '200') await fail(`after Authorize expected 200, got ${after}`);
await page.locator('#operations-Workflow_Catalog_API-listWorkflows .live-responses-table').first()
  .screenshot({ path: screenshot });
console.log(`Swagger UI: without a token 401, after Authorize 200 (screenshot ${screenshot})`);
await browser.close();
