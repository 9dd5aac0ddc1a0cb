// app.js — owns start-up, sign-in/sign-out and the hash router. Each page
// lives in its own view module (view-dashboard.js, view-client.js,
// view-templates.js) and renders into #view; api.js talks to the server.
//
// Element hooks for browser tests (stable; ids are unique on the page):
//
//   Sign-in and navigation
//     #signin-view, #signin-form   the sign-in card (shown when signed out)
//     #token-input                 API token field
//     #sign-in                     submit button
//     #signin-error.error          why the token was refused (401/403/network)
//     #nav                         nav bar (hidden when signed out)
//     #nav-dashboard, #nav-templates  nav links (aria-current="page" on the active one)
//     #sign-out                    forgets the token, shows the sign-in card
//     #view                        the current page; [data-view="dashboard"|"client"|
//                                  "templates"|"template-editor"] once rendered,
//                                  [data-loaded="true"] when its data has arrived
//
//   Dashboard (#/)
//     #stuck-list                  one li[data-client-id] per stuck client, containing
//                                  .client-name (link), .logo img or .logo .initials,
//                                  .client-stage, .progress-text ("3 / 9"), .days
//     #stuck-empty                 shown when no client is stuck
//     #stuck-error.error
//     #client-list                 one li[data-client-id] per client on this page, with
//                                  .client-name (link), .client-stage, [role=progressbar]
//                                  (aria-valuenow = percentage), .progress-text
//     #clients-prev, #clients-next paging buttons (disabled at either end)
//     #clients-page                "Page N"
//     #clients-error.error
//
//   Client page (#/clients/<id>)
//     #client-name (h1), #client-id, #client-template (assigned template name)
//     #current-stage               current_stage_type (or "—")
//     #completion-percentage       e.g. "17%"
//     #stages                      li.stage[data-stage-id][data-stage-type]
//                                  ([data-current="true"] on the current stage)
//     li.milestone[data-milestone] one per milestone, containing:
//       input[type=checkbox][data-milestone-id]  ticking sends the PATCH; the page then
//                                  reloads and focus returns to the same checkbox
//       .milestone-meta            .completed-at, .completed-by, .completed-source
//       .milestone-notes           the notes text (absent when none)
//       button.notes-edit          opens textarea.notes-input + button.notes-save /
//                                  button.notes-cancel
//       .error                     the API error for this milestone
//     #assign-template             <select> of active templates (value = template id)
//     #assign-button, #assign-error.error, #assign-status
//     #confirm-dialog              <dialog> shown on 409 requires_confirmation,
//                                  with #confirm-title, #confirm-message,
//                                  #confirm-yes (re-sends with force: true), #confirm-no
//                                  (focused first; Escape also answers no)
//     #activity-list               li[data-activity-id][data-kind] newest first
//     #activity-more               "Load more" (hidden on the last page)
//     #activity-error.error, #client-error.error (page-level, e.g. 404)
//
//   Templates (#/templates, #/templates/new, #/templates/<id>)
//     #templates-list              li[data-template-id][data-active="true"|"false"] with
//                                  a[data-action="edit"], button[data-action="toggle-active"],
//                                  .error for that row
//     #new-template, #templates-error.error, #templates-status
//     #template-form               the editor, with #template-id-input (new only),
//                                  #template-name, #template-description, #template-active
//     #template-stages             li.stage-editor, each with its own fields in
//                                  `fieldset > .field-pair`: input[data-field="type"],
//                                  input[data-field="name"]; then button.add-milestone,
//                                  button.remove-stage, .move-up, .move-down and
//                                  li.milestone-editor with input[data-field="name"],
//                                  textarea[data-field="description"],
//                                  select[data-field="auto_complete"], button.remove-milestone
//     #add-stage, #template-save, #template-cancel, #template-error.error
//     .field-error.error           next to a field that failed the in-page checks

import * as api from '/assets/api.js';
import { clear } from '/assets/dom.js';
import { showError, hideError } from '/assets/widgets.js';
import { renderDashboard, resetDashboard } from '/assets/view-dashboard.js';
import { renderClient } from '/assets/view-client.js';
import { renderTemplateList, renderTemplateEditor } from '/assets/view-templates.js';

const $ = (id) => document.getElementById(id);

// One AbortController per page shown: leaving a page cancels its requests so
// a late answer never draws over the next page.
let pageController = null;

function routeFor(hash) {
  const path = hash.replace(/^#/, '') || '/';
  const parts = path.split('/').filter(Boolean).map(decodeSegment);

  if (parts.length === 0) return { view: renderDashboard, nav: 'nav-dashboard' };
  if (parts[0] === 'clients' && parts.length === 2) {
    return { view: renderClient, nav: 'nav-dashboard', id: parts[1] };
  }
  if (parts[0] === 'templates' && parts.length === 1) {
    return { view: renderTemplateList, nav: 'nav-templates' };
  }
  if (parts[0] === 'templates' && parts.length === 2) {
    const id = parts[1] === 'new' ? null : parts[1];
    return { view: renderTemplateEditor, nav: 'nav-templates', id };
  }
  return null;
}

function decodeSegment(segment) {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function showPage() {
  if (pageController) pageController.abort();
  pageController = null;

  if (!api.storedToken()) {
    showSignIn();
    return;
  }

  $('signin-view').hidden = true;
  $('nav').hidden = false;
  const view = $('view');
  clear(view);
  view.removeAttribute('data-view');
  view.removeAttribute('data-loaded');

  const route = routeFor(location.hash);
  if (!route) {
    location.replace('#/');
    return;
  }

  for (const link of document.querySelectorAll('#nav a')) {
    if (link.id === route.nav) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }

  pageController = new AbortController();
  route.view(view, { id: route.id, signal: pageController.signal });
}

function showSignIn(message) {
  const view = $('view');
  clear(view);
  view.removeAttribute('data-view');
  view.removeAttribute('data-loaded');
  $('nav').hidden = true;
  $('signin-view').hidden = false;
  if (message) showError($('signin-error'), message);
  else hideError($('signin-error'));
  $('token-input').focus();
}

async function signIn(event) {
  event.preventDefault();
  const input = $('token-input');
  const button = $('sign-in');
  const errorLine = $('signin-error');
  const token = input.value.trim();
  hideError(errorLine);

  if (!token) {
    showError(errorLine, 'Enter an API token.');
    input.focus();
    return;
  }

  // A cheap read tells whether the token exists and may see clients.
  button.disabled = true;
  try {
    await api.get('/api/clients?limit=1', { token });
  } catch (err) {
    showError(errorLine, signInProblem(err));
    input.setAttribute('aria-invalid', 'true');
    input.focus();
    return;
  } finally {
    button.disabled = false;
  }

  api.storeToken(token);
  input.value = '';
  input.removeAttribute('aria-invalid');
  if (!location.hash || location.hash === '#') location.hash = '#/';
  showPage();
}

function signInProblem(err) {
  if (err.status === 401) {
    return 'This token was not accepted: it is unknown, mistyped or revoked.';
  }
  if (err.status === 403) {
    return 'This token is valid but may not view clients (it needs the clients:view permission).';
  }
  return api.describeError(err);
}

function signOut() {
  history.replaceState(null, '', '#/');
  endSession();
}

/** Forgets the token and everything tied to it, then shows the sign-in card. */
function endSession(message) {
  api.forgetToken();
  resetDashboard();
  if (pageController) pageController.abort();
  pageController = null;
  showSignIn(message);
}

function start() {
  $('signin-form').addEventListener('submit', signIn);
  $('sign-out').addEventListener('click', signOut);
  const tokenInput = $('token-input');
  tokenInput.addEventListener('input', () => tokenInput.removeAttribute('aria-invalid'));

  // The skip link must not change the hash, which is the router's.
  document.querySelector('.skip-link').addEventListener('click', (event) => {
    event.preventDefault();
    $('main').focus();
  });

  api.whenUnauthorized(() => {
    endSession('Your API token is no longer accepted (it may have been revoked). Sign in again.');
  });

  window.addEventListener('hashchange', showPage);
  showPage();
}

start();
