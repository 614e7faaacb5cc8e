/**
 * Regression tests for parser bugs found by the property/fuzz tests in test/fuzz/.
 * Each test names the property that found it and the shrunk input.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { sniffHttpRequest, parseResponseHead } from '../../ts/protocol/http-head.js';
import { BodyTracker, requestFraming, responseFraming } from '../../ts/protocol/http-framing.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');
const NBSP = '\u00a0';

describe('fuzz regression: header values are trimmed of OWS (SP/HTAB) only, not NBSP', () => {
  // Found by "http request vs llhttp": llhttp kept the 0xa0 bytes the sniffer dropped, because
  // String#trim also strips U+00A0 (a latin1-decoded 0xa0 byte).
  test('request header value keeps a leading/trailing 0xa0', () => {
    const r = sniffHttpRequest(b(`GET / HTTP/1.1\r\nHost: a\r\nX:${NBSP}v${NBSP} \r\n\r\n`));
    assert.equal(r.kind, 'ok');
    if (r.kind === 'ok') assert.deepEqual(r.headers, ['Host', 'a', 'X', `${NBSP}v${NBSP}`]);
  });

  test('Host with a 0xa0 is not read as the bare name (routing must see what the backend sees): it is refused', () => {
    const r = sniffHttpRequest(b(`GET / HTTP/1.1\r\nHost: ${NBSP}evil.example\r\n\r\n`));
    assert.deepEqual(r, { kind: 'invalid', reason: 'invalid Host header' });
  });

  test('response header value keeps a 0xa0; SP and HTAB are still trimmed', () => {
    const r = parseResponseHead(b(`HTTP/1.1 200 OK\r\nA: \t${NBSP}x\t \r\nB:  y \r\n\r\n`));
    assert.equal(r.kind, 'ok');
    if (r.kind === 'ok') assert.deepEqual(r.headers, ['A', `${NBSP}x`, 'B', 'y']);
  });

  test('"Transfer-Encoding: chunked<0xa0>" is not chunked', () => {
    assert.equal(requestFraming(['Transfer-Encoding', `chunked${NBSP}`]).kind, 'error');
    assert.equal(responseFraming(200, 'GET', ['Transfer-Encoding', `chunked${NBSP}`]).kind, 'close');
    assert.equal(requestFraming(['Transfer-Encoding', 'gzip, chunked\t']).kind, 'chunked');
  });

  test('"Content-Length: <0xa0>5" is not the length 5', () => {
    assert.equal(requestFraming(['Content-Length', `${NBSP}5`]).kind, 'error');
    assert.equal(requestFraming(['Content-Length', `5,${NBSP}5`]).kind, 'error');
    assert.deepEqual(requestFraming(['Content-Length', '5, \t5']), { kind: 'length', length: 5 });
  });

  test('end to end: the framing of a sniffed head', () => {
    const r = sniffHttpRequest(b(`POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5${NBSP}\r\n\r\nhello`));
    assert.equal(r.kind, 'ok');
    if (r.kind === 'ok') assert.equal(requestFraming(r.headers).kind, 'error');
    const t = new BodyTracker({ kind: 'chunked' });
    assert.equal(t.advance(b('0\r\n\r\n'), 0), 5);
  });
});

describe("fuzz regression: an absolute-form authority ends at '#'", () => {
  // Found by the 8x soak of "http request vs llhttp" (input 'https://u:p@[00:#00:...]:10000'),
  // then pinned by the WHATWG-URL host check: the authority was cut at the first '/' or '?' only,
  // so an '@' after a '#' was read as the end of userinfo and the host came from the fragment.
  test('GET http://good.example#@evil.example/ never routes to evil.example: a fragment right after the authority is refused', () => {
    const target = 'http://good.example#@evil.example/';
    const r = sniffHttpRequest(b(`GET ${target} HTTP/1.1\r\nHost: good.example\r\n\r\n`));
    assert.deepEqual(r, { kind: 'invalid', reason: 'fragment after the authority' });
    const p = sniffHttpRequest(b('GET http://good.example/x#@evil.example/ HTTP/1.1\r\nHost: good.example\r\n\r\n'));
    assert.equal(p.kind === 'ok' && p.host, new URL('http://good.example/x#@evil.example/').host);
  });

  test('port kept, fragment after a path stays in the path (as sent)', () => {
    const r = sniffHttpRequest(b('GET http://a.example:8080/#x HTTP/1.1\r\nHost: a.example:8080\r\n\r\n'));
    assert.equal(r.kind === 'ok' && `${r.host} ${r.path}`, 'a.example:8080 /#x');
    const s = sniffHttpRequest(b('GET http://a.example/p?q#@b HTTP/1.1\r\nHost: a.example\r\n\r\n'));
    assert.equal(s.kind === 'ok' && `${s.host} ${s.path}`, 'a.example /p?q#@b');
  });

  test('userinfo is refused (RFC 9110 4.2.4); a fragment is not part of the host', () => {
    assert.deepEqual(sniffHttpRequest(b('GET http://u:p@a.example#f HTTP/1.1\r\nHost: a.example\r\n\r\n')), { kind: 'invalid', reason: 'userinfo in the request target' });
    const r = sniffHttpRequest(b('GET http://a.example/#f@x HTTP/1.1\r\nHost: a.example\r\n\r\n'));
    assert.equal(r.kind === 'ok' && r.host, 'a.example');
  });
});
