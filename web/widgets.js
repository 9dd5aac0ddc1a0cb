// widgets.js — owns the small pieces every page shares: a company logo (or
// its initials), a progress bar, error and status lines, and a stage badge.

import { el, clear } from '/assets/dom.js';
import { initials } from '/assets/format.js';
import { describeError } from '/assets/api.js';

/** The logo image, replaced by initials when there is no URL or it fails to load. */
export function logo(name, url, size = 'small') {
  const box = el('span', { class: `logo logo-${size}`, 'aria-hidden': 'true' });
  const showInitials = () => {
    clear(box);
    box.classList.add('logo-initials');
    box.append(el('span', { class: 'initials', text: initials(name) }));
  };

  if (typeof url === 'string' && url.trim() !== '') {
    const img = el('img', { src: url, alt: '', referrerpolicy: 'no-referrer' });
    img.addEventListener('error', showInitials, { once: true });
    box.append(img);
  } else {
    showInitials();
  }
  return box;
}

/** A bar filled to `percentage` (computed from the counts when not given). */
export function progressBar(completed, total, percentage) {
  const pct = Number.isFinite(percentage)
    ? percentage
    : total > 0 ? Math.floor((completed * 100) / total) : 0;
  const fill = el('span', { class: 'progress-fill' });
  fill.style.width = `${Math.max(0, Math.min(100, pct))}%`;
  if (pct >= 100) fill.classList.add('progress-done');

  return el('span', {
    class: 'progress',
    role: 'progressbar',
    'aria-valuemin': '0',
    'aria-valuemax': '100',
    'aria-valuenow': String(pct),
    'aria-valuetext': `${completed} of ${total} milestones, ${pct}%`,
  }, fill);
}

/** A stage type shown as a small badge; "no stage" when null. */
export function stageBadge(type, extraClass = '') {
  if (!type) return el('span', { class: `badge badge-muted ${extraClass}`, text: 'no stage' });
  return el('span', { class: `badge ${extraClass}`, text: type });
}

/** An empty, hidden error line; fill it with showError. */
export function errorLine(id) {
  return el('p', { class: 'error', id, role: 'alert', hidden: true });
}

export function showError(line, err) {
  line.textContent = typeof err === 'string' ? err : describeError(err);
  line.hidden = false;
}

export function hideError(line) {
  line.textContent = '';
  line.hidden = true;
}

/** A polite status line for confirmations such as "Saved". */
export function statusLine(id) {
  return el('p', { class: 'status', id, role: 'status', 'aria-live': 'polite' });
}

export function loadingLine() {
  return el('p', { class: 'loading muted', text: 'Loading…' });
}
