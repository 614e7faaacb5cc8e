// SmartProxy demo: `npm install && npm start`.
// Starts its own little backends on 127.0.0.1 and a proxy in front of them, then prints
// what to try with curl and openssl. Ctrl-C stops everything gracefully.
import * as net from 'node:net';
import * as tls from 'node:tls';
import * as http from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SmartProxy, createHttpToHttpsRedirect, createCertificateAuthority, createSignedCertificate } from '../dist_ts/index.js';

const base = Number(process.env.DEMO_PORT_BASE ?? 18000);
const ECHO_PORT = base;
const HTTP_PORT = base + 80;
const TLS_PORT = base + 443;

function listen(server) {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)));
}

// Backend 1: a TCP echo server.
const echo = net.createServer((s) => {
  s.on('error', () => {});
  s.write('hello from the echo backend; type a line\n');
  s.pipe(s);
});

// Backends 2 and 3: TLS servers for a.localhost and b.localhost (certificates made now, signed by a demo CA).
const ca = createCertificateAuthority({ commonName: 'SmartProxy demo CA' });
const dir = mkdtempSync(join(tmpdir(), 'smartproxy-demo-'));
const caFile = join(dir, 'ca.pem');
writeFileSync(caFile, ca.cert);
function tlsBackend(name) {
  const { key, cert } = createSignedCertificate(ca, [name]);
  return tls.createServer({ key, cert }, (s) => {
    s.on('error', () => {});
    s.end(`HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\nhello from the TLS backend for ${name} (SNI ${s.servername})\n`);
  });
}
const backendA = tlsBackend('a.localhost');
const backendB = tlsBackend('b.localhost');

// Backend 4: a plain HTTP app that echoes what it received.
const app = http.createServer((req, res) => {
  const body = JSON.stringify({ method: req.method, url: req.url, headers: req.headers }, null, 2);
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
});

const [echoPort, aPort, bPort, appPort] = await Promise.all([listen(echo), listen(backendA), listen(backendB), listen(app)]);
const appCert = createSignedCertificate(ca, ['app.localhost']);

const proxy = new SmartProxy({
  routes: [
    { name: 'echo', match: { ports: ECHO_PORT }, action: { type: 'forward', target: { host: '127.0.0.1', port: echoPort } } },
    {
      name: 'tls-a',
      match: { ports: TLS_PORT, domains: 'a.localhost' },
      action: { type: 'forward', target: { host: '127.0.0.1', port: aPort }, tls: { mode: 'passthrough' } },
    },
    {
      name: 'tls-b',
      match: { ports: TLS_PORT, domains: 'b.localhost' },
      action: { type: 'forward', target: { host: '127.0.0.1', port: bPort }, tls: { mode: 'passthrough' } },
    },
    {
      name: 'app-https',
      match: { ports: TLS_PORT, domains: 'app.localhost' },
      action: {
        type: 'forward',
        target: { host: '127.0.0.1', port: appPort },
        tls: { mode: 'terminate', certificate: appCert },
        headers: { response: { 'X-Served-By': 'smartproxy {routeName}' } },
      },
    },
    {
      name: 'app-http',
      match: { ports: HTTP_PORT, domains: 'app.localhost', path: '/api/*' },
      action: { type: 'forward', target: { host: '127.0.0.1', port: appPort } },
    },
    createHttpToHttpsRedirect('app.localhost', { port: HTTP_PORT, httpsPort: TLS_PORT }),
  ],
  listenAddress: '127.0.0.1',
});
proxy.on('route:miss', (e) => process.stdout.write(`route:miss ${JSON.stringify(e)}\n`));
await proxy.start();

process.stdout.write(`SmartProxy demo running on ports ${proxy.getListeningPorts().join(', ')}

Try:
  printf 'ping\\n' | curl -s --max-time 1 telnet://127.0.0.1:${ECHO_PORT}   # TCP forward to an echo backend
  curl --cacert ${caFile} --resolve a.localhost:${TLS_PORT}:127.0.0.1 https://a.localhost:${TLS_PORT}/
  curl --cacert ${caFile} --resolve b.localhost:${TLS_PORT}:127.0.0.1 https://b.localhost:${TLS_PORT}/
  openssl s_client -connect 127.0.0.1:${TLS_PORT} -servername b.localhost -CAfile ${caFile} </dev/null
  curl -k --resolve c.localhost:${TLS_PORT}:127.0.0.1 https://c.localhost:${TLS_PORT}/   # unknown SNI: closed
  curl --cacert ${caFile} --resolve app.localhost:${TLS_PORT}:127.0.0.1 https://app.localhost:${TLS_PORT}/hello  # TLS terminated, HTTP proxied
  curl -H 'Host: app.localhost' http://127.0.0.1:${HTTP_PORT}/api/users/7     # plain HTTP, routed by path
  curl -i -H 'Host: app.localhost' http://127.0.0.1:${HTTP_PORT}/other        # 301 to https

Stats are printed every 10 s. Ctrl-C stops.
`);

const statsTimer = setInterval(() => {
  const s = proxy.getStats();
  const t = s.throughput.recent();
  process.stdout.write(
    `active=${s.connections.active()} total=${s.connections.total()} in=${s.totals.bytesIn()}B out=${s.totals.bytesOut()}B rate(10s) in=${t.in.toFixed(0)}B/s out=${t.out.toFixed(0)}B/s\n`,
  );
}, 10_000);

async function shutdown() {
  clearInterval(statsTimer);
  await proxy.stop();
  for (const s of [echo, backendA, backendB, app]) s.close();
  app.closeAllConnections();
  process.exit(0);
}
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
if (process.env.DEMO_EXIT_AFTER_MS) setTimeout(shutdown, Number(process.env.DEMO_EXIT_AFTER_MS));
