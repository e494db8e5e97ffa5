/**
 * The page's only ways into the DOM. Everything from the network goes in through `textContent`
 * (never innerHTML), so a message like `<img onerror=…>` shows as those characters.
 */

/** The element with this id, checked to be of the expected class (a missing one is a bug). */
export function byId<T extends HTMLElement>(id: string, type: { new (): T; readonly name: string }): T {
  const e = document.getElementById(id);
  if (!(e instanceof type)) throw new Error(`the page has no #${id} ${type.name}`);
  return e;
}

/** A new element with an optional class and text. */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, className = '', text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (className !== '') e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}
