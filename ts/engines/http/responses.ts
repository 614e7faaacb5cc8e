/** Complete HTTP/1.1 responses the proxy answers itself (errors, refusals, redirects); the connection closes after. */
const REASONS: Record<number, string> = {
  200: 'OK', 204: 'No Content', 301: 'Moved Permanently', 302: 'Found', 303: 'See Other', 307: 'Temporary Redirect',
  308: 'Permanent Redirect', 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found',
  405: 'Method Not Allowed', 408: 'Request Timeout', 411: 'Length Required', 413: 'Content Too Large', 414: 'URI Too Long',
  417: 'Expectation Failed', 429: 'Too Many Requests', 431: 'Request Header Fields Too Large',
  500: 'Internal Server Error', 501: 'Not Implemented', 502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Gateway Timeout',
};

export function reasonPhrase(status: number): string {
  return REASONS[status] ?? 'Status';
}

/** A response head with `Content-Length: bodyLength` and `Connection: close`; header lines with CR/LF are dropped. */
export function formatResponseHead(status: number, headers: Record<string, string>, bodyLength: number): string {
  let head = `HTTP/1.1 ${status} ${reasonPhrase(status)}\r\n`;
  for (const [k, v] of Object.entries(headers)) {
    if (/[\r\n]/.test(k) || /[\r\n]/.test(v)) continue;
    head += `${k}: ${v}\r\n`;
  }
  return `${head}Content-Length: ${bodyLength}\r\nConnection: close\r\n\r\n`;
}

/** A whole response with `Content-Length` and `Connection: close`. */
export function formatResponse(status: number, headers: Record<string, string>, body: string): string {
  return formatResponseHead(status, headers, Buffer.byteLength(body)) + body;
}

/** The proxy's own short error answer: `body` (default `<status> <reason>`) as plain text. */
export function localResponse(status: number, extraHeaders: Record<string, string> = {}, body = `${status} ${reasonPhrase(status)}\n`): string {
  return formatResponse(status, { 'Content-Type': 'text/plain; charset=utf-8', ...extraHeaders }, body);
}
