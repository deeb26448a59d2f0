// Does a download host answer? Used by the install steps to decide, within a
// few seconds, whether a package's own downloader can work on this machine.
import http from 'node:http';
import https from 'node:https';

export const PROBE_TIMEOUT_MS = 4000;

/** The proxy in the first of these environment variables that is set, as a URL. */
export function proxyFrom(names) {
  for (const n of names) if (process.env[n]) return new URL(process.env[n]);
  return undefined;
}

/** Does `url`'s host answer within `timeoutMs`, directly or through `proxy` (an http proxy URL)? */
export function reachable(url, proxy, timeoutMs = PROBE_TIMEOUT_MS) {
  return new Promise((done) => {
    const target = new URL(url);
    let req;
    const finish = (ok) => { clearTimeout(timer); req?.destroy(); done(ok); };
    const timer = setTimeout(() => finish(false), timeoutMs);
    if (proxy) {
      req = http.request({ host: proxy.hostname, port: proxy.port || 80, method: 'CONNECT', path: `${target.hostname}:${target.port || 443}` });
      req.on('connect', (res, socket) => { socket.destroy(); finish(res.statusCode === 200); });
    } else {
      req = (target.protocol === 'http:' ? http : https).request(target, { method: 'HEAD' });
      req.on('response', () => finish(true));
    }
    req.on('error', () => finish(false));
    req.end();
  });
}
