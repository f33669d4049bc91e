import { BulkNode, BulkPlan, planBulk } from './bulk-order.util.js';

const post = (defines: string, ...refs: string[]): BulkNode => ({ defines, refs });
const other = (...refs: string[]): BulkNode => ({ refs });

describe('planBulk', () => {
  it.each<[string, BulkNode[], BulkPlan]>([
    ['request order when nothing refers to anything', [post('a'), post('b'), other()], { order: [0, 1, 2], blocked: [] }],
    ['a forward reference: the group first, its members after', [post('g', 'u1', 'u2'), post('u1'), post('u2')], { order: [1, 2, 0], blocked: [] }],
    ['a PATCH of a bulk-created group after its POST', [other('g'), post('g')], { order: [1, 0], blocked: [] }],
    ['a chain in reverse', [post('c', 'b'), post('b', 'a'), post('a')], { order: [2, 1, 0], blocked: [] }],
    ['unknown references as if absent', [post('a', 'nowhere'), other('missing')], { order: [0, 1], blocked: [] }],
    ['a self-reference as a cycle', [post('a', 'a'), post('b')], { order: [1], blocked: [{ index: 0, reason: 'cycle' }] }],
    ['a two-operation cycle', [post('a', 'b'), post('b', 'a'), post('c')], { order: [2], blocked: [{ index: 0, reason: 'cycle' }, { index: 1, reason: 'cycle' }] }],
    ['a dependant of a cycle apart from the cycle', [other('a'), post('a', 'b'), post('b', 'a')], {
      order: [], blocked: [{ index: 0, reason: 'dependsOnCycle' }, { index: 1, reason: 'cycle' }, { index: 2, reason: 'cycle' }],
    }],
    ['a three-operation cycle with independent work', [post('x'), post('a', 'c'), post('b', 'a'), post('c', 'b'), other('x')], {
      order: [0, 4], blocked: [{ index: 1, reason: 'cycle' }, { index: 2, reason: 'cycle' }, { index: 3, reason: 'cycle' }],
    }],
  ])('should give %s', (_, nodes, expected) => {
    expect(planBulk(nodes)).toEqual(expected);
  });

  it('should order 1000 operations referring backwards in a long chain', () => {
    const nodes = Array.from({ length: 1000 }, (_, i) => (i === 999 ? post(`n${i}`) : post(`n${i}`, `n${i + 1}`)));
    const plan = planBulk(nodes);
    expect(plan.order).toEqual(Array.from({ length: 1000 }, (_, i) => 999 - i));
    expect(plan.blocked).toEqual([]);
  });
});
