/** One checked request through a target before it is measured: right status and body length, or a reason. */
import * as http from 'node:http';
import * as https from 'node:https';

export interface IProbe {
  port: number;
  tls: boolean;
  domain: string;
  method: string;
  path: string;
  body?: Buffer;
  expectBytes: number;
}

/** Resolves undefined when the response is 200 with `expectBytes` bytes of body, else with what went wrong. */
export function probe(p: IProbe, timeoutMs = 5000): Promise<string | undefined> {
  return new Promise((resolve) => {
    const headers: http.OutgoingHttpHeaders = { host: p.domain };
    if (p.body) {
      headers['content-type'] = 'application/octet-stream';
      headers['content-length'] = p.body.length;
    }
    const opts: https.RequestOptions = {
      host: '127.0.0.1',
      port: p.port,
      method: p.method,
      path: p.path,
      headers,
      agent: false,
      timeout: timeoutMs,
      ...(p.tls ? { servername: p.domain, rejectUnauthorized: false } : {}),
    };
    const req = (p.tls ? https : http).request(opts, (res) => {
      let n = 0;
      res.on('data', (d: Buffer) => (n += d.length));
      res.on('end', () => {
        if (res.statusCode !== 200) resolve(`probe: status ${res.statusCode}`);
        else if (n !== p.expectBytes) resolve(`probe: ${n} body bytes, expected ${p.expectBytes}`);
        else resolve(undefined);
      });
      res.on('error', (e) => resolve(`probe: ${e.message}`));
    });
    req.on('timeout', () => req.destroy(new Error(`no response within ${timeoutMs} ms`)));
    req.on('error', (e) => resolve(`probe: ${e.message}`));
    req.end(p.body);
  });
}
