/** npm start's configuration, the web build's staleness, the output helpers: no process started. */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { describeExit, prettyLogLine } from '../src/children.ts';
import { LauncherConfigError, loadLauncherConfig, wantsHelp } from '../src/config.ts';
import { STAMP_FILE, rebuildReason, webSourceHash, writeStamp } from '../src/web-build.ts';

test('defaults: web 3000, API 3001 on 127.0.0.1, agent on, the API quiet unless asked', () => {
  const c = loadLauncherConfig([], {});
  assert.equal(c.webPort, 3000);
  assert.equal(c.apiPort, 3001);
  assert.equal(c.webUrl, 'http://localhost:3000');
  assert.equal(c.apiUrl, 'http://127.0.0.1:3001');
  assert.equal(c.demo, false);
  assert.equal(c.agent, true);
  assert.equal(c.agentToken, undefined);
  assert.equal(c.webDistDir, '.next');
  assert.equal(c.apiEnv.PORT, '3001');
  assert.equal(c.apiEnv.LOG_LEVEL, 'warn');
  assert.match(c.api.dataDir, /\/data$/);
  assert.equal(c.api.databaseUrl, undefined);
});

test('the environment: ports, host, data folder, token, agent off, --demo; the API gets its own variables', () => {
  const c = loadLauncherConfig(['--demo'], {
    MAILSCOPE_WEB_PORT: '3200', MAILSCOPE_API_PORT: '3201', HOST: '127.0.0.1', MAILSCOPE_DATA_DIR: 'rel/data',
    MAILSCOPE_AGENT_TOKEN: 'ms_0123456789abcdefghij', MAILSCOPE_AGENT: 'false', LOG_LEVEL: 'debug',
    MAILSCOPE_RETENTION_DAYS: '14', UPLOAD_LIMIT_MB: '64', PORT: '9999',
  });
  assert.equal(c.demo, true);
  assert.equal(c.webUrl, 'http://127.0.0.1:3200');
  assert.equal(c.apiUrl, 'http://127.0.0.1:3201');
  assert.equal(c.agent, false);
  assert.equal(c.agentToken, 'ms_0123456789abcdefghij');
  assert.equal(c.api.retentionDays, 14);
  assert.equal(c.api.uploadLimitBytes, 64 * 1024 * 1024);
  assert.equal(c.api.port, 3201, 'PORT is the launcher\'s to set');
  assert.equal(c.apiEnv.PORT, '3201');
  assert.equal(c.apiEnv.LOG_LEVEL, 'debug');
  assert.equal(c.apiEnv.MAILSCOPE_DATA_DIR, join(process.cwd(), 'rel/data'));
  assert.equal(c.apiEnv.MAILSCOPE_AGENT_TOKEN, undefined, 'the token is added when the API is started');
  assert.equal(loadLauncherConfig([], { HOST: '::1' }).apiUrl, 'http://[::1]:3001');
});

test('every bad variable, the launcher\'s and the API\'s, is reported at once', () => {
  assert.throws(
    () => loadLauncherConfig([], {
      MAILSCOPE_WEB_PORT: 'web', MAILSCOPE_API_PORT: '70000', MAILSCOPE_AGENT: 'perhaps', MAILSCOPE_WEB_DIST_DIR: '../out',
      DATABASE_URL: 'mysql://x', MAILSCOPE_RETENTION_DAYS: 'week', MAILSCOPE_AGENT_TOKEN: 'short',
    }),
    (e: unknown) => {
      assert.ok(e instanceof LauncherConfigError);
      assert.deepEqual(e.problems.map((p) => p.split(/[=:]/)[0]), [
        'MAILSCOPE_WEB_PORT', 'MAILSCOPE_API_PORT', 'MAILSCOPE_AGENT', 'MAILSCOPE_WEB_DIST_DIR', 'DATABASE_URL', 'MAILSCOPE_RETENTION_DAYS', 'MAILSCOPE_AGENT_TOKEN',
      ]);
      return true;
    },
  );
  assert.throws(() => loadLauncherConfig([], { MAILSCOPE_WEB_PORT: '3001' }), /both 3001: they must differ/);
  assert.throws(() => loadLauncherConfig(['--dmeo'], {}), /unknown option '--dmeo'/);
  assert.equal(wantsHelp(['--demo', '-h']), true);
  assert.equal(wantsHelp(['--demo']), false);
});

test('the web UI is rebuilt when it is missing, made elsewhere, for another API address, or older than its sources', () => {
  const root = mkdtempSync(join(tmpdir(), 'mailscope-launcher-'));
  try {
    mkdirSync(join(root, 'apps', 'web', 'src'), { recursive: true });
    mkdirSync(join(root, 'apps', 'web', 'test'), { recursive: true });
    mkdirSync(join(root, 'packages', 'shared', 'src'), { recursive: true });
    writeFileSync(join(root, 'apps', 'web', 'src', 'page.tsx'), 'one');
    writeFileSync(join(root, 'packages', 'shared', 'src', 'index.ts'), 'shared');
    const dist = join(root, 'apps', 'web', '.next');
    const wanted = { apiUrl: 'http://127.0.0.1:3001', sources: webSourceHash(root) };
    assert.equal(rebuildReason(dist, wanted), 'the web UI is not built yet');
    mkdirSync(dist);
    writeFileSync(join(dist, 'BUILD_ID'), 'x');
    assert.match(rebuildReason(dist, wanted) ?? '', /built by something other than npm start/);
    writeStamp(dist, wanted);
    assert.equal(rebuildReason(dist, wanted), null);
    assert.match(rebuildReason(dist, { ...wanted, apiUrl: 'http://127.0.0.1:3201' }) ?? '', /built for the API at http:\/\/127.0.0.1:3001, not http:\/\/127.0.0.1:3201/);
    // Tests, builds and the stamp itself do not count as sources; a page or packages/shared does.
    writeFileSync(join(root, 'apps', 'web', 'test', 'x.spec.ts'), 'test');
    writeFileSync(join(dist, 'other'), 'build output');
    assert.equal(webSourceHash(root), wanted.sources);
    writeFileSync(join(root, 'packages', 'shared', 'src', 'index.ts'), 'shared, changed');
    assert.match(rebuildReason(dist, { ...wanted, sources: webSourceHash(root) }) ?? '', /sources changed/);
    assert.ok(STAMP_FILE.endsWith('.json'));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('output helpers: pino lines made readable, exits described', () => {
  assert.equal(prettyLogLine('{"level":40,"time":1,"msg":"slow request"}'), 'WARN slow request');
  assert.equal(prettyLogLine('{"level":50,"msg":"request failed","err":{"message":"boom"}}'), 'ERROR request failed (boom)');
  assert.equal(prettyLogLine('plain text'), 'plain text');
  assert.equal(prettyLogLine('{"not":"pino"}'), '{"not":"pino"}');
  assert.equal(describeExit({ code: 1, signal: null }), 'exited with code 1');
  assert.equal(describeExit({ code: null, signal: 'SIGKILL' }), 'was killed by SIGKILL');
});
