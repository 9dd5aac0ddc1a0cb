// format.js — owns turning values from the API into short words for people:
// dates, day counts, counts with their noun, and initials for logos.

import { el } from '/assets/dom.js';

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

/** A <time> element showing a local date and time; the exact UTC value is its title. */
export function timeElement(iso) {
  const date = new Date(iso);
  if (!iso || Number.isNaN(date.getTime())) return document.createTextNode(iso ?? '');
  return el('time', { datetime: iso, title: iso, text: dateTime.format(date) });
}

export function plural(count, one, many = `${one}s`) {
  return `${count} ${count === 1 ? one : many}`;
}

export function daysSince(days) {
  if (days === null || days === undefined) return 'No milestone completed yet';
  if (days === 0) return 'Active today';
  return `${plural(days, 'day')} since last activity`;
}

/** Up to two letters from the first words of a name; "?" for an empty one. */
export function initials(name) {
  const words = String(name ?? '').trim().split(/\s+/).filter(Boolean);
  const letters = words.slice(0, 2).map((word) => Array.from(word)[0].toUpperCase());
  return letters.join('') || '?';
}
