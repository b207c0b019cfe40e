// Protocol fidelity: the official Search Console Node client and batchfetch ask mockgsc
// for the same page; mockgsc records both requests as they arrived (GET /__requests) and
// this script asserts they are equivalent: the same path (siteUrl encoding), a JSON
// content type, a bearer token, and the same JSON body.
// Usage: node fidelity.js BASE_URL BATCHFETCH_BIN TOKEN   (exit 0 when equivalent)
'use strict';

const {searchconsole, auth} = require('@googleapis/searchconsole');
const {execFileSync} = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const assert = require('assert');

const [baseUrl, batchfetch, token] = process.argv.slice(2);
const date = '2024-01-15';
const rowLimit = 500;

async function requests() {
  const response = await fetch(`${baseUrl}/__requests`);
  return response.json();
}

async function main() {
  for (const site of ['sc-domain:example.com', 'https://www.example.com/']) {
    // What the official client sends for one page of one day.
    const oauth = new auth.OAuth2();
    oauth.setCredentials({access_token: token});
    const client = searchconsole({version: 'v1', rootUrl: `${baseUrl}/`, auth: oauth});
    await client.searchanalytics.query({
      siteUrl: site,
      requestBody: {startDate: date, endDate: date, dimensions: ['date', 'query', 'page'],
                    type: 'web', dataState: 'final', rowLimit, startRow: 0},
    });
    const before = await requests();
    const official = before.at(-1);

    // What batchfetch sends for the same page (its first request of the day).
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fidelity-'));
    execFileSync(batchfetch, ['backfill', '--site', site, '--from', date, '--to', date,
                              '--dimensions', 'date,query,page', '--row-limit', String(rowLimit),
                              '--db', path.join(dir, 'f.db'), '--api-base', baseUrl,
                              '--max-concurrency', '1', '--progress', 'never', '--allow-old-dates',
                              '--log-level', 'error'],
                 {env: {...process.env, BATCHFETCH_TOKEN: token}, stdio: ['ignore', 'ignore', 'inherit']});
    fs.rmSync(dir, {recursive: true, force: true});
    // The log keeps the last 64 requests; batchfetch's are the ones after `official`.
    const after = await requests();
    const from = after.findIndex((r) => JSON.stringify(r) === JSON.stringify(official));
    const ours = after.slice(from + 1).find((r) => r.body && r.body.startRow === 0);

    assert.ok(ours, 'batchfetch sent no request for the page');
    assert.strictEqual(ours.target, official.target, `path for ${site}`);
    assert.match(official.content_type, /^application\/json/);
    assert.match(ours.content_type, /^application\/json/);
    assert.strictEqual(official.auth_scheme, 'Bearer');
    assert.strictEqual(ours.auth_scheme, 'Bearer');
    assert.deepStrictEqual(ours.body, official.body, `body for ${site}`);
    console.log(`fidelity ${site}: path ${ours.target}, body ${JSON.stringify(ours.body)} — same as the official client`);
  }
}

main().catch((e) => {
  console.error(`fidelity: ${e.message}`);
  process.exit(1);
});
