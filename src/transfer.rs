//! Moving all data in and out: export, import (SPEC §7) and backup.
//!
//! The document holds users, templates and clients with their onboarding,
//! facts and history, timestamps included. Import checks the whole
//! document, then writes it in one transaction: all of it lands or none of
//! it does. It auto-completes nothing; it records history as given and then
//! recomputes each client's summary and activity time. A fault is reported
//! with the JSON path of the first one, e.g.
//! `clients[3].onboarding.milestones[0].id: not a milestone of template tpl_std`.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::Path;

use rusqlite::Connection;
use serde::{Deserialize, Serialize};

use crate::db::Db;
use crate::http::parse_json;
use crate::input::{check_id, check_name, check_text};
use crate::onboarding::{FactType, Source};
use crate::store::activity::{Entry, Kind};
use crate::store::facts::{self, Fact};
use crate::store::snapshot::{self, Assignment, ImportedEntry, ProgressRow};
use crate::store::templates::{self, MilestoneInput, StageInput, TemplateInput};
use crate::store::{clients, users};
use crate::timestamp::Timestamp;
use crate::{Error, Result};

/// The version of the document format this build reads and writes.
pub const VERSION: u32 = 1;

#[derive(Debug, Serialize, Deserialize)]
pub struct Document {
    pub version: u32,
    #[serde(default)]
    pub users: Vec<UserDoc>,
    #[serde(default)]
    pub templates: Vec<TemplateDoc>,
    #[serde(default)]
    pub clients: Vec<ClientDoc>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct UserDoc {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct TemplateDoc {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub active: Option<bool>,
    #[serde(default)]
    pub created_at: Option<Timestamp>,
    #[serde(default)]
    pub updated_at: Option<Timestamp>,
    pub stages: Vec<StageDoc>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct StageDoc {
    pub id: String,
    #[serde(rename = "type")]
    pub stage_type: String,
    pub name: String,
    #[serde(default)]
    pub milestones: Vec<MilestoneDoc>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct MilestoneDoc {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub auto_complete: Option<FactType>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ClientDoc {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub logo_url: Option<String>,
    #[serde(default)]
    pub created_at: Option<Timestamp>,
    #[serde(default)]
    pub onboarding: Option<OnboardingDoc>,
    #[serde(default)]
    pub events: Vec<Fact>,
    /// Absent on import: history is written from the assignment and completions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activity: Option<Vec<ActivityDoc>>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct OnboardingDoc {
    pub template_id: String,
    #[serde(default)]
    pub assigned_at: Option<Timestamp>,
    #[serde(default)]
    pub assigned_by: Option<String>,
    #[serde(default)]
    pub milestones: Vec<MilestoneStateDoc>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct MilestoneStateDoc {
    pub id: String,
    #[serde(default)]
    pub completed_at: Option<Timestamp>,
    #[serde(default)]
    pub completed_by: Option<String>,
    #[serde(default)]
    pub source: Option<Source>,
    #[serde(default)]
    pub notes: Option<String>,
}

/// A history entry; on import `id` may be left out.
#[derive(Debug, Serialize, Deserialize)]
pub struct ActivityDoc {
    #[serde(default)]
    pub id: Option<String>,
    pub at: Timestamp,
    pub kind: Kind,
    #[serde(default)]
    pub template_id: Option<String>,
    #[serde(default)]
    pub milestone_id: Option<String>,
    #[serde(default)]
    pub milestone_name: Option<String>,
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub user_name: Option<String>,
    pub source: Source,
    #[serde(default)]
    pub notes: Option<String>,
}

/// What an import wrote.
#[derive(Debug, PartialEq, Eq)]
pub struct ImportSummary {
    pub users: usize,
    pub templates: usize,
    pub clients: usize,
}

impl fmt::Display for ImportSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} users, {} templates, {} clients",
            self.users, self.templates, self.clients
        )
    }
}

/// Writes every user, template and client as one JSON document.
///
/// All of it is read in one read transaction, so the document is one
/// instant's state even while the server goes on writing.
pub fn export(db: &Db) -> Result<String> {
    let document = db.read_now(read_document)?;
    serde_json::to_string_pretty(&document)
        .map_err(|err| Error::Internal(format!("cannot serialise the export: {err}")))
}

fn read_document(conn: &Connection) -> Result<Document> {
    let users = users::list_users(conn)?
        .into_iter()
        .map(|u| UserDoc {
            id: u.id,
            name: u.name,
        })
        .collect();

    let mut template_docs = Vec::new();
    for id in snapshot::all_template_ids(conn)? {
        let t = templates::get(conn, &id)?;
        template_docs.push(TemplateDoc {
            id: t.id,
            name: t.name,
            description: t.description,
            active: Some(t.active),
            created_at: Some(t.created_at),
            updated_at: Some(t.updated_at),
            stages: t
                .stages
                .into_iter()
                .map(|s| StageDoc {
                    id: s.id,
                    stage_type: s.stage_type,
                    name: s.name,
                    milestones: s
                        .milestones
                        .into_iter()
                        .map(|m| MilestoneDoc {
                            id: m.id,
                            name: m.name,
                            description: m.description,
                            auto_complete: m.auto_complete,
                        })
                        .collect(),
                })
                .collect(),
        });
    }

    let mut client_docs = Vec::new();
    for id in snapshot::all_client_ids(conn)? {
        let client = clients::find(conn, &id)?
            .ok_or_else(|| Error::Internal(format!("client {id} vanished during export")))?;
        let onboarding = match snapshot::assignment(conn, &id)? {
            None => None,
            Some(a) => Some(OnboardingDoc {
                template_id: a.template_id,
                assigned_at: a.assigned_at,
                assigned_by: a.assigned_by,
                milestones: snapshot::progress_rows(conn, &id)?
                    .into_iter()
                    .map(|r| MilestoneStateDoc {
                        id: r.milestone_id,
                        completed_at: r.completed_at,
                        completed_by: r.completed_by,
                        source: r.source,
                        notes: r.notes,
                    })
                    .collect(),
            }),
        };
        let activity = snapshot::activity(conn, &id)?
            .into_iter()
            .map(|e| ActivityDoc {
                id: Some(e.id),
                at: e.at,
                kind: e.kind,
                template_id: e.template_id,
                milestone_id: e.milestone_id,
                milestone_name: e.milestone_name,
                user_id: e.user_id,
                user_name: e.user_name,
                source: e.source,
                notes: e.notes,
            })
            .collect();
        client_docs.push(ClientDoc {
            id: client.id,
            name: client.name,
            logo_url: client.logo_url,
            created_at: Some(client.created_at),
            onboarding,
            events: facts::all_for_client(conn, &id)?,
            activity: Some(activity),
        });
    }

    Ok(Document {
        version: VERSION,
        users,
        templates: template_docs,
        clients: client_docs,
    })
}

/// Only the version of a document, read before the rest so that a document
/// of another version is refused for that and not for its shape.
#[derive(Deserialize)]
struct Version {
    version: u32,
}

/// Checks a document and writes it in one transaction.
pub fn import(db: &Db, text: &str) -> Result<ImportSummary> {
    let Version { version } = parse_json(text.as_bytes())?;
    if version != VERSION {
        return Err(Error::invalid("version", format!("must be {VERSION}")));
    }
    let document: Document = parse_json(text.as_bytes())?;
    db.write_now(|tx| write_document(tx, &document, Timestamp::now()))
}

fn write_document(conn: &Connection, doc: &Document, now: Timestamp) -> Result<ImportSummary> {
    let mut user_ids = HashSet::new();
    for (i, user) in doc.users.iter().enumerate() {
        let at = |field: &str| format!("users[{i}].{field}");
        check_id(&at("id"), &user.id)?;
        check_name(&at("name"), &user.name)?;
        if !user_ids.insert(user.id.as_str()) {
            return Err(Error::invalid(
                at("id"),
                format!("{:?} appears twice", user.id),
            ));
        }
        users::put_user(conn, &user.id, &user.name, now)?;
    }

    let mut seen_templates = HashSet::new();
    for (i, t) in doc.templates.iter().enumerate() {
        let prefix = format!("templates[{i}].");
        if !seen_templates.insert(t.id.as_str()) {
            return Err(Error::invalid(
                format!("{prefix}id"),
                format!("{:?} appears twice", t.id),
            ));
        }
        let mut input = template_input(t);
        input.validate(&prefix)?;
        let created_at = t.created_at.unwrap_or(now);
        snapshot::put_template(conn, &input, created_at, t.updated_at.unwrap_or(created_at))?;
    }

    let mut seen_clients = HashSet::new();
    let mut context = ClientContext {
        now,
        reserved_activity_id: largest_activity_id(doc),
        milestone_names: HashMap::new(),
    };
    for (i, client) in doc.clients.iter().enumerate() {
        let prefix = format!("clients[{i}].");
        if !seen_clients.insert(client.id.as_str()) {
            return Err(Error::invalid(
                format!("{prefix}id"),
                format!("{:?} appears twice", client.id),
            ));
        }
        write_client(conn, client, &prefix, &mut context)?;
    }

    Ok(ImportSummary {
        users: doc.users.len(),
        templates: doc.templates.len(),
        clients: doc.clients.len(),
    })
}

fn template_input(t: &TemplateDoc) -> TemplateInput {
    TemplateInput {
        id: Some(t.id.clone()),
        name: t.name.clone(),
        description: t.description.clone(),
        active: Some(t.active.unwrap_or(true)),
        stages: t
            .stages
            .iter()
            .map(|s| StageInput {
                id: Some(s.id.clone()),
                stage_type: s.stage_type.clone(),
                name: s.name.clone(),
                milestones: s
                    .milestones
                    .iter()
                    .map(|m| MilestoneInput {
                        id: Some(m.id.clone()),
                        name: m.name.clone(),
                        description: m.description.clone(),
                        auto_complete: m.auto_complete,
                    })
                    .collect(),
            })
            .collect(),
    }
}

/// What writing one client needs to know about the whole import.
struct ClientContext {
    now: Timestamp,
    /// The largest history id the document gives; generated ids go above it.
    reserved_activity_id: i64,
    /// Milestone names by template, loaded once per template.
    milestone_names: HashMap<String, HashMap<String, String>>,
}

fn largest_activity_id(doc: &Document) -> i64 {
    doc.clients
        .iter()
        .flat_map(|c| c.activity.iter().flatten())
        .filter_map(|e| e.id.as_deref()?.parse::<i64>().ok())
        .max()
        .unwrap_or(0)
}

fn write_client(
    conn: &Connection,
    client: &ClientDoc,
    prefix: &str,
    context: &mut ClientContext,
) -> Result<()> {
    let now = context.now;
    let milestone_names = &mut context.milestone_names;
    let at = |field: &str| format!("{prefix}{field}");
    check_id(&at("id"), &client.id)?;
    check_name(&at("name"), &client.name)?;
    check_text(&at("logo_url"), client.logo_url.as_deref())?;
    snapshot::reset_client(
        conn,
        &client.id,
        &client.name,
        client.logo_url.as_deref(),
        client.created_at.unwrap_or(now),
    )?;

    let mut history = Vec::new();
    if let Some(onboarding) = &client.onboarding {
        let template_id = &onboarding.template_id;
        if !templates::exists(conn, template_id)? {
            return Err(Error::invalid(
                at("onboarding.template_id"),
                format!("no template {template_id:?}"),
            ));
        }
        if !milestone_names.contains_key(template_id) {
            let names = templates::stages(conn, template_id)?
                .into_iter()
                .flat_map(|s| s.milestones)
                .map(|m| (m.id, m.name))
                .collect();
            milestone_names.insert(template_id.clone(), names);
        }
        let names = &milestone_names[template_id];

        let assignment = Assignment {
            template_id: template_id.clone(),
            assigned_at: Some(onboarding.assigned_at.unwrap_or(now)),
            assigned_by: onboarding.assigned_by.clone(),
        };
        let assigner = match &assignment.assigned_by {
            Some(user) => Some(user_named(conn, &at("onboarding.assigned_by"), user)?),
            None => None,
        };
        history.push(imported(
            Kind::Assigned,
            assignment.assigned_at.unwrap_or(now),
            template_id,
            None,
            assigner.as_ref(),
        ));

        let mut rows = Vec::new();
        let mut seen = HashSet::new();
        for (j, m) in onboarding.milestones.iter().enumerate() {
            let at = |field: &str| format!("{prefix}onboarding.milestones[{j}].{field}");
            let Some(name) = names.get(&m.id) else {
                return Err(Error::invalid(
                    at("id"),
                    format!("not a milestone of template {template_id}"),
                ));
            };
            if !seen.insert(m.id.as_str()) {
                return Err(Error::invalid(
                    at("id"),
                    format!("{:?} appears twice", m.id),
                ));
            }
            check_text(&at("notes"), m.notes.as_deref())?;
            let completer = match &m.completed_by {
                Some(user) => Some(user_named(conn, &at("completed_by"), user)?),
                None => None,
            };
            let source = match (m.completed_at, m.source) {
                (None, _) => None,
                (Some(_), None | Some(Source::Manual)) => Some(Source::Manual),
                (Some(_), Some(Source::Auto)) => Some(Source::Auto),
                (Some(_), Some(Source::Import)) => {
                    return Err(Error::invalid(at("source"), "must be manual or auto"));
                }
            };
            if let Some(completed_at) = m.completed_at {
                let mut entry = imported(
                    Kind::Completed,
                    completed_at,
                    template_id,
                    Some((&m.id, name)),
                    completer.as_ref(),
                );
                entry.entry.notes = m.notes.clone();
                history.push(entry);
            }
            rows.push(ProgressRow {
                milestone_id: m.id.clone(),
                completed_at: m.completed_at,
                completed_by: m.completed_at.and(m.completed_by.clone()),
                source,
                notes: m.notes.clone(),
            });
        }
        snapshot::put_assignment(conn, &client.id, &assignment, &rows)?;
    }

    for (j, fact) in client.events.iter().enumerate() {
        if fact
            .reference
            .as_ref()
            .is_some_and(|r| r.is_empty() || r.chars().count() > 200)
        {
            return Err(Error::invalid(
                at(&format!("events[{j}].reference")),
                "must be 1 to 200 characters",
            ));
        }
        facts::insert(conn, &client.id, fact, now)?;
    }

    let history = match &client.activity {
        None => {
            history.sort_by_key(|e| e.entry.at);
            history
        }
        Some(entries) => entries
            .iter()
            .enumerate()
            .map(|(j, e)| activity_entry(e, &format!("{prefix}activity[{j}]")))
            .collect::<Result<_>>()?,
    };
    snapshot::put_activity(conn, &client.id, &history, context.reserved_activity_id).map_err(
        |err| match err {
            Error::Invalid { field, message } => {
                Error::invalid(format!("{prefix}{field}"), message)
            }
            other => other,
        },
    )?;

    clients::refresh_summary(conn, &client.id)?;
    snapshot::settle_activity_time(conn, &client.id)
}

/// The user `user_id` as `(id, name)`; an error at `field` when there is none.
fn user_named(conn: &Connection, field: &str, user_id: &str) -> Result<(String, String)> {
    let user = users::find_user(conn, user_id)?.ok_or_else(|| {
        Error::invalid(
            field,
            format!("no user {user_id:?} in the document or the database"),
        )
    })?;
    Ok((user.id, user.name))
}

/// A history entry written for a migration that brings none; `user` is
/// `(id, name)`, the name as the document or the database has it now.
fn imported(
    kind: Kind,
    at: Timestamp,
    template_id: &str,
    milestone: Option<(&str, &str)>,
    user: Option<&(String, String)>,
) -> ImportedEntry {
    ImportedEntry {
        id: None,
        entry: Entry {
            id: String::new(),
            at,
            kind,
            template_id: Some(template_id.to_owned()),
            milestone_id: milestone.map(|(id, _)| id.to_owned()),
            milestone_name: milestone.map(|(_, name)| name.to_owned()),
            user_id: user.map(|(id, _)| id.clone()),
            user_name: user.map(|(_, name)| name.clone()),
            source: Source::Import,
            notes: None,
        },
    }
}

fn activity_entry(doc: &ActivityDoc, path: &str) -> Result<ImportedEntry> {
    let id = match &doc.id {
        None => None,
        Some(text) => Some(text.parse::<i64>().ok().filter(|n| *n > 0).ok_or_else(|| {
            Error::invalid(format!("{path}.id"), "must be a positive whole number")
        })?),
    };
    check_text(&format!("{path}.notes"), doc.notes.as_deref())?;
    Ok(ImportedEntry {
        id,
        entry: Entry {
            id: String::new(),
            at: doc.at,
            kind: doc.kind,
            template_id: doc.template_id.clone(),
            milestone_id: doc.milestone_id.clone(),
            milestone_name: doc.milestone_name.clone(),
            user_id: doc.user_id.clone(),
            user_name: doc.user_name.clone(),
            source: doc.source,
            notes: doc.notes.clone(),
        },
    })
}

/// Writes a consistent copy of the live database to `dest`.
///
/// SQLite's online backup copies every page in one step under a read
/// transaction, so the copy is one instant's state while writers go on.
/// The copy is written beside `dest`, checked with `PRAGMA integrity_check`,
/// then renamed into place, so `dest` is never a half-written file.
pub fn backup(db: &Db, dest: &Path) -> Result<()> {
    let partial = dest.with_extension("partial");
    let _ = std::fs::remove_file(&partial);
    let io =
        |err: std::io::Error| Error::BadRequest(format!("cannot write {}: {err}", dest.display()));

    {
        let source = db.connection()?;
        let mut copy = Connection::open(&partial)?;
        let backup = rusqlite::backup::Backup::new(&source, &mut copy)?;
        backup.step(-1)?;
    }
    let copy = Connection::open(&partial)?;
    let verdict: String = copy.query_row("PRAGMA integrity_check", [], |row| row.get(0))?;
    drop(copy);
    if verdict != "ok" {
        let _ = std::fs::remove_file(&partial);
        return Err(Error::Internal(format!(
            "the copy failed its integrity check: {verdict}"
        )));
    }
    std::fs::rename(&partial, dest).map_err(io)?;
    Ok(())
}
