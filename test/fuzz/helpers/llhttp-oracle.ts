/**
 * Node's own HTTP/1.1 request parser (llhttp, as built into the running node binary) driven
 * directly on buffers, without sockets: the HTTPParser class that node:http itself uses,
 * reached through the legacy `_http_common` module (private surface; fine for a test, never for
 * library code). The same class and calls exist on Node 20, 22 and 24.
 *
 * Strict mode (kLenientNone, Node's default) and Node's default head limit (16 KiB) are used, so
 * a verdict here is what an `http.createServer()` backend's parser would say (Node's JS layer adds
 * checks on top, e.g. requireHostHeader; they are not llhttp's and are not modelled here).
 *
 * Cost: ~2-5 us per short request on this machine (Node 20 fastest, 24 slowest), against
 * ~17 us per request pipelined over one keep-alive socket into an http.Server, and one TCP
 * connection per request for the loopback oracle of http-request-head.fuzz.test.ts.
 */
import { createRequire } from 'node:module';
import http from 'node:http';

interface ParserError extends Error {
  code: string;
  reason: string;
  bytesParsed: number;
}

interface NodeHttpParser {
  initialize(type: number, resource: object, maxHeaderSize: number, lenientFlags: number): void;
  execute(data: Buffer): number | ParserError;
  [slot: number]: unknown;
}

interface NodeHttpParserClass {
  new (): NodeHttpParser;
  REQUEST: number;
  kOnMessageBegin: number;
  kOnHeaders: number;
  kOnHeadersComplete: number;
  kOnBody: number;
  kOnMessageComplete: number;
  kOnExecute: number;
  kLenientNone: number;
}

const require = createRequire(import.meta.url);
const { HTTPParser } = require('_http_common') as { HTTPParser: NodeHttpParserClass };

/** Node's default --max-http-header-size. */
export const LLHTTP_MAX_HEADER_SIZE = 16384;

export interface LlMessage {
  /** Method name ('#<n>' for an llhttp method number this table does not know). */
  method: string;
  url: string;
  /** 'major.minor' as llhttp read it. */
  version: string;
  /** [name, value, ...] as llhttp delivers them (Node's rawHeaders). */
  headers: string[];
  /** Trailer fields, when Node reports them (only for a head of more than 32 fields: Node drops them otherwise). */
  trailers: string[];
  /** llhttp's upgrade flag at the end of the head (CONNECT, or Upgrade with Connection: upgrade). */
  upgrade: boolean;
  keepAlive: boolean;
  /** Body bytes as delivered (chunked bodies decoded). */
  body: Buffer[];
  /** Index of the chunk during whose execute() the head completed / the message completed; -1 if not (yet). */
  headersIn: number;
  completeIn: number;
}

export interface LlRun {
  messages: LlMessage[];
  /** The first error: llhttp's code and reason, the chunk it happened in and its absolute offset. */
  error: { code: string; reason: string; chunk: number; offset: number } | undefined;
  /** Absolute offset where llhttp stopped because a message switched protocols (CONNECT / Upgrade). */
  upgradedAt: number | undefined;
}

const parser = new HTTPParser();
let run: LlRun = { messages: [], error: undefined, upgradedAt: undefined };
let chunkIndex = 0;
let pendingHeaders: string[] = [];
let pendingUrl = '';
let methodNames: string[] = [];

const current = (): LlMessage | undefined => run.messages[run.messages.length - 1];

parser[HTTPParser.kOnMessageBegin] = (): void => {
  run.messages.push({ method: '', url: '', version: '', headers: [], trailers: [], upgrade: false, keepAlive: false, body: [], headersIn: -1, completeIn: -1 });
  pendingHeaders = [];
  pendingUrl = '';
};
// Called when a head has more than 32 header lines (a flush of what has been read so far), and
// for the trailers of such a message (Node delivers them this way once it has flushed).
parser[HTTPParser.kOnHeaders] = (headers: string[], url: string): void => {
  const m = current();
  if (m !== undefined && m.headersIn >= 0) {
    m.trailers.push(...headers);
    return;
  }
  pendingHeaders.push(...headers);
  pendingUrl += url;
};
parser[HTTPParser.kOnHeadersComplete] = (
  major: number,
  minor: number,
  headers: string[] | undefined,
  method: number,
  url: string | undefined,
  _status: unknown,
  _statusMessage: unknown,
  upgrade: boolean,
  keepAlive: boolean,
): number => {
  const m = current();
  if (m) {
    m.method = methodNames[method] ?? `#${method}`;
    m.url = url || pendingUrl;
    m.version = `${major}.${minor}`;
    m.headers = headers ? [...pendingHeaders, ...headers] : [...pendingHeaders];
    pendingHeaders = [];
    pendingUrl = '';
    m.upgrade = upgrade;
    m.keepAlive = keepAlive;
    m.headersIn = chunkIndex;
  }
  return 0;
};
parser[HTTPParser.kOnBody] = (b: Buffer): void => {
  current()?.body.push(b);
};
parser[HTTPParser.kOnMessageComplete] = (): void => {
  const m = current();
  if (m) m.completeIn = chunkIndex;
};
parser[HTTPParser.kOnExecute] = (): void => {};

/**
 * Runs llhttp (strict) over `chunks`, fed one execute() per chunk in order, and reports every
 * message it saw. Feeding stops at the first error and where a message switches protocols (Node's
 * binding would otherwise resume parsing the tunnelled bytes as HTTP).
 */
export function llhttpRequests(chunks: readonly Buffer[]): LlRun {
  run = { messages: [], error: undefined, upgradedAt: undefined };
  parser.initialize(HTTPParser.REQUEST, {}, LLHTTP_MAX_HEADER_SIZE, HTTPParser.kLenientNone);
  let base = 0;
  for (chunkIndex = 0; chunkIndex < chunks.length; chunkIndex++) {
    const chunk = chunks[chunkIndex]!;
    if (chunk.length === 0) continue;
    const ret = parser.execute(chunk);
    if (typeof ret !== 'number') {
      run.error = { code: ret.code, reason: ret.reason, chunk: chunkIndex, offset: base + ret.bytesParsed };
      break;
    }
    const m = current();
    if (ret < chunk.length && (m === undefined || m.completeIn < 0)) {
      // Node's binding returns the offset instead of an error once a head asked for an upgrade
      // (parser.upgrade is set): llhttp stopped inside that request's body. An error all the same.
      run.error = { code: 'UPGRADE_BODY_ERROR', reason: 'llhttp stopped inside the body of an upgrade request (Node hides its code)', chunk: chunkIndex, offset: base + ret };
      break;
    }
    if (ret < chunk.length || (m !== undefined && m.upgrade && m.completeIn >= 0)) {
      run.upgradedAt = base + ret;
      break;
    }
    base += chunk.length;
  }
  const out = run;
  run = { messages: [], error: undefined, upgradedAt: undefined };
  return out;
}

/** llhttp's method numbers, learnt from the parser itself (they are its enum, not http.METHODS' order). */
function learnMethods(): string[] {
  const names: string[] = [];
  const candidates = new Set([...http.METHODS, 'QUERY', 'SOURCE', 'PRI', 'DESCRIBE', 'ANNOUNCE', 'SETUP', 'PLAY', 'PAUSE', 'TEARDOWN', 'GET_PARAMETER', 'SET_PARAMETER', 'REDIRECT', 'RECORD', 'FLUSH']);
  for (const name of candidates) {
    let got: number | undefined;
    const saved = parser[HTTPParser.kOnHeadersComplete];
    parser[HTTPParser.kOnHeadersComplete] = (_a: number, _b: number, _h: unknown, method: number): number => {
      got = method;
      return 0;
    };
    parser.initialize(HTTPParser.REQUEST, {}, LLHTTP_MAX_HEADER_SIZE, HTTPParser.kLenientNone);
    parser.execute(Buffer.from(`${name} / HTTP/1.1\r\n\r\n`, 'latin1'));
    parser[HTTPParser.kOnHeadersComplete] = saved;
    if (got !== undefined) names[got] = name;
  }
  run = { messages: [], error: undefined, upgradedAt: undefined };
  return names;
}
methodNames = learnMethods();

