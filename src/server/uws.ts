/**
 * Loads uWebSockets.js and makes sure it is the native addon.
 *
 * The package in use (an npm-published build of uWS.js v20.30) quietly falls back to a pure-JS
 * imitation when its binary cannot load (a Node.js ABI it has no build for, a missing glibc
 * symbol). That imitation throws "Not implemented" from publish, numSubscribers and
 * getUserData, so a server on it would fail at the first message. We check at start-up instead.
 */
import uWS from 'uWebSockets.js';

export { uWS };

/** Whether the loaded uWebSockets.js is the native addon (not the pure-JS fallback). */
export function isNativeUws(): boolean {
  return typeof uWS.SSLApp === 'function' && typeof uWS.getParts === 'function';
}

/** The message printed when the native addon is missing. */
export function fallbackMessage(): string {
  return [
    'uWebSockets.js could not load its native addon and fell back to a pure-JS build that cannot',
    `serve pub/sub (publish and numSubscribers are not implemented). Node ${process.version}`,
    `(ABI ${process.versions.modules}) on ${process.platform}-${process.arch}: this build ships binaries for`,
    'Node 16/18/20 (ABI 93/108/115) on linux/darwin x64/arm64 and win32 x64.',
    'Use Node 20, or pass --allow-js-fallback to start anyway (nothing will work; debugging only).',
  ].join('\n');
}
