/**
 * HTTP transport for acme-client, one per running AcmeService. acme-client sends every ACME
 * request through `HttpClient.request(url, method, { data, headers })` on a process-wide axios
 * instance (shared agent, no timeout, and a retry interceptor that sleeps up to 75 s on a
 * refused connection before failing with a TypeError). Installing this transport on one
 * client instead gives that client its own agent (`acme.caCertificates` trusted besides the
 * system roots, nothing changed for the process or other proxies), a deadline per request,
 * cancellation by stop(), and the original network error.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import { rootCertificates } from 'node:tls';
import { SmartProxyError } from '../core/errors.js';

export interface AcmeHttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** Parsed JSON for JSON answers, else the body text. */
  data: unknown;
}

export interface AcmeRequestOptions {
  data?: unknown;
  headers?: Record<string, string>;
}

export interface AcmeTransportOptions {
  /** PEM CAs trusted besides the system roots for https: directories. */
  caCertificates: readonly string[];
  /** Deadline for one request, connect to last body byte. */
  timeoutMs: number;
  signal: AbortSignal;
  /** Largest response body accepted (default 1 MiB). */
  maxBodyBytes?: number;
}

const DEFAULT_MAX_BODY = 1024 * 1024;
const USER_AGENT = 'smartproxy-acme';

function parseBody(text: string, contentType: string | undefined): unknown {
  if (contentType === undefined || !/json/i.test(contentType)) return text;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

export class AcmeTransport {
  readonly #opts: AcmeTransportOptions;
  readonly #httpsAgent: https.Agent;
  readonly #httpAgent: http.Agent;

  constructor(opts: AcmeTransportOptions) {
    this.#opts = opts;
    const ca = opts.caCertificates.length > 0 ? [...rootCertificates, ...opts.caCertificates] : undefined;
    this.#httpsAgent = new https.Agent({ keepAlive: true, ...(ca ? { ca } : {}) });
    this.#httpAgent = new http.Agent({ keepAlive: true });
  }

  /** The shape acme-client's HttpClient.request has: resolves for every HTTP status, rejects on network errors. */
  request(url: string, method: string, options: AcmeRequestOptions = {}): Promise<AcmeHttpResponse> {
    const verb = method.toUpperCase();
    const what = `ACME ${verb} ${url}`;
    const { signal, timeoutMs } = this.#opts;
    const maxBody = this.#opts.maxBodyBytes ?? DEFAULT_MAX_BODY;
    return new Promise<AcmeHttpResponse>((resolve, reject) => {
      if (signal.aborted) return reject(new SmartProxyError('SPX_ERR_ACME', `${what}: aborted`));
      let target: URL;
      try {
        target = new URL(url);
      } catch {
        return reject(new SmartProxyError('SPX_ERR_ACME', `${what}: not a URL`));
      }
      const isHttps = target.protocol === 'https:';
      if (!isHttps && target.protocol !== 'http:') return reject(new SmartProxyError('SPX_ERR_ACME', `${what}: not an http(s) URL`));
      const body = options.data === undefined ? undefined : Buffer.from(typeof options.data === 'string' ? options.data : JSON.stringify(options.data));
      const headers: Record<string, string> = { 'User-Agent': USER_AGENT, Accept: 'application/json, application/pem-certificate-chain, */*', ...options.headers };
      if (body !== undefined) headers['Content-Length'] = String(body.length);
      let settled = false;
      const fail = (message: string, cause?: unknown): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        req.destroy();
        reject(new SmartProxyError('SPX_ERR_ACME', `${what}: ${message}`, cause === undefined ? undefined : { cause }));
      };
      const onAbort = (): void => fail('aborted');
      const send = isHttps ? https.request : http.request;
      const req = send(target, { method: verb, headers, agent: isHttps ? this.#httpsAgent : this.#httpAgent }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > maxBody) fail(`response body larger than ${maxBody} bytes`);
          else chunks.push(chunk);
        });
        res.on('error', (err) => fail(err.message, err));
        res.on('end', () => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          signal.removeEventListener('abort', onAbort);
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, headers: res.headers, data: parseBody(text, res.headers['content-type']) });
        });
      });
      const timer = setTimeout(() => fail(`no answer within ${timeoutMs} ms`), timeoutMs);
      req.on('error', (err) => fail(err.message, err));
      signal.addEventListener('abort', onAbort, { once: true });
      req.end(body);
    });
  }

  /** Closes kept-alive sockets. */
  close(): void {
    this.#httpsAgent.destroy();
    this.#httpAgent.destroy();
  }
}
