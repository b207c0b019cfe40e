// Points the official Search Console Node client at mockgsc, pages one day to its end
// (rowLimit 1000) and compares row count and checksum with GET /__expected.
// Usage: node paginate.js BASE_URL [SITE] [TOKEN]   (exit 0 on match, 1 on mismatch)
'use strict';

const {searchconsole, auth} = require('@googleapis/searchconsole');

const baseUrl = process.argv[2];
const site = process.argv[3] || 'sc-domain:example.com';
const token = process.argv[4] || 'dummy-access-token';
const dimensions = ['date', 'query', 'page'];
const rowLimit = 1000;

// The checksum contract of tests/support/checksum.h, with 64-bit wrap-around.
const kMask = (1n << 64n) - 1n;
function fnv1a(text) {
  let h = 0xcbf29ce484222325n;
  for (const byte of Buffer.from(text, 'utf8')) {
    h = ((h ^ BigInt(byte)) * 0x100000001b3n) & kMask;
  }
  return h;
}
function rowHash(row) {
  return fnv1a(row.keys.join('\x1f') + '\x1e' + row.clicks + '\x1e' + row.impressions);
}

async function expected(date) {
  const query = new URLSearchParams({site, type: 'web', date, dimensions: dimensions.join(',')});
  const response = await fetch(`${baseUrl}/__expected?${query}`);
  if (!response.ok) throw new Error(`/__expected answered ${response.status}`);
  return response.json();
}

// A day with several pages but under the daily cap, so paging has real work to do.
async function pickDay() {
  for (let d = 1; d <= 90; ++d) {
    const date = new Date(Date.UTC(2024, 0, d)).toISOString().slice(0, 10);
    const e = await expected(date);
    if (e.rows > 2 * rowLimit && !e.truncated) return {date, e};
  }
  throw new Error('no multi-page day found');
}

async function main() {
  const oauth = new auth.OAuth2();
  oauth.setCredentials({access_token: token});
  const client = searchconsole({version: 'v1', rootUrl: `${baseUrl}/`, auth: oauth});
  const {date, e} = await pickDay();

  let rows = 0;
  let sum = 0n;
  let pages = 0;
  for (let startRow = 0; ; startRow += rowLimit) {
    const res = await client.searchanalytics.query({
      siteUrl: site,
      requestBody: {startDate: date, endDate: date, dimensions, rowLimit, startRow, type: 'web'},
    });
    ++pages;
    const page = res.data.rows || [];
    for (const row of page) sum = (sum + rowHash(row)) & kMask;
    rows += page.length;
    if (page.length < rowLimit) break;
  }
  const checksum = sum.toString(16).padStart(16, '0');
  console.log(`${date}: ${pages} pages, ${rows} rows, checksum ${checksum}; ` +
              `expected ${e.rows} rows, checksum ${e.checksum}`);
  if (rows !== e.rows || checksum !== e.checksum) {
    console.error('MISMATCH');
    process.exit(1);
  }
}

main().catch((err) => {
  console.error(err && err.stack ? err.stack : err);
  process.exit(1);
});
