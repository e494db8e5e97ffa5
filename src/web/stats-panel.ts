/**
 * The live panel of server stats: polls GET /healthz and shows connections, rooms, uptime and
 * messages per second (frames in, events published, copies delivered). Runs whether or not the
 * page is in a room. The numbers are those of the process that served the page.
 */
import { byId } from './dom.js';
import { duration, perSecond } from './format.js';
import { type Health, parseHealth, ratesBetween } from './health.js';

/** How often to poll: rates over 2 s are steady enough to read and still feel live. */
const POLL_MS = 2000;

/** Starts polling `healthUrl` for ever (the page lives as long as its tab). */
export function startStatsPanel(healthUrl: URL): void {
  const panel = byId('stats', HTMLElement);
  const show = (id: string, text: string): void => {
    byId(id, HTMLElement).textContent = text;
  };
  let prev: Health | undefined;

  const poll = async (): Promise<void> => {
    try {
      const res = await fetch(healthUrl, { cache: 'no-store', signal: AbortSignal.timeout(POLL_MS * 2) });
      const h = parseHealth(await res.json());
      if (h === undefined) throw new Error(`unexpected answer from ${healthUrl.pathname} (HTTP ${res.status})`);
      const r = prev !== undefined ? ratesBetween(prev, h) : undefined;
      prev = h;
      show('stat-connections', String(h.connections));
      show('stat-rooms', String(h.rooms));
      show('stat-in', r !== undefined ? perSecond(r.messagesIn) : '–');
      show('stat-published', r !== undefined ? perSecond(r.publications) : '–');
      show('stat-out', r !== undefined ? perSecond(r.messagesOut) : '–');
      show('stat-uptime', duration(h.uptimeSec));
      panel.classList.remove('stale');
      panel.title = '';
    } catch (err) {
      // Keep the last numbers, greyed out, and say why in the tooltip; the next poll may work.
      panel.classList.add('stale');
      panel.title = `stats unavailable: ${err instanceof Error ? err.message : String(err)}`;
    }
    setTimeout(() => void poll(), POLL_MS);
  };
  void poll();
}
