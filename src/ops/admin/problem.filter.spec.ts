import type { ArgumentsHost } from '@nestjs/common';
import express from 'express';
import type { NextFunction, Request, Response } from 'express';
import request from 'supertest';
import { AdminProblemFilter } from './problem.filter.js';

/** The real body-parser (strict, as main.ts mounts it) in front of the admin problem filter. */
function app(): express.Express {
  const a = express();
  a.use(express.json({ type: ['application/json'] }));
  a.post('/admin/x', (_req, res) => { res.json({ ok: true }); });
  const filter = new AdminProblemFilter();
  a.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const host = { switchToHttp: () => ({ getRequest: () => req, getResponse: () => res }) } as unknown as ArgumentsHost;
    filter.catch(err, host);
  });
  return a;
}

describe(AdminProblemFilter.name, () => {
  it.each<[string, string, string]>([
    ['JSON null', 'null', 'Request body must be a JSON object'],
    ['a JSON string', '"x"', 'Request body must be a JSON object'],
    ['a JSON number', '42', 'Request body must be a JSON object'],
    ['broken JSON', '{"mode": ', 'Request body is not valid JSON'],
    ['a bare word', 'x', 'Request body is not valid JSON'],
  ])('should answer %s with 400 and a detail that says what is wrong', async (_name, body, detail) => {
    const r = await request(app()).post('/admin/x').set('Content-Type', 'application/json').send(body);
    expect(r.status).toBe(400);
    expect(r.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(JSON.parse(r.text)).toMatchObject({ status: 400, detail, instance: '/admin/x' });
  });

  it('should let a JSON object through', async () => {
    const r = await request(app()).post('/admin/x').set('Content-Type', 'application/json').send('{"a":1}');
    expect(r.status).toBe(200);
  });
});
