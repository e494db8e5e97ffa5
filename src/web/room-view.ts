/**
 * One visit to one room: an SDK client joined to it, the member list and the event log. The
 * member list is queried on join, patched by `presence` events, and queried again every few
 * seconds and whenever someone not on it publishes, so it is right even in rooms without
 * presence events. page.ts makes one RoomView per Join and stops it on Leave.
 */
import { createClient, type Encoding, type RoomcastClient, type RoomEvent } from '../client/index.js';
import { el } from './dom.js';
import { clockTime, payload, publisher } from './format.js';
import { Members } from './members.js';

/** How often the member list is queried again (presence events may be off for the room). */
const PRESENCE_REFRESH_MS = 3000;
/** Events kept on screen; older ones are dropped so a busy room cannot grow the page for ever. */
const MAX_EVENTS = 200;

/** What to join, and how. */
export interface RoomOptions {
  /** The server's WebSocket URL (`ws(s)://host:port/ws`). */
  url: string;
  room: string;
  encoding: Encoding;
  /** A JWT, or '' to connect anonymously. */
  token: string;
}

/** Where a RoomView draws, and whom it tells about its state. */
export interface RoomViewOutput {
  members: HTMLUListElement;
  memberCount: HTMLElement;
  events: HTMLOListElement;
  /** The one-line connection status. */
  status(text: string): void;
  /** Something went wrong that the user should see. */
  error(text: string): void;
  /** The visit ended on its own (the client closed for good, or the server removed us). */
  ended(): void;
}

/** Error text for the user. */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** One room, joined through one client; see the module comment. */
export class RoomView {
  private readonly client: RoomcastClient;
  private readonly members = new Members();
  private readonly opts: RoomOptions;
  private readonly out: RoomViewOutput;
  private readonly offs: Array<() => void> = [];
  private refreshTimer: ReturnType<typeof setInterval> | undefined;
  private refreshing = false;
  private lastSeq = 0;
  private userId = '';
  private stopped = false;

  constructor(opts: RoomOptions, out: RoomViewOutput) {
    this.opts = opts;
    this.out = out;
    this.client = createClient({ url: opts.url, encoding: opts.encoding, token: opts.token !== '' ? opts.token : undefined });
    const c = this.client;
    const room = opts.room;
    this.offs.push(
      c.on('event', (e) => this.addEvent(e)),
      c.on('presence', (p) => {
        if (p.room === room && this.members.apply(p)) this.renderMembers();
      }),
      c.on('open', ({ welcome, reconnected }) => {
        this.userId = welcome.userId;
        this.showOpen();
        // After a reconnect our connection id changed and others may have come or gone.
        if (reconnected) void this.refresh();
      }),
      c.on('rejoin', (r) => {
        if (r.room === room && r.error !== undefined) this.out.error(`could not rejoin ${room}: ${r.error.message}`);
      }),
      c.on('recovered', (r) => {
        if (r.room !== room || r.missed === 0) return;
        this.prepend(el('li', 'gap', `recovered ${r.missed === 1 ? '1 event' : `${r.missed} events`} missed while reconnecting`));
      }),
      c.on('resync', (r) => {
        if (r.room !== room) return;
        this.prepend(el('li', 'gap', `events may have been lost (${r.reason.replace('_', ' ')}); continuing from #${r.position.seq}`));
        this.lastSeq = r.position.seq;
      }),
      c.on('state', (s) => {
        if (s === 'connecting') this.out.status(`connecting to ${room}…`);
        if (s === 'reconnecting') this.out.status('connection lost, reconnecting…');
      }),
      c.on('disconnect', (d) => {
        if (d.reconnect) this.out.status(`disconnected (${d.code}${d.reason !== '' ? ` ${d.reason}` : ''}); retrying in ${(d.delayMs / 1000).toFixed(1)} s`);
      }),
      c.on('removed', (r) => {
        if (r.room !== room) return;
        this.out.error(`the server removed you from ${room}${r.reason !== '' ? `: ${r.reason}` : ''}`);
        void this.end();
      }),
      c.on('close', (info) => {
        if (this.stopped) return;
        this.out.status(`closed (${info.code}${info.reason !== '' ? ` ${info.reason}` : ''})`);
        void this.end();
      }),
    );
  }

  /** Connects, joins, and fills the member list. Rejects (with the server's reason) if it cannot. */
  async start(): Promise<void> {
    await this.client.connect();
    const joined = await this.client.join(this.opts.room);
    this.lastSeq = joined.seq;
    this.showOpen();
    await this.refresh();
    this.refreshTimer = setInterval(() => void this.refresh(), PRESENCE_REFRESH_MS);
  }

  /** Publishes text to the room; resolves with the event's sequence number. */
  async publish(text: string): Promise<number> {
    return (await this.client.publish(this.opts.room, text)).seq;
  }

  /** Leaves: closes the client (the server sees the connection go) and clears the member list. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.refreshTimer);
    for (const off of this.offs) off();
    this.members.clear();
    this.renderMembers();
    await this.client.close().catch(() => undefined);
  }

  private async end(): Promise<void> {
    if (this.stopped) return;
    await this.stop();
    this.out.ended();
  }

  private showOpen(): void {
    if (this.client.state !== 'open') return;
    const who = this.userId !== '' ? this.userId : 'anonymous';
    this.out.status(`in ${this.opts.room} as ${who} · connection ${this.client.connId} · ${this.opts.encoding === 'json' ? 'JSON' : 'protobuf'}`);
  }

  /** Asks the server who is in the room (one query at a time). */
  private async refresh(): Promise<void> {
    if (this.refreshing || this.stopped || this.client.state !== 'open') return;
    this.refreshing = true;
    try {
      const result = await this.client.presence(this.opts.room);
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- stop() may run during the await; TS keeps the narrowing from above.
      if (!this.stopped && this.members.replace(result)) this.renderMembers();
    } catch (err) {
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- as above: stop() may have run meanwhile.
      if (!this.stopped) this.out.error(`member list: ${errorText(err)}`);
    } finally {
      this.refreshing = false;
    }
  }

  private renderMembers(): void {
    const self = this.client.connId;
    const items = this.members.list().map((m) => {
      const li = el('li', m.connId === self ? 'member self' : 'member');
      li.append(el('span', 'user', m.userId !== '' ? m.userId : 'anonymous'), el('span', 'conn', m.connId));
      if (m.connId === self) li.append(el('span', 'you', 'you'));
      return li;
    });
    this.out.members.replaceChildren(...items);
    this.out.memberCount.textContent = String(this.members.size);
  }

  private addEvent(e: RoomEvent): void {
    if (e.room !== this.opts.room || this.stopped) return;
    this.skipTo(e.seq - 1);
    this.lastSeq = e.seq;
    const li = el('li', e.fromSelf ? 'event self' : 'event');
    li.append(el('span', 'seq', `#${e.seq}`), el('time', 'time', clockTime(e.timeUs)), el('span', 'who', publisher(e)), el('span', 'text', payload(e)));
    this.prepend(li);
    // A publisher we have not seen yet: the list is stale (no presence events in this room).
    if (e.connId !== '' && !this.members.has(e.connId)) void this.refresh();
  }

  /**
   * Notes that the room's sequence reached `seq`: events after the last one seen up to `seq`
   * never arrived (the client recovers what a reconnect missed, so this is a live gap), so the
   * log says so.
   */
  private skipTo(seq: number): void {
    if (seq > this.lastSeq) {
      const range = seq === this.lastSeq + 1 ? `event ${seq}` : `events ${this.lastSeq + 1}–${seq}`;
      this.prepend(el('li', 'gap', `missed ${range}`));
      this.lastSeq = seq;
    }
  }

  private prepend(li: HTMLLIElement): void {
    const list = this.out.events;
    list.prepend(li);
    while (list.childElementCount > MAX_EVENTS) list.lastElementChild?.remove();
  }
}
