import { test } from 'node:test';
import assert from 'node:assert/strict';
import { judgeRequest, type PolicyHead } from '../../ts/protocol/request-policy.js';
import { sniffHttpRequest, refusalStatus } from '../../ts/protocol/http-head.js';

const head = (method: string, httpVersion: '1.0' | '1.1', ...headers: string[]): PolicyHead => ({ method, httpVersion, headers });

test('request policy: framing and local answers (RFC 9112 6, RFC 9110 10.1.1), one row per rule', () => {
  const rows: Array<[string, PolicyHead, string]> = [
    ['no body', head('GET', '1.1'), 'ok none -'],
    ['Content-Length', head('POST', '1.1', 'Content-Length', '5'), 'ok length 5'],
    ['Content-Length 0 is kept as one 0', head('POST', '1.1', 'Content-Length', '0'), 'ok none 0'],
    ['equal duplicate lines fold to one', head('POST', '1.1', 'Content-Length', '5', 'Content-Length', '5'), 'ok length 5'],
    ["'5, 5' folds to one", head('POST', '1.1', 'Content-Length', '5, 5'), 'ok length 5'],
    ['different values', head('POST', '1.1', 'Content-Length', '5', 'Content-Length', '6'), '400'],
    ["'5, 6'", head('POST', '1.1', 'Content-Length', '5, 6'), '400'],
    ['+5', head('POST', '1.1', 'Content-Length', '+5'), '400'],
    ['0x5', head('POST', '1.1', 'Content-Length', '0x5'), '400'],
    ['5.0', head('POST', '1.1', 'Content-Length', '5.0'), '400'],
    ['empty', head('POST', '1.1', 'Content-Length', ''), '400'],
    ['chunked', head('POST', '1.1', 'Transfer-Encoding', 'chunked'), 'ok chunked -'],
    ['gzip, chunked: not implemented', head('POST', '1.1', 'Transfer-Encoding', 'gzip, chunked'), '501'],
    ['chunked, chunked', head('POST', '1.1', 'Transfer-Encoding', 'chunked, chunked'), '400'],
    ['chunked not last', head('POST', '1.1', 'Transfer-Encoding', 'chunked, gzip'), '400'],
    ['gzip alone', head('POST', '1.1', 'Transfer-Encoding', 'gzip'), '400'],
    ['xchunked', head('POST', '1.1', 'Transfer-Encoding', 'xchunked'), '400'],
    ['chunked with parameters', head('POST', '1.1', 'Transfer-Encoding', 'chunked;q=1'), '400'],
    ['two TE lines, chunked last: not implemented', head('POST', '1.1', 'Transfer-Encoding', 'gzip', 'Transfer-Encoding', 'chunked'), '501'],
    ['Transfer_Encoding beside Content-Length', head('POST', '1.1', 'Transfer_Encoding', 'chunked', 'Content-Length', '3'), '400'],
    ['Content_Length', head('POST', '1.1', 'Content_Length', '3'), '400'],
    ['X_Other is fine', head('GET', '1.1', 'X_Other', '1'), 'ok none -'],
    ['CL and TE', head('POST', '1.1', 'Content-Length', '5', 'Transfer-Encoding', 'chunked'), '400'],
    ['TE in HTTP/1.0', head('POST', '1.0', 'Transfer-Encoding', 'chunked'), '400'],
    ['CONNECT', head('CONNECT', '1.1', 'Host', 'a:443'), '405'],
    ['Expect: 100-continue', head('POST', '1.1', 'Expect', '100-Continue', 'Content-Length', '1'), 'ok length 1'],
    ['Expect: something else', head('POST', '1.1', 'Expect', 'x-magic'), '417'],
  ];
  for (const [name, h, want] of rows) {
    const v = judgeRequest(h);
    const got = v.ok ? `ok ${v.framing.kind}${v.framing.kind === 'length' ? ` ${v.framing.length}` : ''}${v.framing.kind === 'length' ? '' : ` ${v.contentLength ?? '-'}`}` : String(v.status);
    assert.equal(got, want, name);
  }
});

test('head parser refusals map to 400, 414 and 431', () => {
  const rows: Array<[string, string, number]> = [
    ['no Host on HTTP/1.1', 'GET / HTTP/1.1\r\n\r\n', 400],
    ['obs-fold', 'GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n 2\r\n\r\n', 400],
    ['target over 8 KiB', `GET /${'a'.repeat(9000)} HTTP/1.1\r\nHost: a\r\n\r\n`, 414],
    ['too many fields', `GET / HTTP/1.1\r\nHost: a\r\n${'X: 1\r\n'.repeat(201)}\r\n`, 431],
    ['head over 16 KiB', `GET / HTTP/1.1\r\nHost: a\r\nX: ${'a'.repeat(17_000)}\r\n\r\n`, 431],
    ['userinfo', 'GET http://u@a/ HTTP/1.1\r\nHost: a\r\n\r\n', 400],
  ];
  for (const [name, text, status] of rows) {
    const r = sniffHttpRequest(Buffer.from(text, 'latin1'));
    assert.equal(r.kind, 'invalid', name);
    if (r.kind === 'invalid') assert.equal(refusalStatus(r.reason), status, `${name}: ${r.reason}`);
  }
});
