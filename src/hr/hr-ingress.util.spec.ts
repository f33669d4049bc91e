import { QueryFailedError } from 'typeorm';
import { deeperThan, MAX_HR_JSON_DEPTH, parseBody, withoutParameters } from './hr-ingress.service.js';

const json = { 'content-type': 'application/json' };

describe('HR ingress body checks', () => {
  it('measures nesting iteratively, at any depth', () => {
    expect(deeperThan({ a: [{ b: 1 }] }, 3)).toBe(false);
    expect(deeperThan({ a: [{ b: {} }] }, 3)).toBe(true);
    expect(deeperThan(JSON.parse(`${'['.repeat(200_000)}${']'.repeat(200_000)}`), MAX_HR_JSON_DEPTH)).toBe(true);
  });

  it('refuses null, bare scalars and deep bodies with a reason; keeps objects, arrays and form fields', () => {
    expect(parseBody(json, Buffer.from('null'))).toEqual({ parseError: 'the body is not a JSON object or array' });
    expect(parseBody(json, Buffer.from('"x"'))).toEqual({ parseError: 'the body is not a JSON object or array' });
    expect(parseBody(json, Buffer.from(`${'{"a":'.repeat(65)}1${'}'.repeat(65)}`))).toEqual({ parseError: 'the body is nested deeper than 64 levels' });
    expect(parseBody(json, Buffer.from(`${'{"a":'.repeat(64)}1${'}'.repeat(64)}`)).parseError).toBeUndefined();
    expect(parseBody(json, Buffer.from('[{"id":1}]'))).toEqual({ payload: [{ id: 1 }] });
    expect(parseBody({ 'content-type': 'application/x-www-form-urlencoded' }, Buffer.from('id=7'))).toEqual({ payload: { id: '7' } });
  });

  it('drops the bound parameters (the raw payload) from a failed insert before it is logged', () => {
    const secret = '{"ssn":"078-05-1120"}';
    const e = new QueryFailedError('INSERT INTO "hr_event" VALUES (?, ?)', ['id', secret], Object.assign(new Error('NOT NULL constraint failed: hr_event.payload'), { code: 'SQLITE_CONSTRAINT' }));
    const safe = withoutParameters(e) as Error;
    expect(safe.message).toBe('storing the HR event failed: NOT NULL constraint failed: hr_event.payload (SQLITE_CONSTRAINT)');
    expect(JSON.stringify({ ...safe, message: safe.message, stack: safe.stack })).not.toContain('078-05-1120');
    expect((safe as unknown as { parameters?: unknown }).parameters).toBeUndefined();
    const other = new Error('x');
    expect(withoutParameters(other)).toBe(other);
  });
});
