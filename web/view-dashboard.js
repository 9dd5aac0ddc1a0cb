// view-dashboard.js — owns the dashboard page (#/): the stuck clients widget
// (GET /api/clients/onboarding/stuck) and the paged client list
// (GET /api/clients with next_cursor, browsed with Previous / Next).

import * as api from '/assets/api.js';
import { el, clear } from '/assets/dom.js';
import { daysSince, timeElement } from '/assets/format.js';
import {
  logo, progressBar, stageBadge, errorLine, showError, hideError, loadingLine,
} from '/assets/widgets.js';

const PAGE_SIZE = 20;

// The cursors of the pages seen so far (cursors[0] is the first page, null),
// kept across visits so coming back from a client shows the same page.
let cursors = [null];
let pageIndex = 0;

/** Forgets the paging position (on sign-out). */
export function resetDashboard() {
  cursors = [null];
  pageIndex = 0;
}

export function clientHref(id) {
  return `#/clients/${encodeURIComponent(id)}`;
}

export function renderDashboard(view, { signal }) {
  view.dataset.view = 'dashboard';
  const heading = el('h1', { tabindex: '-1', text: 'Dashboard' });

  const stuck = stuckSection();
  const clients = clientListSection();
  view.append(heading, stuck.section, clients.section);
  heading.focus({ preventScroll: true });

  Promise.allSettled([stuck.load(signal), clients.load(signal)]).then(() => {
    if (!signal.aborted) view.dataset.loaded = 'true';
  });
}

function stuckSection() {
  const list = el('ul', { id: 'stuck-list', class: 'stuck-list' });
  const empty = el('p', {
    id: 'stuck-empty', class: 'muted', hidden: true,
    text: 'No onboarding is stuck. Every client with open milestones has moved recently.',
  });
  const error = errorLine('stuck-error');
  const loading = loadingLine();

  const section = el('section', { class: 'card', 'aria-labelledby': 'stuck-title' },
    el('h2', { id: 'stuck-title', text: 'Stuck clients' }),
    el('p', {
      class: 'hint',
      text: 'Onboardings with open milestones and no activity for a while, longest stalled first.',
    }),
    loading, list, empty, error);

  async function load(signal) {
    try {
      const answer = await api.get('/api/clients/onboarding/stuck', { signal });
      const stuckClients = answer?.clients ?? [];
      list.append(...stuckClients.map(stuckItem));
      empty.hidden = stuckClients.length > 0;
    } catch (err) {
      if (!api.isAbort(err)) showError(error, err);
    } finally {
      loading.remove();
    }
  }

  return { section, load };
}

function stuckItem(client) {
  return el('li', { class: 'stuck-item', dataset: { clientId: client.id } },
    logo(client.name, client.logo_url),
    el('div', { class: 'stuck-main' },
      el('a', { class: 'client-name', href: clientHref(client.id), text: client.name }),
      el('div', { class: 'stuck-facts' },
        stageBadge(client.current_stage_type, 'client-stage'),
        el('span', {
          class: 'progress-text',
          text: `${client.completed_count} / ${client.total_count}`,
          title: 'milestones completed',
        }),
        el('span', { class: 'days', text: daysSince(client.days_since_activity) })),
      progressBar(client.completed_count, client.total_count)));
}

function clientListSection() {
  const list = el('ul', { id: 'client-list', class: 'client-list' });
  const error = errorLine('clients-error');
  const pageLabel = el('span', { id: 'clients-page', class: 'muted' });
  const previous = el('button', { id: 'clients-prev', type: 'button', text: 'Previous' });
  const next = el('button', { id: 'clients-next', type: 'button', text: 'Next' });
  let signal = null;

  previous.addEventListener('click', () => {
    if (pageIndex === 0) return;
    pageIndex -= 1;
    loadPage(previous);
  });
  next.addEventListener('click', () => {
    if (cursors[pageIndex + 1] === undefined) return;
    pageIndex += 1;
    loadPage(next);
  });

  const section = el('section', { class: 'card', 'aria-labelledby': 'clients-title' },
    el('h2', { id: 'clients-title', text: 'Clients' }),
    list,
    error,
    el('nav', { class: 'pager', 'aria-label': 'Client pages' }, previous, pageLabel, next));

  async function loadPage(focusAfter) {
    hideError(error);
    previous.disabled = true;
    next.disabled = true;
    list.setAttribute('aria-busy', 'true');

    try {
      const path = api.withQuery('/api/clients', { limit: PAGE_SIZE, cursor: cursors[pageIndex] });
      const answer = await api.get(path, { signal });
      const clients = answer?.clients ?? [];
      clear(list);
      if (clients.length === 0) {
        list.append(el('li', { class: 'muted empty', text: 'No clients yet.' }));
      }
      list.append(...clients.map(clientItem));

      cursors = cursors.slice(0, pageIndex + 1);
      if (answer?.next_cursor) cursors.push(answer.next_cursor);
    } catch (err) {
      if (api.isAbort(err)) return;
      showError(error, err);
    } finally {
      list.removeAttribute('aria-busy');
    }

    pageLabel.textContent = `Page ${pageIndex + 1}`;
    previous.disabled = pageIndex === 0;
    next.disabled = cursors[pageIndex + 1] === undefined;
    // Keep keyboard focus on a pager button that is still usable.
    if (focusAfter && focusAfter.disabled) (previous.disabled ? next : previous).focus();
  }

  function load(pageSignal) {
    signal = pageSignal;
    return loadPage(null);
  }

  return { section, load };
}

function clientItem(client) {
  const hasTemplate = Boolean(client.template_id);
  const summary = hasTemplate
    ? [
      stageBadge(client.current_stage_type, 'client-stage'),
      progressBar(client.completed_count, client.total_count, client.completion_percentage),
      el('span', {
        class: 'progress-text',
        text: `${client.completed_count} / ${client.total_count}` +
          ` · ${client.completion_percentage}%`,
      }),
    ]
    : [el('span', { class: 'badge badge-muted client-stage', text: 'no template' })];

  const lastActivity = client.last_activity
    ? el('span', { class: 'last-activity muted' },
      'Last completion ',
      timeElement(client.last_activity))
    : null;

  return el('li', { class: 'client-item', dataset: { clientId: client.id } },
    logo(client.name, client.logo_url),
    el('div', { class: 'client-main' },
      el('a', { class: 'client-name', href: clientHref(client.id), text: client.name }),
      lastActivity),
    el('div', { class: 'client-progress' }, summary));
}
