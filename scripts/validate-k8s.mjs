#!/usr/bin/env node
// Offline check of Kubernetes manifests: no cluster, no kubectl (stack-notes §6).
// Usage: node scripts/validate-k8s.mjs k8s/*.yaml   (exit 1 on any problem)
//
// 1. Schema: each document goes through kubernetes-models' precompiled validator for its apiVersion/kind;
//    an unknown apiVersion/kind is a failure.
// 2. Unknown fields (which those validators let through): each document is type-checked as an object
//    literal of the model's TypeScript interface, so a typo like `replica:` is an excess-property error.
// 3. References the schema can't see: selectors against pod labels, Services and probes against named
//    ports, ConfigMaps and Secrets that pods use, files listed in kustomization.yaml.
// 4. An embedded switchboard.yaml goes through the app's own config validator when dist/ is built.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, resolve } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { loadApp } from './lib/load-app.mjs';

const require = createRequire(import.meta.url);
const root = resolve(dirname(new URL(import.meta.url).pathname), '..');

const files = process.argv.slice(2);
if (!files.length) { console.error('usage: validate-k8s.mjs <manifest.yaml>…'); process.exit(2); }

/** Problems per "file kind/name" label, printed at the end. */
const problems = new Map();
const report = (where, msg) => problems.set(where, [...(problems.get(where) ?? []), msg]);

const objects = []; // { file, where, doc }
const kustomizations = []; // { file, doc }
for (const file of files) {
  let docs;
  try {
    docs = parseAllDocuments(readFileSync(file, 'utf8'), { prettyErrors: true });
  } catch (e) { report(file, e.message); continue; }
  for (const [i, d] of docs.entries()) {
    if (d.errors.length) { d.errors.forEach(e => report(`${file}#${i}`, e.message.split('\n')[0])); continue; }
    const doc = d.toJS();
    if (doc === null || doc === undefined) continue;
    if (/^kustomize\.config\.k8s\.io\//.test(doc.apiVersion ?? '')) { kustomizations.push({ file, doc }); continue; }
    objects.push({ file, where: `${file} ${doc.kind ?? '?'}/${doc.metadata?.name ?? `#${i}`}`, doc });
  }
}

// 1. Schema validation with kubernetes-models.
/** "data/spec/ports/0/port must be integer" -> "spec.ports[0].port: must be integer", as step 2 prints paths. */
const ajvPath = line => line.replace(/^data\/(\S+) /, (_, p) => `${p.replace(/\/(\d+)(?=\/|$)/g, '[$1]').replaceAll('/', '.')}: `);
const models = new Map(); // apiVersion/kind -> module path, for step 2
for (const { where, doc } of objects) {
  if (typeof doc.apiVersion !== 'string' || typeof doc.kind !== 'string') { report(where, 'needs apiVersion and kind'); continue; }
  let mod;
  try { mod = await import(`kubernetes-models/${doc.apiVersion}`); } catch { mod = {}; }
  if (typeof mod[doc.kind] !== 'function') { report(where, `unknown apiVersion/kind ${doc.apiVersion} ${doc.kind}`); continue; }
  models.set(`${doc.apiVersion}/${doc.kind}`, `kubernetes-models/${doc.apiVersion}/${doc.kind}`);
  try {
    new mod[doc.kind](doc).validate();
  } catch (e) {
    for (const line of String(e.message).split(/\n|, (?=data\/)/).filter(Boolean)) report(where, ajvPath(line.trim()));
  }
}

// 2. Unknown fields: one virtual TypeScript module. Every nested object of a document becomes its own typed
//    statement per key (children stubbed with `null!`), so the compiler reports every unknown key.
{
  const ts = require('typescript');
  const virtual = resolve(root, '__validate_k8s__.mts');
  const checked = objects.filter(o => models.has(`${o.doc.apiVersion}/${o.doc.kind}`));
  const lines = [
    'type At<T, K extends string> = K extends keyof NonNullable<T> ? NonNullable<NonNullable<T>[K]> : unknown;',
    'type El<T> = NonNullable<T> extends readonly (infer E)[] ? NonNullable<E> : unknown;',
    ...checked.map(({ doc }, i) => `import type { I${doc.kind} as T${i} } from ${JSON.stringify(models.get(`${doc.apiVersion}/${doc.kind}`))};`),
  ];
  const owners = []; // line number -> { where, path }
  const isObj = v => v !== null && typeof v === 'object' && !Array.isArray(v);
  const nested = v => isObj(v) || (Array.isArray(v) && v.some(x => isObj(x) || Array.isArray(x)));
  const emit = (where, value, type, path) => {
    if (Array.isArray(value)) { value.forEach((x, j) => nested(x) && emit(where, x, `El<${type}>`, `${path}[${j}]`)); return; }
    for (const [k, v] of Object.entries(value)) {
      // One key per statement: TypeScript reports only the first unknown key of an object literal.
      owners[lines.length] = { where, path: path ? `${path}.${k}` : k };
      lines.push(`export const v${lines.length}: Partial<${type}> = { ${JSON.stringify(k)}: ${nested(v) ? 'null!' : JSON.stringify(v)} };`);
      if (nested(v)) emit(where, v, `At<${type}, ${JSON.stringify(k)}>`, path ? `${path}.${k}` : k);
    }
  };
  checked.forEach(({ where, doc }, i) => emit(where, doc, `T${i}`, ''));
  const source = lines.join('\n');
  const options = { strict: true, noEmit: true, skipLibCheck: true, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022, types: [] };
  const host = ts.createCompilerHost(options);
  const { getSourceFile, fileExists, readFile } = host;
  host.getSourceFile = (f, lang, ...rest) => (f === virtual ? ts.createSourceFile(f, source, lang) : getSourceFile.call(host, f, lang, ...rest));
  host.fileExists = f => f === virtual || fileExists.call(host, f);
  host.readFile = f => (f === virtual ? source : readFile.call(host, f));
  const program = ts.createProgram([virtual], options, host);
  for (const diag of ts.getPreEmitDiagnostics(program)) {
    const text = ts.flattenDiagnosticMessageText(diag.messageText, ' ');
    const owner = diag.file?.fileName === virtual ? owners[diag.file.getLineAndCharacterOfPosition(diag.start).line] : undefined;
    if (!owner) { report('typescript', text); continue; }
    // Wrong types and enum values are step 1's to report; here only keys the model doesn't know (TS2353, TS2561).
    if (diag.code !== 2353 && diag.code !== 2561) continue;
    const hint = /Did you mean to write '([^']+)'/.exec(text);
    report(owner.where, `${owner.path}: unknown field${hint ? ` (did you mean "${hint[1]}"?)` : ''}`);
  }
}

// 3. Cross-references.
const byKind = kind => objects.filter(o => o.doc.kind === kind);
const podOwners = objects.filter(o => ['Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob'].includes(o.doc.kind))
  .map(o => ({ ...o, pod: o.doc.kind === 'CronJob' ? o.doc.spec?.jobTemplate?.spec?.template : o.doc.spec?.template }));
const subset = (sel, labels) => Object.entries(sel ?? {}).every(([k, v]) => labels?.[k] === v);
const names = kind => new Set(byKind(kind).map(o => o.doc.metadata?.name));
const configMaps = names('ConfigMap');
const secrets = names('Secret');
const seen = new Set();
for (const { where, doc } of objects) {
  const id = `${doc.apiVersion}/${doc.kind}/${doc.metadata?.name}`;
  if (seen.has(id)) report(where, 'defined twice');
  seen.add(id);
}
for (const { where, doc, pod } of podOwners) {
  const labels = pod?.metadata?.labels;
  if (doc.spec?.selector?.matchLabels && !subset(doc.spec.selector.matchLabels, labels)) {
    report(where, 'spec.selector.matchLabels does not match the pod template labels');
  }
  for (const c of [...(pod?.spec?.initContainers ?? []), ...(pod?.spec?.containers ?? [])]) {
    const ports = new Set((c.ports ?? []).map(p => p.name).filter(Boolean));
    for (const probe of ['readinessProbe', 'livenessProbe', 'startupProbe']) {
      const port = c[probe]?.httpGet?.port ?? c[probe]?.tcpSocket?.port ?? c[probe]?.grpc?.port;
      if (typeof port === 'string' && !ports.has(port)) report(where, `container ${c.name} ${probe}: no port named "${port}"`);
    }
    for (const ref of c.envFrom ?? []) {
      if (ref.configMapRef && !ref.configMapRef.optional && !configMaps.has(ref.configMapRef.name)) report(where, `container ${c.name} envFrom: no ConfigMap "${ref.configMapRef.name}"`);
      if (ref.secretRef && !ref.secretRef.optional && !secrets.has(ref.secretRef.name)) report(where, `container ${c.name} envFrom: no Secret "${ref.secretRef.name}"`);
    }
    for (const e of c.env ?? []) {
      const cm = e.valueFrom?.configMapKeyRef;
      const sec = e.valueFrom?.secretKeyRef;
      if (cm && !cm.optional && !configMaps.has(cm.name)) report(where, `env ${e.name}: no ConfigMap "${cm.name}"`);
      if (sec && !sec.optional && !secrets.has(sec.name)) report(where, `env ${e.name}: no Secret "${sec.name}"`);
    }
    const volumes = new Set((pod.spec.volumes ?? []).map(v => v.name));
    for (const m of c.volumeMounts ?? []) if (!volumes.has(m.name)) report(where, `container ${c.name}: volumeMount "${m.name}" has no volume`);
  }
  for (const v of pod?.spec?.volumes ?? []) {
    if (v.configMap && !v.configMap.optional && !configMaps.has(v.configMap.name)) report(where, `volume ${v.name}: no ConfigMap "${v.configMap.name}"`);
    if (v.secret && !v.secret.optional && !secrets.has(v.secret.secretName)) report(where, `volume ${v.name}: no Secret "${v.secret.secretName}"`);
  }
}
for (const { where, doc } of byKind('Service')) {
  if (!doc.spec?.selector) continue;
  const matched = podOwners.filter(o => subset(doc.spec.selector, o.pod?.metadata?.labels));
  if (!matched.length) { report(where, 'selector matches no pod template here'); continue; }
  const portNames = new Set(matched.flatMap(o => (o.pod.spec?.containers ?? []).flatMap(c => (c.ports ?? []).map(p => p.name))));
  for (const p of doc.spec.ports ?? []) {
    if (typeof p.targetPort === 'string' && !portNames.has(p.targetPort)) report(where, `port ${p.name ?? p.port}: targetPort "${p.targetPort}" is not a named container port`);
  }
}
for (const { where, doc } of byKind('PodDisruptionBudget')) {
  if (!podOwners.some(o => subset(doc.spec?.selector?.matchLabels, o.pod?.metadata?.labels))) report(where, 'selector matches no pod template here');
}
for (const { file, doc } of kustomizations) {
  const dir = dirname(resolve(file));
  const listed = new Set((doc.resources ?? []).map(r => resolve(dir, r)));
  for (const r of doc.resources ?? []) if (!existsSync(resolve(dir, r))) report(file, `resources: ${r} not found`);
  for (const f of files) {
    if (dirname(resolve(f)) === dir && resolve(f) !== resolve(file) && !listed.has(resolve(f))) report(file, `resources: ${basename(f)} is not listed`);
  }
}

// 4. Embedded YAML files parse; switchboard.yaml also passes the app's own validator once dist/ is built.
const appConfig = resolve(root, 'dist/src/config/app-config.js');
const app = loadApp(appConfig);
let appChecked = 0;
for (const { where, doc } of byKind('ConfigMap')) {
  for (const [key, text] of Object.entries(doc.data ?? {})) {
    if (!/\.ya?ml$/.test(key)) continue;
    let parsed;
    try { parsed = parse(text); } catch (e) { report(where, `${key}: not valid YAML: ${e.message.split('\n')[0]}`); continue; }
    if (key === 'switchboard.yaml' && app?.buildAppConfig) {
      appChecked++;
      try { app.buildAppConfig(parsed, { configPath: key }); } catch (e) { for (const p of e.problems ?? [e.message]) report(where, `${key}: ${p}`); }
    }
  }
}

for (const [where, msgs] of problems) {
  console.error(`FAIL ${where}`);
  for (const m of msgs) console.error(`  - ${m}`);
}
const note = app?.buildAppConfig ? `, ${appChecked} switchboard.yaml checked by the app` : ', switchboard.yaml: YAML only (run npm run build for the app check)';
(problems.size ? console.error : console.log)(`${problems.size ? 'FAILED' : 'ok  '} ${objects.length} objects in ${files.length} files (kubernetes-models schema + unknown fields + references${note})`);
process.exit(problems.size ? 1 : 0);
