import { ResourceTypeName } from '../../scim/scim.constants.js';
import { PushTrace } from '../push-trace.js';
import { PatchOperation, ScimClient, ScimObject, ScimResponse } from '../scim-client.js';
import { TargetError } from '../target.error.js';

function endpoint(type: ResourceTypeName): string {
  return type === 'User' ? '/Users' : '/Groups';
}

/**
 * The calls a push makes, through the target's ScimClient, each recorded in the push's trace with
 * method, path (relative to the base URL), status and duration — failures included.
 */
export class TracedClient {
  constructor(readonly client: ScimClient, private readonly trace: PushTrace) {}

  create(type: ResourceTypeName, body: ScimObject): Promise<ScimResponse<ScimObject | undefined>> {
    return this.call('POST', endpoint(type), () => this.client.create(type, body));
  }

  get(type: ResourceTypeName, id: string): Promise<ScimResponse<ScimObject | undefined>> {
    return this.call('GET', `${endpoint(type)}/${id}`, () => this.client.get(type, id));
  }

  replace(type: ResourceTypeName, id: string, body: ScimObject): Promise<ScimResponse<ScimObject | undefined>> {
    return this.call('PUT', `${endpoint(type)}/${id}`, () => this.client.replace(type, id, body));
  }

  patch(type: ResourceTypeName, id: string, ops: PatchOperation[]): Promise<ScimResponse<ScimObject | undefined>> {
    return this.call('PATCH', `${endpoint(type)}/${id}`, () => this.client.patch(type, id, ops));
  }

  delete(type: ResourceTypeName, id: string): Promise<ScimResponse<undefined>> {
    return this.call('DELETE', `${endpoint(type)}/${id}`, () => this.client.delete(type, id));
  }

  findOne(type: ResourceTypeName, filter: string): Promise<ScimResponse<ScimObject[]>> {
    return this.call('GET', `${endpoint(type)}?filter=${encodeURIComponent(filter)}&count=2`, () => this.client.findOne(type, filter));
  }

  listPage(type: ResourceTypeName, startIndex: number, count: number): Promise<ScimResponse<{ resources: ScimObject[]; totalResults?: number }>> {
    return this.call('GET', `${endpoint(type)}?startIndex=${startIndex}&count=${count}`, () => this.client.listPage(type, startIndex, count));
  }

  private async call<T extends { status: number; durationMs: number }>(method: string, path: string, run: () => Promise<T>): Promise<T> {
    try {
      const r = await run();
      this.trace.http({ method, path, status: r.status, durationMs: r.durationMs });
      return r;
    } catch (e) {
      const te = e instanceof TargetError ? e : undefined;
      this.trace.http({ method, path, status: te?.status, durationMs: te?.durationMs ?? 0, error: te ? te.summary : (e as Error).name });
      throw e;
    }
  }
}
