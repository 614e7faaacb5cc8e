import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_HTTP_HEAD_BYTES, hostWithoutPort, sniffHttpRequest, type HttpSniffResult } from '../../ts/protocol/http-head.js';
import { fuzzSeed, makeRng } from './helpers/rng.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');
type Want = HttpSniffResult['kind'] | { method: string; host: string | undefined; path: string; httpVersion?: '1.0' | '1.1' } | RegExp;

const cases: Array<[string, string | Buffer, Want]> = [
  ['empty', '', 'need-more'],
  ['G', 'G', 'need-more'],
  ['GE', 'GE', 'need-more'],
  ['method and space', 'GET ', 'need-more'],
  ['request line without CRLF', 'GET / HTTP/1.1', 'need-more'],
  ['request line, no blank line yet', 'GET / HTTP/1.1\r\nHost: a\r\n', 'need-more'],
  ['simple GET', 'GET / HTTP/1.1\r\nHost: example.com\r\n\r\n', { method: 'GET', host: 'example.com', path: '/', httpVersion: '1.1' }],
  ['host lower-cased, OWS trimmed, port kept', 'GET /x HTTP/1.1\r\nhOsT:  Example.COM:8080 \t\r\n\r\n', { method: 'GET', host: 'example.com:8080', path: '/x' }],
  ['HTTP/1.0 without Host', 'GET /a?b=c HTTP/1.0\r\n\r\n', { method: 'GET', host: undefined, path: '/a?b=c', httpVersion: '1.0' }],
  ['empty Host value', 'GET / HTTP/1.1\r\nHost:\r\n\r\n', /invalid Host/],
  ['GET *', 'GET * HTTP/1.1\r\nHost: h\r\n\r\n', /OPTIONS/],
  ['body after head is ignored', 'POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc', { method: 'POST', host: 'h', path: '/p' }],
  ['IPv6 literal host', 'GET / HTTP/1.1\r\nHost: [::1]:8443\r\n\r\n', { method: 'GET', host: '[::1]:8443', path: '/' }],
  ['absolute-form wins over Host', 'GET http://Other.Example:81/p?q HTTP/1.1\r\nHost: example.com\r\n\r\n', { method: 'GET', host: 'other.example:81', path: '/p?q' }],
  ['absolute-form without path', 'GET https://a.example HTTP/1.1\r\nHost: x\r\n\r\n', { method: 'GET', host: 'a.example', path: '/' }],
  ['absolute-form with query only', 'GET http://a.example?x=1 HTTP/1.1\r\nHost: x\r\n\r\n', { method: 'GET', host: 'a.example', path: '/?x=1' }],
  ['absolute-form, HTTP/1.0 without Host', 'GET http://a.example/ HTTP/1.0\r\n\r\n', { method: 'GET', host: 'a.example', path: '/' }],
  ['absolute-form userinfo refused', 'GET http://u:p@a.example/ HTTP/1.1\r\nHost: a.example\r\n\r\n', /userinfo/],
  ['CONNECT authority-form', 'CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n', { method: 'CONNECT', host: 'a.example:443', path: 'a.example:443' }],
  ['CONNECT authority-form, HTTP/1.0', 'CONNECT a.example:443 HTTP/1.0\r\n\r\n', { method: 'CONNECT', host: 'a.example:443', path: 'a.example:443' }],
  ['HTTP/1.1 without Host', 'GET / HTTP/1.1\r\n\r\n', /no Host/],
  ['Host with userinfo', 'GET / HTTP/1.1\r\nHost: u@a.example\r\n\r\n', /invalid Host/],
  ['Host that is not an authority', 'GET / HTTP/1.1\r\nHost: a.example/x\r\n\r\n', /invalid Host/],
  ['request target over the limit', `GET /${'a'.repeat(8192)} HTTP/1.1\r\nHost: a\r\n\r\n`, /request target exceeds/],
  ['too many header fields', `GET / HTTP/1.1\r\nHost: a\r\n${'X: 1\r\n'.repeat(200)}\r\n`, /more than 200 header fields/],
  ['OPTIONS *', 'OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n', { method: 'OPTIONS', host: 'h', path: '*' }],
  ['WebDAV PROPFIND', 'PROPFIND /d HTTP/1.1\r\nHost: h\r\n\r\n', { method: 'PROPFIND', host: 'h', path: '/d' }],
  ['TLS ClientHello', Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00]), 'not-http'],
  ['PROXY header', 'PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n', 'not-http'],
  ['HTTP/2 preface', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'not-http'],
  ['lower-case method', 'get / HTTP/1.1\r\n\r\n', 'not-http'],
  ['unknown method', 'FOO / HTTP/1.1\r\n\r\n', 'not-http'],
  ['unknown method prefix', 'GX', 'not-http'],
  ['method too long', 'MKCALENDARS', 'not-http'],
  ['leading space', ' GET / HTTP/1.1\r\n\r\n', 'not-http'],
  ['leading CRLF', '\r\nGET / HTTP/1.1\r\n\r\n', 'not-http'],
  ['SSH banner', 'SSH-2.0-OpenSSH_9.2\r\n', 'not-http'],
  ['binary', Buffer.from([0, 1, 2, 3]), 'not-http'],
  ['HTTP/2.0 version', 'GET / HTTP/2.0\r\n\r\n', /version/],
  ['HTTP/1.2 version', 'GET / HTTP/1.2\r\n\r\n', /version/],
  ['missing version', 'GET /\r\n\r\n', /request line/],
  ['two spaces', 'GET  / HTTP/1.1\r\n\r\n', /request line|empty request target/],
  ['space in target', 'GET /a b HTTP/1.1\r\n\r\n', /request line/],
  ['non-ASCII in target', b('GET /\xe9 HTTP/1.1\r\n\r\n'), /request target/],
  ['relative target', 'GET foo HTTP/1.1\r\nHost: a\r\n\r\n', /origin-form/],
  ['bare LF', 'GET / HTTP/1.1\nHost: a\n\n', /bare LF/],
  ['bare CR', 'GET / HTTP/1.1\rHost: a\r\n\r\n', /bare CR/],
  ['NUL in head', 'GET / HTTP/1.1\r\nHost: a\0\r\n\r\n', /control/],
  ['two Host headers', 'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n', /duplicate Host/],
  ['header without colon', 'GET / HTTP/1.1\r\nHost a\r\n\r\n', /without a name/],
  ['header with empty name', 'GET / HTTP/1.1\r\n: a\r\n\r\n', /without a name/],
  ['space before colon', 'GET / HTTP/1.1\r\nHost : a\r\n\r\n', /header name/],
  ['obs-fold', 'GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n', /folding/],
  ['absolute-form without host', 'GET http:///x HTTP/1.1\r\nHost: a\r\n\r\n', /without a host/],
  ['head too large', `GET / HTTP/1.1\r\nX: ${'a'.repeat(MAX_HTTP_HEAD_BYTES)}\r\n\r\n`, /exceeds/],
];

describe('sniffHttpRequest table', () => {
  for (const [name, input, want] of cases) {
    test(name, () => {
      const buf = typeof input === 'string' ? b(input) : input;
      const r = sniffHttpRequest(buf);
      if (typeof want === 'string') {
        assert.equal(r.kind, want, JSON.stringify(r));
      } else if (want instanceof RegExp) {
        assert.equal(r.kind, 'invalid', JSON.stringify(r));
        if (r.kind === 'invalid') assert.match(r.reason, want);
      } else {
        assert.equal(r.kind, 'ok', JSON.stringify(r));
        if (r.kind !== 'ok') return;
        assert.equal(r.method, want.method);
        assert.equal(r.host, want.host);
        assert.equal(r.path, want.path);
        if (want.httpVersion) assert.equal(r.httpVersion, want.httpVersion);
        const end = buf.indexOf('\r\n\r\n') + 4;
        assert.equal(r.headLength, end);
        for (let i = 0; i < end; i++) {
          const p = sniffHttpRequest(buf.subarray(0, i));
          if (p.kind !== 'need-more') assert.fail(`prefix ${i} gave ${JSON.stringify(p)}`);
        }
      }
    });
  }

  test('a head of exactly MAX_HTTP_HEAD_BYTES is accepted', () => {
    const start = 'GET / HTTP/1.1\r\nHost: a\r\nX: ';
    const head = `${start}${'a'.repeat(MAX_HTTP_HEAD_BYTES - start.length - 4)}\r\n\r\n`;
    assert.equal(head.length, MAX_HTTP_HEAD_BYTES);
    assert.equal(sniffHttpRequest(b(head)).kind, 'ok');
    assert.equal(sniffHttpRequest(b(head.slice(0, -1))).kind, 'need-more');
  });

  test('fuzz: 20,000 random and mutated inputs never throw', () => {
    const seed = fuzzSeed();
    const rng = makeRng(seed);
    const seeds = cases.map(([, input]) => (typeof input === 'string' ? b(input) : input)).filter((x) => x.length > 0);
    for (let i = 0; i < 20_000; i++) {
      let buf: Buffer = Buffer.from(rng.pick(seeds));
      const m = rng.int(4);
      if (m === 0) buf = rng.bytes(rng.int(200));
      else if (m === 1) for (let k = rng.range(1, 4); k > 0; k--) buf[rng.int(buf.length)] = rng.int(256);
      else if (m === 2) buf = buf.subarray(0, rng.int(buf.length + 1));
      else buf = Buffer.concat([b('GET / HTTP/1.1\r\n'), rng.bytes(rng.int(100)), b('\r\n\r\n')]);
      let r: HttpSniffResult;
      try {
        r = sniffHttpRequest(buf);
      } catch (err) {
        assert.fail(`threw (FUZZ_SEED=${seed}) on ${buf.toString('hex')}: ${String(err)}`);
      }
      if (r.kind === 'invalid' && r.reason === 'internal parser error') assert.fail(`catch fired (FUZZ_SEED=${seed}) on ${buf.toString('hex')}`);
    }
  });
});

test('hostWithoutPort', () => {
  const table: Array<[string, string]> = [
    ['example.com', 'example.com'],
    ['example.com:8080', 'example.com'],
    ['example.com:', 'example.com'],
    ['1.2.3.4:80', '1.2.3.4'],
    ['[::1]:8443', '::1'],
    ['[::1]', '::1'],
    ['[2001:db8::1]:443', '2001:db8::1'],
    ['::1', '::1'],
    ['2001:db8::1', '2001:db8::1'],
    ['[broken', '[broken'],
    ['', ''],
  ];
  for (const [input, want] of table) assert.equal(hostWithoutPort(input), want, input);
});
