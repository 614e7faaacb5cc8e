import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compilePathRewrite } from '../../../ts/engines/http/path-rewrite.js';
import { compilePathPattern } from '../../../ts/routing/index.js';

test('path rewrite templates from the route match (table)', () => {
  const cases: Array<[string, string, string, string]> = [
    // route pattern, template, request path, rewritten
    ['/api/*', '/v2{remainder}', '/api/users/7', '/v2/users/7'],
    ['/api/*', '/v2{remainder}', '/api', '/v2'],
    ['/api/*', '/v2{remainder}', '/api/', '/v2/'],
    ['/api/*', '/{remainder}', '/api/x', '/x'],
    ['/api/*', '{remainder}', '/api', '/'],
    ['/users/:id', '/people/{id}', '/users/42', '/people/42'],
    ['/users/:id', '/people/{id}', '/users/a%20b', '/people/a%20b'],
    ['/users/:id/files/*', '/f/{id}{remainder}', '/users/9/files/a/b', '/f/9/a/b'],
    ['/static/*', '/cdn{path}', '/static/app.js', '/cdn/static/app.js'],
    ['/exact', '/other', '/exact', '/other'],
  ];
  for (const [pattern, template, path, want] of cases) {
    const m = compilePathPattern(pattern).match(path);
    assert.ok(m, `${pattern} should match ${path}`);
    assert.equal(compilePathRewrite(template).render(path, m.remainder, m.params), want, `${pattern} ${template} ${path}`);
  }
});
