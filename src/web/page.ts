/**
 * The built-in page's entry point, bundled into page.js by scripts/build-page.ts and served by
 * the server at `/` (src/server/page.ts). It talks to the server it came from: the join form
 * starts a RoomView (one SDK client in one room), the publish form sends text to that room, and
 * the stats panel polls /healthz. `?room=<name>&encoding=json` in the address joins at once.
 */
import type { Encoding } from '../client/index.js';
import { byId } from './dom.js';
import { errorText, RoomView } from './room-view.js';
import { startStatsPanel } from './stats-panel.js';

const ui = {
  joinForm: byId('join-form', HTMLFormElement),
  room: byId('room', HTMLInputElement),
  encoding: byId('encoding', HTMLSelectElement),
  token: byId('token', HTMLInputElement),
  join: byId('join', HTMLButtonElement),
  leave: byId('leave', HTMLButtonElement),
  status: byId('status', HTMLElement),
  error: byId('error', HTMLElement),
  members: byId('members', HTMLUListElement),
  memberCount: byId('member-count', HTMLElement),
  events: byId('events', HTMLOListElement),
  publishForm: byId('publish-form', HTMLFormElement),
  message: byId('message', HTMLInputElement),
  publish: byId('publish', HTMLButtonElement),
};

let view: RoomView | undefined;

/** The server's WebSocket endpoint, next to this page (works behind a path prefix, and on https). */
function socketUrl(): string {
  const u = new URL('ws', location.href);
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  u.search = '';
  u.hash = '';
  return u.toString();
}

function showError(text: string): void {
  ui.error.textContent = text;
  ui.error.hidden = text === '';
}

/** Enables what makes sense in or out of a room. */
function setJoined(joined: boolean): void {
  ui.leave.disabled = !joined;
  ui.message.disabled = !joined;
  ui.publish.disabled = !joined;
}

async function leave(): Promise<void> {
  const v = view;
  view = undefined;
  setJoined(false);
  if (v !== undefined) await v.stop();
}

async function join(): Promise<void> {
  const room = ui.room.value.trim();
  const encoding: Encoding = ui.encoding.value === 'json' ? 'json' : 'proto';
  showError('');
  ui.join.disabled = true;
  try {
    await leave();
    ui.events.replaceChildren();
    const v = new RoomView(
      { url: socketUrl(), room, encoding, token: ui.token.value.trim() },
      {
        members: ui.members,
        memberCount: ui.memberCount,
        events: ui.events,
        status: (text) => (ui.status.textContent = text),
        error: showError,
        ended: () => {
          if (view !== v) return;
          view = undefined;
          setJoined(false);
        },
      },
    );
    view = v;
    try {
      await v.start();
    } catch (err) {
      if (view === v) view = undefined;
      await v.stop();
      ui.status.textContent = 'Not in a room.';
      showError(`cannot join ${JSON.stringify(room)}: ${errorText(err)}`);
      return;
    }
    if (view !== v) return;
    setJoined(true);
    // The address names the room (never the token), so it can be bookmarked or shared.
    history.replaceState(null, '', `?${new URLSearchParams({ room, encoding }).toString()}`);
    ui.message.focus();
  } finally {
    ui.join.disabled = false;
  }
}

async function publish(): Promise<void> {
  const text = ui.message.value;
  if (view === undefined || text === '') return;
  // Clear at once so a second Enter cannot send the same line twice; put it back on failure.
  ui.message.value = '';
  try {
    await view.publish(text);
    showError('');
  } catch (err) {
    if (ui.message.value === '') ui.message.value = text;
    showError(`publish failed: ${errorText(err)}`);
  }
}

ui.joinForm.addEventListener('submit', (ev) => {
  ev.preventDefault();
  void join();
});
ui.leave.addEventListener('click', () => {
  void leave().then(() => {
    ui.status.textContent = 'Not in a room.';
  });
});
ui.publishForm.addEventListener('submit', (ev) => {
  ev.preventDefault();
  void publish();
});

setJoined(false);
startStatsPanel(new URL('healthz', location.href));

const query = new URLSearchParams(location.search);
const askedRoom = query.get('room');
if (query.get('encoding') === 'json') ui.encoding.value = 'json';
if (askedRoom !== null && askedRoom !== '') {
  ui.room.value = askedRoom;
  void join();
}
