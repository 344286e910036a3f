/**
 * docker/: what can be checked without a Docker engine (CI has none). The compose file parses and
 * has the four services with their healthchecks, volumes and the agent's capture rights; every
 * service builds from a Dockerfile that exists; every COPY source of every Dockerfile exists in
 * the build context and is not excluded by the Dockerfile's ignore file; the install stage copies
 * the package.json of every workspace (npm ci fails without one); images that do not capture run
 * as a non-root user.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const DOCKER = join(ROOT, 'docker');

interface Service {
  image?: string;
  build?: { context: string; dockerfile: string; args?: Record<string, string> };
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
  network_mode?: string;
  cap_add?: string[];
  healthcheck?: { test: string[] | string };
  depends_on?: Record<string, { condition: string }>;
}
interface Compose {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
}

const compose = parse(readFileSync(join(DOCKER, 'compose.yaml'), 'utf8')) as Compose;

interface Instruction {
  readonly line: number;
  readonly keyword: string;
  readonly args: string;
}

/** Dockerfile instructions: comments dropped, backslash continuations joined. */
function instructions(text: string): Instruction[] {
  const out: Instruction[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const first = i + 1;
    let line = lines[i] as string;
    if (/^\s*(#|$)/.test(line)) continue;
    while (/\\\s*$/.test(line) && i + 1 < lines.length) {
      line = line.replace(/\\\s*$/, ' ');
      const next = lines[++i] as string;
      if (!/^\s*#/.test(next)) line += next;
    }
    const m = /^\s*([A-Za-z]+)\s+(.*)$/.exec(line);
    assert.ok(m, `line ${first}: not an instruction: ${line}`);
    out.push({ line: first, keyword: (m[1] as string).toUpperCase(), args: (m[2] as string).trim() });
  }
  return out;
}

/** COPY sources (without --from): the words before the destination, flags dropped. */
function copySources(args: string): { from: boolean; sources: string[] } {
  const words = args.startsWith('[') ? (JSON.parse(args) as string[]) : args.split(/\s+/);
  const flags = words.filter((w) => w.startsWith('--'));
  const rest = words.filter((w) => !w.startsWith('--'));
  return { from: flags.some((f) => f.startsWith('--from=')), sources: rest.slice(0, -1) };
}

/** Whether a .dockerignore pattern list excludes `path` (relative to the context); enough for the patterns used here. */
function ignored(patterns: readonly string[], path: string): boolean {
  return patterns.some((p) => {
    const escaped = p.replace(/[.+?^${}()|[\]\\]/g, (c) => `\\${c}`);
    const re = new RegExp(`^${escaped.replace(/\*\*\//g, '\u0001').replace(/\*/g, '[^/]*').split('\u0001').join('(.*/)?')}(/.*)?$`);
    return re.test(path);
  });
}

/** The workspace folders of the root package.json (globs of the form `dir/*` or a plain folder). */
function workspaces(): string[] {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { workspaces: string[] };
  return pkg.workspaces.flatMap((w) =>
    w.endsWith('/*')
      ? readdirSync(join(ROOT, w.slice(0, -2))).map((d) => `${w.slice(0, -2)}/${d}`).filter((d) => existsSync(join(ROOT, d, 'package.json')))
      : [w],
  );
}

test('the ignore-file matcher of this test', () => {
  assert.ok(ignored(['**/node_modules'], 'apps/api/node_modules'));
  assert.ok(ignored(['**/node_modules'], 'node_modules'));
  assert.ok(ignored(['**/.next*'], 'apps/web/.next-main'));
  assert.ok(ignored(['data'], 'data/postgres'));
  assert.ok(!ignored(['prisma/src/generated'], 'prisma'));
  assert.ok(!ignored(['**/node_modules'], 'apps/api'));
});

test('compose.yaml: postgres, api, web and agent, with healthchecks, volumes and the order they start in', () => {
  assert.deepEqual(Object.keys(compose.services).sort(), ['agent', 'api', 'postgres', 'web']);
  for (const [name, s] of Object.entries(compose.services)) {
    assert.ok(s.healthcheck?.test, `${name} has a healthcheck`);
  }
  assert.match(compose.services.postgres?.image ?? '', /^postgres:\d+/);
  for (const [name, s] of Object.entries(compose.services)) {
    for (const v of s.volumes ?? []) {
      const source = v.split(':')[0] as string;
      if (!source.startsWith('.') && !source.startsWith('/')) assert.ok(source in compose.volumes, `${name}: volume ${source} is declared`);
    }
  }
  const api = compose.services.api as Service;
  assert.match(api.environment?.DATABASE_URL ?? '', /@postgres:5432\//, 'the API uses the postgres service, not an embedded server');
  assert.equal(api.depends_on?.postgres?.condition, 'service_healthy');
  assert.equal(compose.services.web?.depends_on?.api?.condition, 'service_healthy');
  assert.equal(compose.services.web?.build?.args?.MAILSCOPE_API_URL, 'http://api:3001', 'the web build is made for the api service');
  // The agent and the API share the token; the agent reaches the API on the host's loopback.
  const agent = compose.services.agent as Service;
  assert.equal(agent.network_mode, 'host');
  assert.deepEqual([...(agent.cap_add ?? [])].sort(), ['NET_ADMIN', 'NET_RAW', 'SYS_NICE']);
  assert.equal(agent.environment?.MAILSCOPE_AGENT_TOKEN, api.environment?.MAILSCOPE_AGENT_TOKEN);
  assert.ok(api.ports?.some((p) => p.startsWith('127.0.0.1:') && p.endsWith(':3001')), 'the API is published on the host loopback for the agent');
  assert.equal(agent.environment?.MAILSCOPE_API, 'http://127.0.0.1:${MAILSCOPE_API_PORT:-3001}');
});

const built = Object.entries(compose.services).filter((e): e is [string, Service & { build: NonNullable<Service['build']> }] => e[1].build !== undefined);

test('every service built here names a Dockerfile that exists', () => {
  assert.deepEqual(built.map(([n]) => n).sort(), ['agent', 'api', 'web']);
  for (const [name, s] of built) {
    const context = resolve(DOCKER, s.build.context);
    assert.equal(context, ROOT, `${name}: the build context is the repository`);
    assert.ok(existsSync(join(context, s.build.dockerfile)), `${name}: ${s.build.dockerfile} exists`);
  }
});

for (const [name, s] of built) {
  const dockerfile = join(ROOT, s.build.dockerfile);
  test(`${s.build.dockerfile}: every COPY source exists and is in the build context; workspaces all installed; user`, () => {
    const steps = instructions(readFileSync(dockerfile, 'utf8'));
    const ignoreFile = `${dockerfile}.dockerignore`;
    assert.ok(existsSync(ignoreFile), `${relative(ROOT, ignoreFile)} keeps node_modules and builds out of the context`);
    const patterns = readFileSync(ignoreFile, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
    assert.ok(patterns.includes('**/node_modules'));

    const copied: string[] = [];
    for (const step of steps.filter((i) => i.keyword === 'COPY' || i.keyword === 'ADD')) {
      assert.equal(step.keyword, 'COPY', `line ${step.line}: COPY, not ADD`);
      const { from, sources } = copySources(step.args);
      if (from) continue;
      assert.ok(sources.length > 0, `line ${step.line}: COPY has a source`);
      for (const src of sources) {
        assert.ok(!src.includes('..') && !src.startsWith('/'), `line ${step.line}: ${src} stays in the context`);
        assert.ok(existsSync(join(ROOT, src)), `line ${step.line}: COPY source ${src} exists`);
        assert.ok(!ignored(patterns, src.replace(/\/$/, '')), `line ${step.line}: COPY source ${src} is not excluded by the ignore file`);
        copied.push(src.replace(/\/$/, ''));
      }
    }
    // The install stage: npm ci needs the lockfile and every workspace's package.json.
    for (const f of ['package.json', 'package-lock.json', '.npmrc']) assert.ok(copied.includes(f), `${f} is copied`);
    for (const ws of workspaces()) assert.ok(copied.includes(`${ws}/package.json`), `the install stage copies ${ws}/package.json (npm ci fails without every workspace)`);
    assert.ok(steps.some((i) => i.keyword === 'RUN' && /\bnpm ci\b/.test(i.args)));
    // A workspace with a native addon is built by npm ci: its binding.gyp and sources must be there first.
    const install = steps.findIndex((i) => i.keyword === 'RUN' && /\bnpm ci\b/.test(i.args));
    const beforeInstall = steps.slice(0, install).filter((i) => i.keyword === 'COPY' && !copySources(i.args).from)
      .flatMap((i) => copySources(i.args).sources.map((src) => src.replace(/\/$/, '')));
    const has = (path: string): boolean => beforeInstall.some((c) => path === c || path.startsWith(`${c}/`));
    for (const ws of workspaces().filter((w) => existsSync(join(ROOT, w, 'binding.gyp')))) {
      const gyp = JSON.parse(readFileSync(join(ROOT, ws, 'binding.gyp'), 'utf8')) as { targets: { sources: string[] }[] };
      for (const file of ['binding.gyp', ...gyp.targets.flatMap((t) => t.sources)]) {
        assert.ok(has(`${ws}/${file}`), `${ws}/${file} is copied before npm ci builds the addon`);
      }
    }

    // The final stage's user: root only for the capture agent.
    const lastFrom = steps.map((i) => i.keyword).lastIndexOf('FROM');
    const users = steps.slice(lastFrom).filter((i) => i.keyword === 'USER').map((i) => i.args);
    if (name === 'agent') assert.deepEqual(users, [], 'the agent runs as root (libpcap needs raw sockets)');
    else assert.deepEqual(users, ['node'], `${name} runs as the unprivileged user node`);
    assert.ok(steps.slice(lastFrom).some((i) => i.keyword === 'CMD'), 'the image says how to start');
    // Shell-form-free start commands: signals reach node, not a shell.
    for (const i of steps.filter((x) => x.keyword === 'CMD' || x.keyword === 'ENTRYPOINT')) assert.ok(i.args.startsWith('['), `line ${i.line}: exec form`);
    assert.ok(statSync(dockerfile).size > 0);
  });
}
