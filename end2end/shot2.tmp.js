const { chromium } = require('@playwright/test');
(async () => {
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless','--no-sandbox','--disable-gpu'] });
  const page = await browser.newPage({ viewport: { width: 1200, height: 700 } });
  await page.goto('http://127.0.0.1:8000/login');
  await page.getByLabel('Username').fill('demo');
  await page.getByLabel('Password').fill(process.env.PW);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.locator('#who').waitFor();
  for (const [path, out] of JSON.parse(process.env.PAGES)) {
    await page.goto('http://127.0.0.1:8000' + path);
    await page.waitForTimeout(300);
    await page.screenshot({ path: out });
  }
  await browser.close();
})();
