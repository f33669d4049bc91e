import { CORE_SCHEMAS as CORE } from '../../src/scim/schema/schema-registry.js';
import { Harness } from '../utils/harness.js';

/**
 * Mutability matrix (RFC 7643 §7, RFC 7644 §3.5.2), in the spirit of scim2-tester: the rows are
 * GENERATED from the live `/Schemas` response, one per (attribute or sub-attribute, PATCH op), for
 * User (core + enterprise) and Group. Each row builds a PATCH with a valid value of the attribute's
 * type and asserts the outcome its `mutability` promises:
 * - readOnly  → 400 mutability;
 * - immutable → settable while unassigned, 400 mutability when an assigned value would change;
 * - writeOnly → accepted, never returned;
 * - readWrite → accepted; add/replace readable back (unless `returned: never`); remove → absent.
 * Required attributes (User userName, Group displayName): remove → 400 invalidValue, as PUT without them.
 * The schemas are fetched synchronously at collection time (jest's it.each needs the rows up front)
 * from the schema data the server renders as they are; the test then checks that the live
 * `/Schemas` response is exactly that data, so the rows are the live response's.
 */

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const ENT = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

interface Attr {
  name: string; type: string; multiValued: boolean; required: boolean; mutability: string; returned: string;
  canonicalValues?: string[]; subAttributes?: Attr[];
}
type Op = 'add' | 'replace' | 'remove';
interface Row { label: string; resource: 'User' | 'Group'; urn?: string; attr: Attr; sub?: Attr; op: Op }

const CORE_SCHEMAS = CORE as unknown as ReadonlyArray<{ id: string; attributes: Attr[] }>;

function schemaRows(): Row[] {
  const rows: Row[] = [];
  const plan: Array<['User' | 'Group', string, string | undefined]> = [['User', USER, undefined], ['User', ENT, ENT], ['Group', GROUP, undefined]];
  for (const [resource, id, urn] of plan) {
    const schema = CORE_SCHEMAS.find(s => s.id === id);
    if (!schema) throw new Error(`schema ${id} missing`);
    for (const attr of schema.attributes) {
      for (const op of ['add', 'replace', 'remove'] as Op[]) {
        const prefix = `${resource} ${urn ? 'enterprise:' : ''}`;
        rows.push({ label: `${prefix}${attr.name} ${op}`, resource, urn, attr, op });
        for (const sub of attr.subAttributes ?? []) rows.push({ label: `${prefix}${attr.name}.${sub.name} ${op}`, resource, urn, attr, sub, op });
      }
    }
  }
  return rows;
}

const ROWS = schemaRows();
const patch = (...Operations: unknown[]) => ({ schemas: [PATCH_OP], Operations });
let seq = 0;

/** A valid value of the attribute's type; `variant` makes a second, different value. */
function sample(a: Attr, variant = 0): unknown {
  const one = (): unknown => {
    switch (a.type) {
      case 'boolean': return variant % 2 === 0;
      case 'dateTime': return `202${variant}-01-02T03:04:05Z`;
      case 'reference': return `https://example.com/${a.name}/${variant}`;
      case 'binary': return variant ? 'QUJDRA==' : 'TUlJQg==';
      case 'integer': return 7 + variant;
      case 'decimal': return 1.5 + variant;
      case 'complex': return Object.fromEntries((a.subAttributes ?? []).filter(s => s.mutability !== 'readOnly').map(s => [s.name, sample(s, variant)]));
      default: return a.canonicalValues?.length ? a.canonicalValues[variant % a.canonicalValues.length] : `${a.name}-${variant}-${++seq}`;
    }
  };
  return a.multiValued ? [one()] : one();
}

/** The key a filter on a multi-valued complex attribute's element uses (never the sub-attribute itself). */
function filterKey(a: Attr, sub: Attr): string {
  const key = ['value', 'type', 'formatted', 'display'].find(k => k !== sub.name && a.subAttributes?.some(s => s.name === k));
  if (!key) throw new Error(`no filter key for ${a.name}.${sub.name}`);
  return key;
}

function get(obj: any, key: string): any {
  if (!obj || typeof obj !== 'object') return undefined;
  const k = Object.keys(obj).find(x => x.toLowerCase() === key.toLowerCase());
  return k === undefined ? undefined : obj[k];
}

describe('mutability matrix (sqlite)', () => {
  let h: Harness;
  let memberId: string;
  let otherMemberId: string;

  beforeAll(async () => {
    h = await Harness.start({ db: 'sqlite' });
    memberId = (await h.scim('POST', '/Users', { schemas: [USER], userName: `member-a-${Date.now()}` })).body.id;
    otherMemberId = (await h.scim('POST', '/Users', { schemas: [USER], userName: `member-b-${Date.now()}` })).body.id;
  }, 60_000);

  afterAll(async () => {
    await h?.close();
  });

  it('the rows come from the live /Schemas response', async () => {
    const r = await h.scim('GET', '/Schemas');
    expect(r.status).toBe(200);
    for (const id of [USER, ENT, GROUP]) {
      const live = r.body.Resources.find((s: { id: string }) => s.id === id);
      const local = CORE_SCHEMAS.find(s => s.id === id)!;
      expect(live.attributes.map((a: Attr) => [a.name, a.mutability, a.returned, a.required, (a.subAttributes ?? []).map(s => [s.name, s.mutability])]))
        .toEqual(local.attributes.map(a => [a.name, a.mutability, a.returned, a.required, (a.subAttributes ?? []).map(s => [s.name, s.mutability])]));
    }
    expect(ROWS.length).toBeGreaterThan(100);
  });

  async function create(resource: 'User' | 'Group'): Promise<string> {
    const body = resource === 'User' ? { schemas: [USER], userName: `mx-${Date.now()}-${++seq}` } : { schemas: [GROUP], displayName: `mx-${Date.now()}-${++seq}` };
    const r = await h.scim('POST', `/${resource}s`, body);
    expect(r.status).toBe(201);
    return r.body.id;
  }

  async function doPatch(resource: string, id: string, ...ops: unknown[]) {
    return h.scim('PATCH', `/${resource}s/${id}`, patch(...ops));
  }

  async function read(resource: string, id: string): Promise<any> {
    const r = await h.scim('GET', `/${resource}s/${id}`);
    expect(r.status).toBe(200);
    return r.body;
  }

  const ok = (status: number) => expect([200, 204]).toContain(status);
  const scimError = (r: { status: number; body: any }, scimType: string) => {
    expect(r.status).toBe(400);
    expect(r.body.scimType).toBe(scimType);
  };

  it.each(ROWS.map(r => [r.label, r] as const))('%s', async (_label, row) => {
    const { resource, urn, attr, sub, op } = row;
    const id = await create(resource);
    const full = (p: string) => (urn ? `${urn}:${p}` : p);
    const container = (doc: any) => (urn ? get(doc, urn) : doc);
    const def = sub ?? attr;
    const readOnly = attr.mutability === 'readOnly' || def.mutability === 'readOnly';

    // Group members: readWrite as a whole; each member's sub-attributes are immutable (RFC 7643 §8.7.1).
    if (resource === 'Group' && attr.name === 'members') {
      if (!sub) {
        if (op === 'remove') await doPatch('Group', id, { op: 'add', path: 'members', value: [{ value: memberId }] });
        const r = await doPatch('Group', id, op === 'remove' ? { op, path: 'members' } : { op, path: 'members', value: [{ value: memberId, type: 'User' }] });
        ok(r.status);
        const members = (await read('Group', id)).members ?? [];
        expect(members.map((m: any) => m.value)).toEqual(op === 'remove' ? [] : [memberId]);
        return;
      }
      // Unassigned: a new member may carry the sub-attribute.
      const add = await doPatch('Group', id, { op: 'add', path: 'members', value: [{ value: memberId, type: 'User' }] });
      ok(add.status);
      // Assigned: changing or removing it is a mutability error.
      const value = sub.name === 'value' ? otherMemberId : sub.name === 'type' ? 'Group' : sample(sub, 1);
      const r = await doPatch('Group', id, op === 'remove' ? { op, path: `members[value eq "${memberId}"].${sub.name}` } : { op, path: `members[value eq "${memberId}"].${sub.name}`, value });
      scimError(r, 'mutability');
      expect(((await read('Group', id)).members ?? []).map((m: any) => m.value)).toEqual([memberId]);
      return;
    }

    // Build the path, the value and, where the op needs one, a seed that assigns the attribute first.
    let path: string;
    let value: unknown;
    let seed: unknown;
    let readBack: (doc: any) => unknown;
    if (sub && attr.multiValued) {
      const key = filterKey(attr, sub);
      const element = sample(attr, 0) as unknown[];
      const el = element[0] as Record<string, unknown>;
      const keyValue = el[key] ?? `${key}-x`;
      path = full(`${attr.name}[${key} eq ${JSON.stringify(keyValue)}].${sub.name}`);
      value = sample(sub, 1);
      seed = { op: 'add', path: full(attr.name), value: element };
      readBack = doc => get((get(container(doc), attr.name) ?? []).find((e: any) => get(e, key) === keyValue), sub.name);
    } else if (sub) {
      path = full(`${attr.name}.${sub.name}`);
      value = sample(sub, 1);
      seed = { op: 'add', path: full(attr.name), value: sample(attr, 0) };
      readBack = doc => get(get(container(doc), attr.name), sub.name);
    } else {
      path = full(attr.name);
      value = sample(attr, 1);
      seed = { op: 'add', path: full(attr.name), value: sample(attr, 0) };
      readBack = doc => get(container(doc), attr.name);
    }
    if (!readOnly && (op === 'remove' || (sub && attr.multiValued))) {
      const s = await doPatch(resource, id, seed);
      ok(s.status);
    }
    const operation = op === 'remove' ? { op, path } : { op, path, value };
    const r = await doPatch(resource, id, operation);

    if (readOnly) return scimError(r, 'mutability');
    if (def.required && op === 'remove') {
      scimError(r, 'invalidValue');
      expect(readBack(await read(resource, id))).toBeDefined();
      return;
    }
    if (def.mutability === 'writeOnly' || def.returned === 'never') {
      ok(r.status);
      if (r.body) expect(readBack(r.body)).toBeUndefined();
      expect(readBack(await read(resource, id))).toBeUndefined();
      return;
    }
    if (def.mutability === 'immutable') throw new Error(`no immutable ${row.label} expected outside Group members`);
    expect(def.mutability).toBe('readWrite');
    ok(r.status);
    const doc = await read(resource, id);
    if (op === 'remove') { expect(readBack(doc)).toBeUndefined(); return; }
    const got = readBack(doc);
    if (Array.isArray(value)) expect(got).toEqual(expect.arrayContaining(value.map(v => (typeof v === 'object' ? expect.objectContaining(v as object) : v))));
    else if (value && typeof value === 'object') expect(got).toEqual(expect.objectContaining(value));
    else expect(got).toEqual(value);
  });
});
